"""What every reconcile shares: the client, the platform config, the indexes, the queue."""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf

from greenshift.config import PlatformConfig
from greenshift.constants import API_VERSION, KIND_ROUTE, KIND_TENANT
from greenshift.controllers import indexes
from greenshift.controllers.child_cache import ChildCache
from greenshift.controllers.children import stamp
from greenshift.controllers.events import EventPoster
from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.recent import RecentWrites
from greenshift.controllers.render_cache import Fingerprint, RenderCache
from greenshift.kube import KubeClient
from greenshift.runtime.packing import unpack
from greenshift.runtime.queue import WorkQueue

Body = Mapping[str, Any]
Child = dict[str, Any]


@dataclass
class Context:
    client: KubeClient
    config: PlatformConfig
    settings: kopf.OperatorSettings
    queue: WorkQueue[ObjectKey]
    # the fact index (fact_index), and the Services' and the Namespaces' indexes (indexed_watch)
    indices: Mapping[str, Mapping[Any, Any]]
    events: EventPoster
    recent: RecentWrites = field(default_factory=RecentWrites)
    child_cache: ChildCache = field(default_factory=ChildCache)
    renders: RenderCache = field(default_factory=RenderCache)
    # resourceVersions the operator itself produced (finalizer and status writes), so that
    # the echo of its own write does not trigger another reconcile.
    own_versions: dict[ObjectKey, set[str]] = field(default_factory=dict)
    # custom resources the operator is writing, with the watch events that arrived meanwhile:
    # an event that overtakes the answer to the write cannot be told from its echo yet, so it
    # waits for the answer and is then handled again (``replay``, the informer's handler).
    writing: dict[ObjectKey, list[tuple[Body, str]]] = field(default_factory=dict)
    replay: Callable[[Body, str], None] = lambda body, kind: None
    # the host and path each route claimed last, to wake the losers when it lets go.
    claims: dict[ObjectKey, tuple[str, str]] = field(default_factory=dict)
    # the generation of each tenant last seen, to wake its sources and routes on a change.
    tenant_generations: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.recent.on_foreign = self.queue.add

    def _first(self, facet: str, key: Any) -> Any:
        return _first_of(self.indices[indexes.INDEX].get((facet, key)))

    def _all(self, facet: str, key: Any) -> Iterator[Any]:
        store = self.indices[indexes.INDEX].get((facet, key))
        return iter(store) if store is not None else iter(())

    def resource_keys(self) -> list[ObjectKey]:
        """Every custom resource known to the index."""
        return [key for facet, key in list(self.indices[indexes.INDEX]) if facet == indexes.RESOURCE]

    def body(self, key: ObjectKey) -> Body | None:
        """The latest known state of a custom resource (index or the operator's own newer write)."""
        packed: bytes | None = self._first(indexes.RESOURCE, key)
        indexed: Body | None = unpack(packed) if packed is not None else None
        return self.recent.newest(indexed, (API_VERSION, key.kind, key.namespace, key.name))

    def tenant_for_namespace(self, namespace: str) -> Body | None:
        """The tenant owning ``namespace``; with several claimants, the oldest."""
        names = sorted(self._all(indexes.TENANT_NAMESPACE, namespace))
        return self.body(ObjectKey(KIND_TENANT, "", names[0][1])) if names else None

    def tenants_claiming(self, namespace: str) -> list[tuple[str, str]]:
        """(creationTimestamp, name) of every tenant that wants ``namespace``, oldest first."""
        return sorted(self._all(indexes.TENANT_NAMESPACE, namespace))

    def desired(self, key: ObjectKey, spec: Fingerprint, render: Callable[[], list[Child]]) -> list[Child]:
        """The desired children of ``key``, stamped (see ``children.stamp``): rendered once per spec."""
        return self.renders.get(spec, lambda: [stamp(obj, key) for obj in render()])

    def children(self, owner: ObjectKey) -> list[Body]:
        return self.recent.children(owner, self.child_cache.children(owner))

    def has_child(self, owner: ObjectKey, key: tuple[str, str, str, str]) -> bool:
        """Whether ``owner`` has this child, without decoding its children."""
        return self.child_cache.has(owner, key) or self.recent.wrote_child(owner, key)

    def namespace_tenant(self, namespace: str) -> str | None:
        """The tenant label of the Namespace ``namespace`` ("" for none), None when it does not exist."""
        return _first_of(self.indices["namespaces"].get(("", namespace)))  # type: ignore[no-any-return]

    def service(self, namespace: str, name: str) -> Body | None:
        return _first_of(self.indices["services"].get((namespace, name)))  # type: ignore[no-any-return]

    def dependents(self, namespace: str) -> list[ObjectKey]:
        return [ObjectKey(kind, namespace, name) for kind, name in self._all(indexes.IN_NAMESPACE, namespace)]

    def route_claims(self, host: str, path: str) -> list[tuple[str, str, str]]:
        """(creationTimestamp, namespace, name) of the routes claiming host+path, oldest first."""
        return sorted(self._all(indexes.ROUTE_CLAIM, (host, path)))

    def routes_to_service(self, namespace: str, service: str) -> list[ObjectKey]:
        return [
            ObjectKey(KIND_ROUTE, namespace, name)
            for name in self._all(indexes.ROUTE_BACKEND, (namespace, service))
        ]

    def count(self, kind: str, namespace: str) -> int:
        return sum(1 for k, _ in self._all(indexes.IN_NAMESPACE, namespace) if k == kind)

    def logger(self, body: Body) -> kopf.ObjectLogger:
        return kopf.ObjectLogger(body=body, settings=self.settings)  # type: ignore[arg-type]


def _first_of(store: Any) -> Any:
    """The first value an index holds under one key, or None."""
    return next(iter(store), None) if store is not None else None
