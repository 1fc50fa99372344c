"""The platform's rules as the reconcile and the admission webhook both apply them.

The spec rules are those of `greenshift validate`; the route conflict and the backend checks read
the operator's view of the cluster (``Context``), the same for a reconcile and a review.
"""

from collections.abc import Mapping
from typing import Any

from greenshift.config import PlatformConfig
from greenshift.controllers.conditions import Condition
from greenshift.controllers.context import Context
from greenshift.controllers.keys import ObjectKey, key_of
from greenshift.validation.problem import Problem
from greenshift.validation.rules import (
    check_document_source,
    check_gateway_route,
    conflict_holder,
    describe_conflict,
    route_key,
)

Body = Mapping[str, Any]


def source_problems(source: Mapping[str, Any], config: PlatformConfig) -> list[Problem]:
    return [p for p in check_document_source(dict(source), config) if p.severity == "error"]


def route_problems(
    route: Mapping[str, Any], tenant: Mapping[str, Any], config: PlatformConfig
) -> list[Problem]:
    return list(check_gateway_route(dict(route), dict(tenant), config))


def route_conflict(ctx: Context, route: Body) -> Condition | None:
    """RouteConflict when an older route's claim collides with this one's: the same host and path,
    or a path nested in another namespace's (``validation.rules.claims_collide``)."""
    key = key_of(route)
    others = [r for r in ctx.routes_on_host(route_key(route)[0]) if key_of(r) != key]
    holder = conflict_holder(route, others)
    if holder is None:
        return None
    return Condition("Accepted", "False", "RouteConflict", f"{describe_conflict(route, holder)}.")


def backend_problem(ctx: Context, namespace: str, backend: Mapping[str, Any]) -> Condition | None:
    """Why the backend cannot be published: BackendNotFound (for now) or BackendNotAllowed (ExternalName)."""
    if "documentSource" in backend:
        name = str(backend["documentSource"].get("name"))
        if ctx.body(ObjectKey("DocumentSource", namespace, name)) is None:
            return Condition(
                "Accepted",
                "False",
                "BackendNotFound",
                f"spec.backend.documentSource: no DocumentSource {name} in namespace {namespace}.",
            )
        if ctx.service(namespace, name) is None:
            return Condition(
                "Accepted",
                "False",
                "BackendNotFound",
                f"spec.backend.documentSource: the Service of DocumentSource {name} does not exist yet.",
            )
        return None
    service = backend.get("service") or {}
    name = str(service.get("name"))
    found = ctx.service(namespace, name)
    if found is None:
        return Condition(
            "Accepted",
            "False",
            "BackendNotFound",
            f"spec.backend.service: no Service {name} in namespace {namespace}.",
        )
    if found.get("type") == "ExternalName":
        return Condition(
            "Accepted",
            "False",
            "BackendNotAllowed",
            f"spec.backend.service: Service {name} is of type ExternalName, which could reach "
            "outside the tenant; use a ClusterIP Service.",
        )
    port = service.get("port")
    ports = {p.get("port") for p in found.get("ports") or []} | {
        p.get("name") for p in found.get("ports") or []
    }
    if port is not None and port not in ports:
        return Condition(
            "Accepted",
            "False",
            "BackendNotFound",
            f"spec.backend.service.port: Service {name} has no port {port}.",
        )
    return None
