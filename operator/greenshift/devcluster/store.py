"""In-memory object storage with one global resourceVersion counter and a bounded watch-event log.

Stored objects are never mutated in place: every write stores a new dict, so events and responses can
share them safely.
"""

import asyncio
import bisect
import collections
import copy
import dataclasses
import json
from typing import Any

import orjson

Obj = dict[str, Any]
ResourceKey = tuple[str, str]  # (group, plural)
ObjectKey = tuple[str, str, str, str]  # (group, plural, namespace or "", name)


def clone(value: Any) -> Any:
    """A deep copy of a JSON value: a round trip through orjson, several times faster than
    ``copy.deepcopy`` for the objects the server stores (``deepcopy`` was a third of its CPU)."""
    try:
        return orjson.loads(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    except TypeError:  # not JSON (an integer beyond 64 bits, a YAML timestamp): copy it as it is
        return copy.deepcopy(value)


def encode(value: Any) -> bytes:
    """JSON for a response or a watch event."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value, default=str).encode()


def in_version(obj: Obj, api_version: str) -> Obj:
    """An object served in another version of its kind (custom resources convert with strategy None)."""
    return obj if obj.get("apiVersion") == api_version else {**obj, "apiVersion": api_version}


@dataclasses.dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: ResourceKey
    obj: Obj
    old: Obj | None  # the previous state, to tell selector-filtered watchers when an object leaves their view
    encoded: dict[str, bytes] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def object_json(self, api_version: str) -> bytes:
        """The object as JSON in ``api_version``, encoded once for every watcher (as the real
        server's watch cache serializes an event once, not once per watcher)."""
        found = self.encoded.get(api_version)
        if found is None:
            found = self.encoded[api_version] = encode(in_version(self.obj, api_version))
        return found


class Store:
    def __init__(self, history: int = 10_000) -> None:
        self._objects: dict[ResourceKey, dict[tuple[str, str], Obj]] = collections.defaultdict(dict)
        self._uids: dict[str, ObjectKey] = {}
        self._dependents: dict[str, set[ObjectKey]] = collections.defaultdict(set)  # owner uid -> dependents
        self._rv = 0
        self._history = history
        # One event log per resource, as the real server keeps a watch cache per resource: a
        # write wakes only the watchers of its resource (a controller watches a dozen kinds).
        self._logs: dict[ResourceKey, list[Event]] = collections.defaultdict(list)
        self._compacted: dict[ResourceKey, int] = {}  # events up to this version left the log
        self._changed: dict[ResourceKey, asyncio.Event] = {}
        self.closed = False

    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, key: ObjectKey) -> Obj | None:
        return self._objects[key[0], key[1]].get((key[2], key[3]))

    def items(self, resource: ResourceKey, namespace: str | None = None) -> list[Obj]:
        """Objects of a resource, optionally of one namespace, sorted by namespace and name like etcd keys."""
        objects = self._objects[resource]
        return [objects[k] for k in sorted(objects) if namespace is None or k[0] == namespace]

    def in_namespace(self, namespace: str) -> list[ObjectKey]:
        return [
            (group, plural, ns, name)
            for (group, plural), objects in self._objects.items()
            for ns, name in objects
            if ns == namespace
        ]

    def key_of_uid(self, uid: str) -> ObjectKey | None:
        return self._uids.get(uid)

    def dependents(self, uid: str) -> list[ObjectKey]:
        return sorted(self._dependents.get(uid, ()))

    def put(self, key: ObjectKey, obj: Obj) -> Obj:
        """Store a new state of an object under the next resourceVersion and log ADDED or MODIFIED."""
        old = self.get(key)
        self._rv += 1
        stored = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self._rv)}}
        self._objects[key[0], key[1]][key[2], key[3]] = stored
        self._index(key, old, stored)
        self._record(
            Event(self._rv, "MODIFIED" if old is not None else "ADDED", (key[0], key[1]), stored, old)
        )
        return stored

    def remove(self, key: ObjectKey) -> Obj:
        """Remove an object and log DELETED with the final state under a new resourceVersion."""
        old = self._objects[key[0], key[1]].pop((key[2], key[3]))
        self._rv += 1
        final = {**old, "metadata": {**old["metadata"], "resourceVersion": str(self._rv)}}
        self._index(key, old, None)
        self._record(Event(self._rv, "DELETED", (key[0], key[1]), final, old))
        return final

    def _index(self, key: ObjectKey, old: Obj | None, new: Obj | None) -> None:
        for obj, add in ((old, False), (new, True)):
            if obj is None:
                continue
            meta = obj["metadata"]
            if add:
                self._uids[meta["uid"]] = key
            else:
                self._uids.pop(meta["uid"], None)
            for ref in meta.get("ownerReferences") or []:
                uid = ref.get("uid")
                if add:
                    self._dependents[uid].add(key)
                elif uid in self._dependents:
                    self._dependents[uid].discard(key)
                    if not self._dependents[uid]:
                        del self._dependents[uid]

    def _record(self, event: Event) -> None:
        log = self._logs[event.resource]
        log.append(event)
        if len(log) > 2 * self._history:
            cut = len(log) - self._history
            self._compacted[event.resource] = log[cut - 1].rv
            del log[:cut]
        changed = self._changed.pop(event.resource, None)
        if changed is not None:
            changed.set()

    def events_after(self, resource: ResourceKey, rv: int) -> list[Event]:
        """A resource's events after a resourceVersion; raises LookupError when they were
        compacted away (410 Gone)."""
        compacted = self._compacted.get(resource, 0)
        if rv < compacted:
            raise LookupError(f"too old resource version: {rv} ({compacted})")
        log = self._logs.get(resource, [])
        return log[bisect.bisect_right(log, rv, key=lambda event: event.rv) :]

    async def wait(self, resource: ResourceKey, seconds: float | None) -> bool:
        """Wait for the next write of a resource (or closing) for at most some seconds; False if
        none came."""
        changed = self._changed.get(resource)
        if changed is None:
            changed = self._changed[resource] = asyncio.Event()
        try:
            await asyncio.wait_for(changed.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        """Wake every watcher so that its stream ends (on server shutdown)."""
        self.closed = True
        for changed in self._changed.values():
            changed.set()
        self._changed.clear()
