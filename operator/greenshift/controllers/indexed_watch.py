"""An informer of every object of one kind (no label selector), indexed by namespace and name.

For the kinds the operator must see whole, not only its own children: Services (a route may
point at any Service of its namespace) and Namespaces (a tenant never adopts one that exists
and is not its own). The operator's own objects of that kind go to the child cache through
the same stream, so they are not watched twice.
"""

from collections.abc import Callable, Sequence
from typing import Any

from greenshift.controllers.child_cache import ChildCache
from greenshift.controllers.informer import Informer, Stream
from greenshift.controllers.keys import owner_of
from greenshift.controllers.recent import ChildKey, object_key_of
from greenshift.kube import KubeClient, ResourceRef, ref_of_kind

SERVICES = ref_of_kind("v1", "Service")
NAMESPACES = ref_of_kind("v1", "Namespace")
Body = dict[str, Any]
Key = tuple[str, str]  # namespace ("" for a cluster-scoped object), name
Facts = Callable[[Body], dict[Key, Any]]
OnEvent = Callable[[Body, str], None]
OnGap = Callable[[set[Key]], None]


class IndexedWatcher(Informer):
    def __init__(
        self,
        client: KubeClient,
        ref: ResourceRef,
        namespaces: Sequence[str | None],
        facts: Facts,
        cache: ChildCache,
        on_event: OnEvent,
        on_gap: OnGap,
        *,
        timeout_seconds: float,
    ) -> None:
        super().__init__(client, [(ref, ns) for ns in namespaces], timeout_seconds=timeout_seconds)
        self.ref = ref
        self.index: dict[Key, list[Any]] = {}
        """Like a kopf index: each object's facts (``facts``), as a one-item list."""
        self._facts = facts
        self._cache = cache
        self._on_event = on_event
        self._on_gap = on_gap
        self._listed: dict[Stream, set[Key]] = {}
        self._owned: dict[Stream, set[ChildKey]] = {}

    def listing(self, stream: Stream, *, gap: bool) -> None:
        self._listed[stream] = set()
        self._owned[stream] = set()

    def page(self, stream: Stream, items: list[Body]) -> None:
        for item in items:
            self._index(item)
            self._listed[stream].add(_key(item))
            if owner_of(item) is not None:
                self._cache.upsert(item)
                self._owned[stream].add(object_key_of(item))

    def listed(self, stream: Stream, version: str, *, gap: bool) -> None:
        namespace = stream[1]
        listed = self._listed.pop(stream)
        for key in [k for k in self.index if namespace in (None, k[0]) and k not in listed]:
            del self.index[key]
        owned = self._owned.pop(stream)
        self._cache.keep_only(self.ref.api_version, self.ref.kind, owned, namespace=namespace)
        if gap:
            self._on_gap(listed)

    def event(self, stream: Stream, body: Body, kind: str) -> None:
        if kind == "DELETED":
            self.index.pop(_key(body), None)
        else:
            self._index(body)
        self._on_event(body, kind)

    def _index(self, body: Body) -> None:
        self.index.update((key, [value]) for key, value in self._facts(body).items())


def _key(body: Body) -> Key:
    meta = body["metadata"]
    return (str(meta.get("namespace") or ""), str(meta["name"]))
