"""The Services' informer: each Service's type and ports (the routes' backend checks).

Routes may point at any Service of their namespace, so all Services are watched (in the
operator's namespaces), not only the operator's own; its own also go to the child cache
through the same stream, so they are not watched twice.
"""

from collections.abc import Callable, Sequence
from typing import Any

from greenshift.controllers import indexes
from greenshift.controllers.child_cache import ChildCache
from greenshift.controllers.informer import Informer, Stream
from greenshift.controllers.keys import owner_of
from greenshift.controllers.recent import ChildKey, object_key_of
from greenshift.kube import KubeClient, ref_of_kind

SERVICES = ref_of_kind("v1", "Service")
Body = dict[str, Any]
ServiceKey = tuple[str, str]  # namespace, name
OnEvent = Callable[[Body, str], None]
OnGap = Callable[[set[ServiceKey]], None]


class ServiceWatcher(Informer):
    def __init__(
        self,
        client: KubeClient,
        namespaces: Sequence[str | None],
        cache: ChildCache,
        on_event: OnEvent,
        on_gap: OnGap,
        *,
        timeout_seconds: float,
    ) -> None:
        super().__init__(client, [(SERVICES, ns) for ns in namespaces], timeout_seconds=timeout_seconds)
        self.index: dict[ServiceKey, list[Body]] = {}
        """Like a kopf index: each Service's facts (``indexes.services``), as a one-item list."""
        self._cache = cache
        self._on_event = on_event
        self._on_gap = on_gap
        self._listed: dict[Stream, set[ServiceKey]] = {}
        self._owned: dict[Stream, set[ChildKey]] = {}

    def listing(self, stream: Stream) -> None:
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
        for key in [k for k in self.index if (namespace is None or k[0] == namespace) and k not in listed]:
            del self.index[key]
        self._cache.keep_only(
            SERVICES.api_version, SERVICES.kind, self._owned.pop(stream), namespace=namespace
        )
        if gap:
            self._on_gap(listed)

    def event(self, stream: Stream, body: Body, kind: str) -> None:
        if kind == "DELETED":
            self.index.pop(_key(body), None)
        else:
            self._index(body)
        self._on_event(body, kind)

    def _index(self, body: Body) -> None:
        self.index.update((key, [value]) for key, value in indexes.services(body).items())


def _key(body: Body) -> ServiceKey:
    meta = body["metadata"]
    return (str(meta["namespace"]), str(meta["name"]))
