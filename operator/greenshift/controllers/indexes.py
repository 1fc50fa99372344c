"""The operator's view of the cluster: one store per watched kind, and the typed queries on them.

The stores (``runtime.store``) are kept by the reflectors (``wiring``); the index functions
below are pure and say what each query looks up: the tenant of a namespace, the sources and
routes of a namespace, the routes claiming a host+path, the routes to a backend, the children
of an owner (by the ``greenshift.io/owner`` annotation). Every read is a dictionary lookup:
no reconcile and no admission review lists anything.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from greenshift.constants import KIND_ROUTE, KIND_SOURCE, KIND_TENANT, TENANT_LABEL
from greenshift.controllers.keys import ObjectKey, owner_of
from greenshift.kube import ResourceRef, ref_of_kind
from greenshift.naming import tenant_namespace
from greenshift.runtime.own_writes import Identity
from greenshift.runtime.store import Store
from greenshift.validation.rules import route_key

Body = Mapping[str, Any]
SERVICES = ref_of_kind("v1", "Service")
NAMESPACES = ref_of_kind("v1", "Namespace")


def tenant_namespaces(body: Body) -> list[Hashable]:
    return [tenant_namespace(dict(body))]


def in_namespace(body: Body) -> list[Hashable]:
    return [body["metadata"]["namespace"]]


def route_claim(body: Body) -> tuple[str, str] | None:
    """The host+path a route claims, normalised (``validation.rules.route_key``); none while it is
    being deleted."""
    spec = body.get("spec") or {}
    if body["metadata"].get("deletionTimestamp") or not spec.get("host") or not spec.get("pathPrefix"):
        return None
    return route_key(body)


def route_hosts(body: Body) -> list[Hashable]:
    """The host a route claims: routes collide on one host only (``validation.rules.claims_collide``)."""
    claim = route_claim(body)
    return [claim[0]] if claim is not None else []


def route_backends(body: Body) -> list[Hashable]:
    backend = (body.get("spec") or {}).get("backend") or {}
    target = backend.get("service") or backend.get("documentSource") or {}
    name = target.get("name")
    return [(body["metadata"]["namespace"], str(name))] if name else []


def owners(body: Body) -> list[Hashable]:
    owner = owner_of(body)
    return [owner] if owner is not None else []


def child_store() -> Store:
    """The store of one child kind: only what names a plausible owner (``owner_of``) is held, so
    objects labelled as the operator's that claim another namespace's owner cost no memory."""
    return Store({"owner": owners}, keep=lambda body: owner_of(body) is not None)


def _resources() -> dict[str, Store]:
    return {
        KIND_TENANT: Store({"namespace": tenant_namespaces}, compress=False),
        KIND_SOURCE: Store({"namespace": in_namespace}, compress=False),
        KIND_ROUTE: Store(
            {"namespace": in_namespace, "host": route_hosts, "backend": route_backends}, compress=False
        ),
    }


@dataclass
class ClusterView:
    """The stores: the custom resources by kind, all Services and Namespaces, the other children
    by kind (only those labelled managed-by Greenshift)."""

    resources: dict[str, Store] = field(default_factory=_resources)
    services: Store = field(default_factory=lambda: Store({"owner": owners}, compress=False))
    namespaces: Store = field(default_factory=lambda: Store({"owner": owners}, compress=False))
    children: dict[ResourceRef, Store] = field(default_factory=dict)
    singletons: list[ObjectKey] = field(default_factory=list)
    """Keys reconciled without a resource of their own (the shared log forwarder): every resync
    queues them too."""

    def child_stores(self) -> list[Store]:
        return [self.services, self.namespaces, *self.children.values()]

    def child_store(self, api_version: str, kind: str) -> Store | None:
        ref = ref_of_kind(api_version, kind)
        if ref == SERVICES:
            return self.services
        if ref == NAMESPACES:
            return self.namespaces
        return self.children.get(ref)

    def resource_keys(self) -> list[ObjectKey]:
        keys = [ObjectKey(kind, ns, name) for kind, store in self.resources.items() for ns, name in store]
        return keys + self.singletons

    def resource(self, key: ObjectKey) -> Body | None:
        return self.resources[key.kind].get((key.namespace, key.name))

    def resources_of(self, kind: str) -> list[Body]:
        return list(self.resources[kind].values())

    def tenants_claiming(self, namespace: str) -> list[tuple[str, str]]:
        """(creationTimestamp, name) of every tenant that wants ``namespace``, oldest first."""
        store = self.resources[KIND_TENANT]
        found = (store.get(key) for key in store.index("namespace", namespace))
        return sorted(
            (str(t["metadata"].get("creationTimestamp", "")), t["metadata"]["name"]) for t in found if t
        )

    def dependents(self, namespace: str) -> list[ObjectKey]:
        """The sources and routes of ``namespace``."""
        return [
            ObjectKey(kind, ns, name)
            for kind in (KIND_SOURCE, KIND_ROUTE)
            for ns, name in self.resources[kind].index("namespace", namespace)
        ]

    def count(self, kind: str, namespace: str) -> int:
        return len(self.resources[kind].index("namespace", namespace))

    def routes_on_host(self, host: str) -> list[Body]:
        """The routes claiming a path on ``host`` (normalised), not being deleted."""
        store = self.resources[KIND_ROUTE]
        return [r for r in (store.get(key) for key in sorted(store.index("host", host))) if r]

    def routes_to(self, namespace: str, backend: str) -> list[ObjectKey]:
        return [
            ObjectKey(KIND_ROUTE, ns, name)
            for ns, name in sorted(self.resources[KIND_ROUTE].index("backend", (namespace, backend)))
        ]

    def service(self, namespace: str, name: str) -> Body | None:
        """The Service's type and ports, None when it does not exist."""
        found = self.services.get((namespace, name))
        if found is None:
            return None
        spec = found.get("spec") or {}
        return {"type": spec.get("type", "ClusterIP"), "ports": spec.get("ports") or []}

    def namespace_tenant(self, namespace: str) -> str | None:
        """The tenant label of the Namespace ``namespace`` ("" for none), None when it does not exist."""
        found = self.namespaces.get(("", namespace))
        return None if found is None else str((found["metadata"].get("labels") or {}).get(TENANT_LABEL, ""))

    def children_of(self, owner: ObjectKey) -> list[Body]:
        return [
            body
            for store in self.child_stores()
            for key in store.index("owner", owner)
            if (body := store.get(key)) is not None
        ]

    def child(self, owner: ObjectKey, key: Identity) -> Body | None:
        store = self.child_store(key[0], key[1])
        found = store.get((key[2], key[3])) if store is not None else None
        return found if found is not None and owner_of(found) == owner else None

    def has_child(self, owner: ObjectKey, key: Identity) -> bool:
        store = self.child_store(key[0], key[1])
        return store is not None and (key[2], key[3]) in store.index("owner", owner)

    def children_of_kinds(self, kinds: Iterable[tuple[str, str]]) -> list[Body]:
        """Every child of these (apiVersion, kind)s, decoded: only these, as a thousand tenants'
        children are about 80 MB unpacked."""
        stores = [store for api, kind in kinds if (store := self.child_store(api, kind)) is not None]
        return [
            body
            for store in stores
            for owner in store.index_values("owner")
            for key in store.index("owner", owner)
            if (body := store.get(key)) is not None
        ]
