"""The one record of the operator's own writes, kept until the watch streams catch up with them.

Every write the operator makes (an apply, a status or finalizer patch, a release, a delete)
goes through :meth:`OwnWrites.write` (or :meth:`OwnWrites.deleted`), for two reasons:

- Reads. The stores follow the watch streams, which lag the writes by a moment. A reconcile
  that runs in that moment (an event queued it again) would see the old state and write
  again; the answers are preferred over older watched state (:meth:`newest`, :meth:`children`)
  and dropped as soon as the watch has the same or a newer version, so the record stays as
  small as the number of writes in flight.
- Echoes. A change whose version one of the operator's writes produced only echoes that
  write: :meth:`route` marks it (``Change.echo``) and the wake rules decide what an echo wakes.
  A change that arrives while a write of the same object is in flight (the watch often
  overtakes the HTTP answer) cannot be told from the echo yet: it is held until the answer,
  then delivered, marked. A deletion is never an echo.
"""

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Any

from greenshift.runtime.packing import compact
from greenshift.runtime.store import Change, version_of

Body = Mapping[str, Any]
Identity = tuple[str, str, str, str]
"""apiVersion, kind, namespace ("" when cluster-scoped), name"""
Deliver = Callable[[Change], None]
Record = Callable[[Body], None]


def identity_of(body: Body) -> Identity:
    meta = body.get("metadata") or {}
    return (
        str(body.get("apiVersion")),
        str(body.get("kind")),
        str(meta.get("namespace") or ""),
        str(meta["name"]),
    )


class OwnWrites:
    """``owner_of`` names the owner of a child (None for an object that is no child): what
    :meth:`children` groups by."""

    def __init__(self, owner_of: Callable[[Body], Hashable | None]) -> None:
        self._owner_of = owner_of
        self._answers: dict[Identity, Body] = {}
        self._versions: dict[Identity, set[int]] = {}  # produced by the operator, not yet watched
        self._deleted: dict[Identity, tuple[int, Hashable | None]] = {}  # by the operator: version, owner
        self._children: dict[Hashable, set[Identity]] = {}  # answers and deletions by owner
        self._held: dict[Identity, list[tuple[Change, Deliver]]] = {}  # changes of objects in flight

    def __len__(self) -> int:
        return len(self._answers) + len(self._deleted)

    async def write(self, body: Body, request: Awaitable[Body]) -> Body:
        """Send ``request`` (a write of ``body``'s object) and remember the answer."""
        async with self.writing(body) as record:
            answer = await request
            record(answer)
            return answer

    @contextlib.asynccontextmanager
    async def writing(self, body: Body) -> AsyncIterator[Record]:
        """Writes of ``body``'s object (an apply, then a patch): pass each answer to the function
        this yields. The changes the watch delivers meanwhile are held until the block ends."""
        key = identity_of(body)
        produced: set[int] = set()

        def record(answer: Body) -> None:
            if answer.get("metadata"):
                self._remember(key, answer)
                produced.add(version_of(answer))

        self._held.setdefault(key, [])
        try:
            yield record
        finally:
            for change, deliver in self._held.pop(key, []):
                deliver(self._mark(key, change, produced))

    def deleted(self, body: Body) -> None:
        """The operator deleted this object (as it last knew it): until the watch reports the
        deletion, it is not one of its owner's children."""
        key = identity_of(body)
        owner = self._owner_of(body)
        self._deleted[key] = (version_of(body), owner)
        self._answers.pop(key, None)
        if owner is not None:
            self._children.setdefault(owner, set()).add(key)

    def route(self, change: Change, deliver: Deliver) -> None:
        """Deliver a watched change, marked as the echo of an own write or not; hold it while a
        write of its object is in flight."""
        key = identity_of(change.body)
        held = self._held.get(key)
        if held is not None:
            held.append((change, deliver))
            return
        deliver(self._mark(key, change, set()))

    def _mark(self, key: Identity, change: Change, produced: set[int]) -> Change:
        """Whether the change echoes an own write; what it reports supersedes older memory of the object."""
        if change.new is None:
            self._forget(key)
            return change
        version = version_of(change.new)
        mine = self._versions.get(key, set())
        echo = version in produced or version in mine
        if mine:
            mine -= {v for v in mine if v <= version}
            if not mine:
                del self._versions[key]
        answer = self._answers.get(key)
        if answer is not None and version >= version_of(answer):
            self._drop_answer(key)
        return dataclasses.replace(change, echo=echo) if echo else change

    def newest(self, watched: Body | None, key: Identity) -> Body | None:
        """The watched object, or the operator's own newer write of it."""
        mine = self._answers.get(key)
        if mine is None or (watched is not None and version_of(watched) >= version_of(mine)):
            return watched
        return mine

    def wrote(self, owner: Hashable, key: Identity) -> bool:
        """Whether the operator wrote this child of ``owner`` and the watch has not reported it yet."""
        return key in self._answers and key in self._children.get(owner, ())

    def children(self, owner: Hashable, watched: Iterable[Body]) -> list[Body]:
        """The children of ``owner`` as watched, corrected by the operator's own writes and deletions."""
        result: dict[Identity, Body] = {}
        for body in watched:
            key = identity_of(body)
            gone = self._deleted.get(key)
            if gone is not None and version_of(body) <= gone[0]:
                continue
            result[key] = self.newest(body, key) or body
        for key in self._children.get(owner, ()):
            if key in self._answers:
                result.setdefault(key, self._answers[key])
        return list(result.values())

    def _remember(self, key: Identity, answer: Body) -> None:
        self._answers[key] = compact(answer)
        self._versions.setdefault(key, set()).add(version_of(answer))
        self._deleted.pop(key, None)
        owner = self._owner_of(answer)
        if owner is not None:
            self._children.setdefault(owner, set()).add(key)

    def _drop_answer(self, key: Identity) -> None:
        answer = self._answers.pop(key)
        owner = self._owner_of(answer)
        if owner is not None and key not in self._deleted:
            self._unlink(owner, key)

    def _forget(self, key: Identity) -> None:
        """The watch reported the object's deletion: nothing of it is newer than the store."""
        answer = self._answers.pop(key, None)
        self._versions.pop(key, None)
        deleted = self._deleted.pop(key, None)
        for owner in {
            self._owner_of(answer) if answer is not None else None,
            deleted[1] if deleted else None,
        }:
            if owner is not None:
                self._unlink(owner, key)

    def _unlink(self, owner: Hashable, key: Identity) -> None:
        siblings = self._children.get(owner)
        if siblings is not None:
            siblings.discard(key)
            if not siblings:
                del self._children[owner]
