"""The operator's children, by owner: seeded by one LIST per child kind, kept current by the watches.

Children are by far the most numerous objects the operator watches (about six per custom
resource). They are cached here, seeded at start-up and re-listed at every resync (which also
heals an event that was missed), while the fact index and the Services' index keep what the
cross-resource checks read.
"""

from collections.abc import Mapping
from typing import Any, NamedTuple

from greenshift.controllers.keys import ObjectKey, owner_of
from greenshift.controllers.recent import ChildKey, object_key_of, version_of
from greenshift.runtime.packing import compact, pack, unpack

Body = Mapping[str, Any]


class _Entry(NamedTuple):
    version: int
    packed: bytes


class ChildCache:
    """Children kept as compact JSON, decoded when a reconcile reads them.

    A parsed object costs several times its JSON size in Python; children are many and read
    only by their owner's reconcile, so keeping them packed is what keeps the operator's
    memory within bounds at a thousand tenants.
    """

    def __init__(self) -> None:
        self._by_owner: dict[ObjectKey, dict[ChildKey, _Entry]] = {}
        self._owners: dict[ChildKey, ObjectKey] = {}

    def __len__(self) -> int:
        return len(self._owners)

    def all(self) -> list[Body]:
        return [unpack(entry.packed) for siblings in self._by_owner.values() for entry in siblings.values()]

    def children(self, owner: ObjectKey) -> list[Body]:
        return [unpack(entry.packed) for entry in self._by_owner.get(owner, {}).values()]

    def get(self, owner: ObjectKey, key: ChildKey) -> Body | None:
        """One child of ``owner`` (only it is unpacked), None if not cached."""
        entry = self._by_owner.get(owner, {}).get(key)
        return unpack(entry.packed) if entry is not None else None

    def has(self, owner: ObjectKey, key: ChildKey) -> bool:
        """Whether ``owner`` has this child (nothing is unpacked)."""
        return key in self._by_owner.get(owner, {})

    def upsert(self, body: Body) -> None:
        """A watched child's new state; an older version than the cached one is ignored."""
        key = object_key_of(body)
        owner = owner_of(body)
        cached_owner = self._owners.get(key)
        version = version_of(body)
        if cached_owner is not None:
            if self._by_owner[cached_owner][key].version > version:
                return
            if cached_owner != owner:
                self._drop(key)
        if owner is not None:
            self._by_owner.setdefault(owner, {})[key] = _Entry(version, pack(compact(body)))
            self._owners[key] = owner

    def remove(self, body: Body) -> None:
        self._drop(object_key_of(body))

    def owners_of_kind(self, api_version: str, kind: str) -> set[ObjectKey]:
        """The owners of the cached children of one kind (nothing is unpacked)."""
        return {owner for key, owner in self._owners.items() if key[0] == api_version and key[1] == kind}

    def keep_only(
        self, api_version: str, kind: str, listed: set[ChildKey], *, namespace: str | None = None
    ) -> None:
        """Drop the cached children of this kind (in ``namespace``, or in all) that a fresh
        listing no longer has."""
        for key in [
            k
            for k in self._owners
            if k[0] == api_version and k[1] == kind and namespace in (None, k[2]) and k not in listed
        ]:
            self._drop(key)

    def _drop(self, key: ChildKey) -> None:
        owner = self._owners.pop(key, None)
        if owner is not None:
            siblings = self._by_owner[owner]
            siblings.pop(key, None)
            if not siblings:
                del self._by_owner[owner]
