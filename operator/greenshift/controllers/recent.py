"""The operator's own recent writes, until the watch streams catch up with them.

The indexes follow the watch streams, which lag the operator's writes by a moment. A
reconcile that runs in that moment (a child's event queued its owner again) would see the
old state and write again. The responses of the operator's writes are kept here and
preferred over an index entry that is older, and dropped as soon as the index has the
same or a newer version, so this stays as small as the number of writes in flight.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from greenshift.controllers.keys import ObjectKey, owner_of
from greenshift.runtime.packing import compact

Body = Mapping[str, Any]
ChildKey = tuple[str, str, str, str]


def object_key_of(body: Body) -> ChildKey:
    meta = body.get("metadata", {})
    return (
        str(body.get("apiVersion")),
        str(body.get("kind")),
        str(meta.get("namespace") or ""),
        str(meta["name"]),
    )


def version_of(body: Body | None) -> int:
    """The resourceVersion as a number, to tell newer from older (-1 when unknown)."""
    raw = (body or {}).get("metadata", {}).get("resourceVersion")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else -1


class RecentWrites:
    def __init__(self) -> None:
        self._bodies: dict[ChildKey, Body] = {}
        self._deleted: dict[ObjectKey, dict[ChildKey, int]] = {}
        self._children: dict[ObjectKey, dict[ChildKey, Body]] = {}
        # Children being written, by whom, with the versions their watch events reported
        # meanwhile: an event that overtakes the answer to the write cannot be told from an echo yet.
        self._in_flight: dict[ChildKey, tuple[ObjectKey, list[int]]] = {}
        self.on_foreign: Callable[[ObjectKey], None] = lambda owner: None
        """Called with the owner when an event held during a write was not that write's echo."""

    def __len__(self) -> int:
        return (
            len(self._bodies) + sum(map(len, self._children.values())) + sum(map(len, self._deleted.values()))
        )

    def wrote(self, body: Body) -> None:
        """Remember the server's answer to a write of a custom resource or a child."""
        key = object_key_of(body)
        owner = owner_of(body)
        if owner is None:
            self._bodies[key] = compact(body)
        else:
            self._children.setdefault(owner, {})[key] = compact(body)
            self._deleted.get(owner, {}).pop(key, None)

    def is_echo(self, body: Body) -> bool:
        """Whether a watch event only reports the operator's own write (same object, same version)."""
        owner = owner_of(body)
        key = object_key_of(body)
        mine = self._children.get(owner, {}).get(key) if owner is not None else self._bodies.get(key)
        return mine is not None and version_of(mine) == version_of(body) >= 0

    def writing(self, owner: ObjectKey, key: ChildKey) -> None:
        """``owner`` writes this child: its events wait for the answer (``written``)."""
        self._in_flight[key] = (owner, [])

    def hold(self, body: Body, *, deleted: bool) -> bool:
        """Whether this event of a child waits for the answer to its owner's write in flight
        (then it wakes nothing now); a deletion is never the echo of a write."""
        writing = self._in_flight.get(object_key_of(body))
        if writing is None or writing[0] != owner_of(body):
            return False
        writing[1].append(-2 if deleted else version_of(body))
        return True

    def written(self, key: ChildKey, versions: set[int]) -> None:
        """The write of this child is answered (``versions``: those it produced, none if it failed):
        an event held meanwhile that reported another version wakes the owner."""
        owner, held = self._in_flight.pop(key)
        if any(version not in versions for version in held):
            self.on_foreign(owner)

    def observed(self, body: Body, *, deleted: bool) -> None:
        """A watch event of a child: what it reports supersedes the operator's older memory of it."""
        owner = owner_of(body)
        if owner is None:
            return
        key = object_key_of(body)
        mine = self._children.get(owner, {})
        if key in mine and (deleted or version_of(body) >= version_of(mine[key])):
            del mine[key]
        if deleted:
            self._deleted.get(owner, {}).pop(key, None)

    def forget(self, body: Body) -> None:
        """The object is gone (its DELETED event arrived): nothing of it is newer than the index."""
        self._bodies.pop(object_key_of(body), None)

    def deleted(self, owner: ObjectKey, body: Body) -> None:
        """Remember that a child was deleted, so that its stale index entry is not seen as live."""
        key = object_key_of(body)
        self._deleted.setdefault(owner, {})[key] = version_of(body)
        self._children.get(owner, {}).pop(key, None)

    def wrote_child(self, owner: ObjectKey, key: ChildKey) -> bool:
        """Whether the operator wrote this child of ``owner`` and its watch event is still to come."""
        return key in self._children.get(owner, {})

    def newest(self, indexed: Body | None, key: ChildKey) -> Body | None:
        """The index's body, or the operator's own newer write of it."""
        mine = self._bodies.get(key)
        if mine is None:
            return indexed
        if indexed is not None and version_of(indexed) >= version_of(mine):
            del self._bodies[key]
            return indexed
        return mine

    def children(self, owner: ObjectKey, indexed: Iterable[Body]) -> list[Body]:
        """The children of ``owner`` as the index has them, corrected by the operator's own writes."""
        listed = list(indexed)
        mine = self._children.get(owner, {})
        gone = self._deleted.get(owner, {})
        result: dict[ChildKey, Body] = {}
        for body in listed:
            key = object_key_of(body)
            if key in gone:
                if version_of(body) > gone[key]:
                    del gone[key]  # re-created by someone else since
                else:
                    continue
            own = mine.get(key)
            if own is not None and version_of(body) >= version_of(own):
                del mine[key]
                own = None
            result[key] = own if own is not None else body
        for key, body in list(mine.items()):
            result.setdefault(key, body)
        seen = {object_key_of(b) for b in listed} if gone else set()
        for key in [k for k in gone if k not in seen]:
            del gone[key]  # the index has caught up with the deletion
        if not mine:
            self._children.pop(owner, None)
        if not gone:
            self._deleted.pop(owner, None)
        return list(result.values())
