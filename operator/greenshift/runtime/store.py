"""The objects of one kind as its watch last reported them, with tombstones and secondary indexes.

client-go's ``cache.Indexer`` in miniature: objects by (namespace, name), each with its
resourceVersion, and indexes from a value an index function computes to the keys of the
objects that have it. Objects are kept as compact JSON (``packing``): a parsed object costs
several times its JSON size, and at a thousand tenants the operator holds about 25 000.

The store decides which news is news. An object older than the one stored is ignored; so is
one no newer than its deletion (a tombstone), so that a LIST page that still holds an object
whose DELETED event came first does not bring it back. A LIST ends with :meth:`replace`: what
the LIST did not hold (and no newer event brought) is deleted. Every accepted change is
returned as a :class:`Change` carrying the old and the new object, for the event handlers.
"""

import functools
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from greenshift.runtime.packing import compact, pack, unpack

Body = Mapping[str, Any]
Key = tuple[str, str]
"""namespace ("" for a cluster-scoped object), name"""
IndexFunction = Callable[[Body], Iterable[Hashable]]


def key_of(body: Body) -> Key:
    meta = body.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def version_of(body: Body | None) -> int:
    """The resourceVersion as a number, to tell newer from older (-1 when unknown)."""
    raw = ((body or {}).get("metadata") or {}).get("resourceVersion")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else -1


@dataclass(frozen=True)
class Change:
    """One accepted change: ``new`` is None for a deletion; ``old`` is decoded only when read, and
    once, however many wake rules read it. ``echo``: the change only reports the operator's own
    write (``own_writes``)."""

    new: Body | None
    packed_old: bytes | None
    echo: bool = False

    @functools.cached_property
    def old(self) -> Body | None:
        return unpack(self.packed_old) if self.packed_old is not None else None

    @property
    def body(self) -> Body:
        """The object as it is now, or as it was last when deleted."""
        found = self.new if self.new is not None else self.old
        assert found is not None
        return found


class Store:
    def __init__(
        self,
        indexes: Mapping[str, IndexFunction] | None = None,
        *,
        compress: bool = True,
        keep: Callable[[Body], bool] | None = None,
    ) -> None:
        """``keep``: a filter, like a watch's selector but computed here: an object it refuses is
        not held (and is dropped, as deleted, if it was)."""
        self._functions = dict(indexes or {})
        self._keep = keep
        self._compress = compress
        self._objects: dict[Key, tuple[int, bytes]] = {}
        self._tombstones: dict[Key, int] = {}
        self._indexed: dict[Key, dict[str, tuple[Hashable, ...]]] = {}
        self._indexes: dict[str, dict[Hashable, set[Key]]] = {name: {} for name in self._functions}

    def __len__(self) -> int:
        return len(self._objects)

    def __iter__(self) -> Iterator[Key]:
        return iter(list(self._objects))

    def get(self, key: Key) -> Body | None:
        found = self._objects.get(key)
        return unpack(found[1]) if found is not None else None

    def values(self) -> Iterator[Body]:
        for _, packed in list(self._objects.values()):
            yield unpack(packed)

    def index(self, name: str, value: Hashable) -> frozenset[Key]:
        """The keys of the objects whose index function ``name`` gave ``value``."""
        return frozenset(self._indexes[name].get(value, ()))

    def index_values(self, name: str) -> list[Hashable]:
        """Every value index ``name`` holds now."""
        return list(self._indexes[name])

    def upsert(self, body: Body) -> Change | None:
        """An ADDED or MODIFIED object (or a LIST item); None when it is not newer than what is known."""
        key = key_of(body)
        version = version_of(body)
        found = self._objects.get(key)
        if version >= 0:
            if found is not None and version <= found[0]:
                return None
            if version <= self._tombstones.get(key, -1):
                return None
        self._tombstones.pop(key, None)
        if self._keep is not None and not self._keep(body):
            return self._drop(key) if found is not None else None
        packed = pack(compact(body), compress=self._compress)
        self._objects[key] = (version, packed)
        self._reindex(key, body)
        return Change(body, found[1] if found is not None else None)

    def delete(self, body: Body) -> Change | None:
        """A DELETED event; None when the object is not stored or is newer than this deletion."""
        key = key_of(body)
        version = version_of(body)
        found = self._objects.get(key)
        if version >= 0:
            self._tombstones[key] = max(version, self._tombstones.get(key, -1))
        if found is None or 0 <= version < found[0]:
            return None
        return self._drop(key)

    def replace(self, namespace: str | None, listed: set[Key], list_version: int) -> list[Change]:
        """A LIST of ``namespace`` (None: all) at ``list_version`` ended and held ``listed``: the
        objects it did not hold are deleted, unless an event newer than the LIST brought them;
        tombstones the LIST has superseded go."""
        gone = [
            key
            for key, (version, _) in self._objects.items()
            if namespace in (None, key[0])
            and key not in listed
            and (list_version < 0 or version <= list_version)
        ]
        for key, version in list(self._tombstones.items()):
            if namespace in (None, key[0]) and 0 <= version <= list_version:
                del self._tombstones[key]
        return [self._drop(key) for key in gone]

    def _drop(self, key: Key) -> Change:
        _, packed = self._objects.pop(key)
        self._reindex(key, None)
        return Change(None, packed)

    def _reindex(self, key: Key, body: Body | None) -> None:
        before = self._indexed.pop(key, {})
        after = {name: tuple(function(body)) for name, function in self._functions.items()} if body else {}
        for name, values in before.items():
            if after.get(name) == values:
                continue
            index = self._indexes[name]
            for value in values:
                holders = index.get(value)
                if holders is not None:
                    holders.discard(key)
                    if not holders:
                        del index[value]
        for name, values in after.items():
            if before.get(name) == values:
                continue
            index = self._indexes[name]
            for value in values:
                index.setdefault(value, set()).add(key)
        if any(after.values()):
            self._indexed[key] = {name: values for name, values in after.items() if values}
