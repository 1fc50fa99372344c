"""Index functions: the in-memory views that replace a LIST per reconcile.

Each function maps one watched object to ``{key: value}``; the index is kept current from
the watch streams and drops an object's entries when it goes away. They are plain
functions, unit-testable.

The facts of the custom resources share one index, ``greenshift``, under keys tagged with
their facet (``("resource", key)``, ``("tenant_namespace", namespace)``, ...), kept by the
operator (``fact_index``); ``services`` (each Service's type and ports) and ``namespaces``
(each Namespace's tenant label) index the informers of those kinds (``indexed_watch``).
"""

from collections.abc import Callable
from typing import Any

from greenshift.constants import KIND_ROUTE, KIND_SOURCE, KIND_TENANT, TENANT_LABEL
from greenshift.controllers.keys import key_of
from greenshift.naming import tenant_namespace
from greenshift.runtime.packing import compact, pack


def greenshift_resources(body: Any, **_: Any) -> dict[Any, Any]:
    return {key_of(body): pack(compact(body), compress=False)}


def tenant_namespaces(body: Any, **_: Any) -> dict[Any, Any]:
    meta = body["metadata"]
    return {tenant_namespace(body): (str(meta.get("creationTimestamp", "")), meta["name"])}


def by_namespace(body: Any, **_: Any) -> dict[Any, Any]:
    meta = body["metadata"]
    return {meta["namespace"]: (body["kind"], meta["name"])}


def route_claims(body: Any, **_: Any) -> dict[Any, Any] | None:
    spec = body.get("spec") or {}
    if body["metadata"].get("deletionTimestamp") or not spec.get("host") or not spec.get("pathPrefix"):
        return None
    meta = body["metadata"]
    return {
        (spec["host"], spec["pathPrefix"]): (
            str(meta.get("creationTimestamp", "")),
            meta["namespace"],
            meta["name"],
        )
    }


def route_backends(body: Any, **_: Any) -> dict[Any, Any] | None:
    backend = (body.get("spec") or {}).get("backend") or {}
    target = backend.get("service") or backend.get("documentSource") or {}
    name = target.get("name")
    return {(body["metadata"]["namespace"], name): body["metadata"]["name"]} if name else None


def services(body: Any, **_: Any) -> dict[Any, Any]:
    spec = body.get("spec") or {}
    meta = body["metadata"]
    return {
        (meta["namespace"], meta["name"]): {
            "type": spec.get("type", "ClusterIP"),
            "ports": spec.get("ports") or [],
        }
    }


def namespaces(body: Any, **_: Any) -> dict[Any, Any]:
    """Each Namespace and the tenant its label names ("" for none): whether a tenant may have it."""
    meta = body["metadata"]
    return {("", meta["name"]): str((meta.get("labels") or {}).get(TENANT_LABEL, ""))}


INDEX = "greenshift"
RESOURCE, TENANT_NAMESPACE, IN_NAMESPACE, ROUTE_CLAIM, ROUTE_BACKEND = (
    "resource",
    "tenant_namespace",
    "in_namespace",
    "route_claim",
    "route_backend",
)
Facets = tuple[tuple[str, Callable[..., dict[Any, Any] | None]], ...]
FACETS: dict[str, Facets] = {
    KIND_TENANT: ((RESOURCE, greenshift_resources), (TENANT_NAMESPACE, tenant_namespaces)),
    KIND_SOURCE: ((RESOURCE, greenshift_resources), (IN_NAMESPACE, by_namespace)),
    KIND_ROUTE: (
        (RESOURCE, greenshift_resources),
        (IN_NAMESPACE, by_namespace),
        (ROUTE_CLAIM, route_claims),
        (ROUTE_BACKEND, route_backends),
    ),
}


def facts(body: Any, **_: Any) -> dict[Any, Any]:
    """Every fact of one custom resource, each key tagged with its facet."""
    return {
        (facet, key): value
        for facet, function in FACETS[body["kind"]]
        for key, value in (function(body) or {}).items()
    }
