"""What every reconcile shares: the client, the platform config, the view of the cluster, the own writes."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf

from greenshift.config import PlatformConfig
from greenshift.constants import API_VERSION, KIND_TENANT
from greenshift.controllers.children import stamp
from greenshift.controllers.indexes import ClusterView
from greenshift.controllers.keys import ObjectKey, owner_of
from greenshift.controllers.render_cache import Fingerprint, RenderCache
from greenshift.kube import KubeClient
from greenshift.naming import tenant_namespace
from greenshift.runtime.events import EventPoster
from greenshift.runtime.own_writes import Identity, OwnWrites

Body = Mapping[str, Any]
Child = dict[str, Any]


@dataclass
class Context:
    client: KubeClient
    config: PlatformConfig
    settings: kopf.OperatorSettings
    view: ClusterView
    events: EventPoster
    own: OwnWrites = field(default_factory=lambda: OwnWrites(owner_of))
    """Every write goes through it: reads prefer its answers until the watch catches up."""
    renders: RenderCache = field(default_factory=RenderCache)

    def body(self, key: ObjectKey) -> Body | None:
        """The latest known state of a custom resource (watched, or the operator's own newer write)."""
        return self.own.newest(self.view.resource(key), (API_VERSION, key.kind, key.namespace, key.name))

    def tenant_for_namespace(self, namespace: str) -> Body | None:
        """The tenant owning ``namespace``; with several claimants, the oldest."""
        names = self.view.tenants_claiming(namespace)
        return self.body(ObjectKey(KIND_TENANT, "", names[0][1])) if names else None

    def tenants(self) -> list[Body]:
        return self.view.resources_of(KIND_TENANT)

    def tenants_claiming(self, namespace: str) -> list[tuple[str, str]]:
        """(creationTimestamp, name) of every tenant that wants ``namespace``, oldest first."""
        return self.view.tenants_claiming(namespace)

    def desired(self, key: ObjectKey, spec: Fingerprint, render: Callable[[], list[Child]]) -> list[Child]:
        """The desired children of ``key``, stamped (see ``children.stamp``): rendered once per spec."""
        return self.renders.get(spec, lambda: [stamp(obj, key) for obj in render()])

    def children(self, owner: ObjectKey) -> list[Body]:
        """The children of ``owner``: those that name it (``owner_of``), in its namespace (a
        WalletTenant's: its Namespace and what is in it) and, when they carry owner references,
        with one to its uid. A forged claim is no child: never pruned, never compared."""
        body = self.body(owner)
        return self.own.children(owner, [c for c in self.view.children_of(owner) if _belongs(c, body)])

    def child(self, owner: ObjectKey, key: Identity) -> Body | None:
        """One child of ``owner`` as watched, None if not seen."""
        return self.view.child(owner, key)

    def has_child(self, owner: ObjectKey, key: Identity) -> bool:
        """Whether ``owner`` has this child, without decoding its children."""
        return self.view.has_child(owner, key) or self.own.wrote(owner, key)

    def namespace_tenant(self, namespace: str) -> str | None:
        """The tenant label of the Namespace ``namespace`` ("" for none), None when it does not exist."""
        return self.view.namespace_tenant(namespace)

    def service(self, namespace: str, name: str) -> Body | None:
        return self.view.service(namespace, name)

    def dependents(self, namespace: str) -> list[ObjectKey]:
        return self.view.dependents(namespace)

    def routes_on_host(self, host: str) -> list[Body]:
        return self.view.routes_on_host(host)

    def routes_to_service(self, namespace: str, service: str) -> list[ObjectKey]:
        return self.view.routes_to(namespace, service)

    def count(self, kind: str, namespace: str) -> int:
        return self.view.count(kind, namespace)

    def logger(self, body: Body) -> kopf.ObjectLogger:
        return kopf.ObjectLogger(body=body, settings=self.settings)  # type: ignore[arg-type]


def _belongs(child: Body, owner: Body | None) -> bool:
    if owner is None:
        return True  # the owner is gone: its children are the garbage collector's (and the finalizer's)
    meta = child.get("metadata") or {}
    if owner.get("kind") == KIND_TENANT:
        namespace = tenant_namespace(dict(owner))
        if (meta.get("namespace") or meta.get("name")) != namespace:
            return False
    references = meta.get("ownerReferences") or []
    uid = owner.get("metadata", {}).get("uid")
    return not references or uid is None or any(r.get("uid") == uid for r in references)
