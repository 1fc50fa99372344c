"""Reconcile of a GatewayRoute: acceptance (tenant, host, style, conflicts, backend), then publishing.

A route that is not accepted has no gateway objects: the desired children are empty and
pruning unpublishes whatever it had.
"""

from collections.abc import Mapping
from typing import Any

from greenshift.constants import KIND_SOURCE
from greenshift.controllers.conditions import Condition, merge_conditions, now_rfc3339
from greenshift.controllers.context import Context
from greenshift.controllers.keys import ObjectKey, key_of
from greenshift.controllers.lifecycle import apply_children, is_deleting, remove_finalizer, write_status
from greenshift.controllers.render_cache import fingerprint
from greenshift.controllers.spec_checks import route_problems
from greenshift.render.gatewayroute import render_gateway_route

Body = Mapping[str, Any]
ROUTE_KINDS = frozenset({"Ingress", "HTTPRoute", "Route"})


async def reconcile_gateway_route(ctx: Context, key: ObjectKey) -> None:
    route = ctx.body(key)
    if route is None:
        return
    await remove_finalizer(ctx, route)  # garbage collection and the claimants' wake-up do it all
    if is_deleting(route):
        return
    tenant = ctx.tenant_for_namespace(key.namespace)
    accepted, warnings = acceptance(ctx, route, tenant)
    if accepted.reason == "BackendNotFound" and backend_pending(ctx, key.namespace, route):
        return  # the source's reconcile wakes this route, and so does its Service's event
    desired = (
        ctx.desired(
            key,
            fingerprint(route, tenant),
            lambda: render_gateway_route(dict(route), dict(tenant), ctx.config, defaulted=True),
        )
        if tenant and accepted.status == "True"
        else []
    )
    result = await apply_children(
        ctx, route, desired, "Accepted", lambda failed: route_status(route, failed, False, warnings)
    )
    published = any(b.get("kind") in ROUTE_KINDS for b in result.live.values())
    await write_status(ctx, route, route_status(route, accepted, published, warnings))


def acceptance(ctx: Context, route: Body, tenant: Body | None) -> tuple[Condition, list[str]]:
    """Whether the gateway may publish this route, and style warnings (pure but for index reads)."""
    key = key_of(route)
    spec = route.get("spec") or {}
    if tenant is None:
        return Condition(
            "Accepted", "False", "NoTenant", f"Namespace {key.namespace} belongs to no WalletTenant."
        ), []
    if (tenant.get("spec") or {}).get("suspended"):
        return Condition(
            "Accepted", "False", "TenantSuspended", "The tenant is suspended: the route is unpublished."
        ), []
    problems = route_problems(route, tenant, ctx.config)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [str(p) for p in problems if p.severity == "warning"]
    if errors:
        return Condition("Accepted", "False", errors[0].reason, "; ".join(map(str, errors))), warnings
    conflict = route_conflict(ctx, route)
    if conflict is not None:
        return conflict, warnings
    problem = backend_problem(ctx, key.namespace, spec.get("backend") or {})
    if problem is not None:
        return problem, warnings
    return Condition("Accepted", "True", "Accepted", "The gateway accepted the route."), warnings


def route_conflict(ctx: Context, route: Body) -> Condition | None:
    """RouteConflict when another route, older or already holding it, claims this host + pathPrefix."""
    key = key_of(route)
    spec = route.get("spec") or {}
    claims = ctx.route_claims(str(spec.get("host")), str(spec.get("pathPrefix")))
    if claims and (claims[0][1], claims[0][2]) != (key.namespace, key.name):
        _, namespace, name = claims[0]
        return Condition(
            "Accepted",
            "False",
            "RouteConflict",
            f"{spec.get('host')}{spec.get('pathPrefix')} is held by GatewayRoute {namespace}/{name}.",
        )
    return None


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


def backend_pending(ctx: Context, namespace: str, route: Body) -> bool:
    """Whether the route's DocumentSource has not been reconciled for its spec yet, so that the
    Service it is about to get cannot exist yet.

    The route then waits (the Service's event, and the end of the source's reconcile, wake it)
    instead of reporting ``BackendNotFound`` for the few milliseconds in between (a GitOps tool
    applies a route and its source together; the flap would be a status write and, in some
    health checks, a moment of Degraded). Once the source's status observed its generation, a
    Service still missing is reported: the source is blocked, or the Service was deleted.
    """
    name = ((route.get("spec") or {}).get("backend") or {}).get("documentSource", {}).get("name")
    source = ctx.body(ObjectKey(KIND_SOURCE, namespace, str(name))) if name else None
    if source is None or ctx.service(namespace, str(name)) is not None:
        return False
    observed = (source.get("status") or {}).get("observedGeneration")
    return bool(observed != source["metadata"].get("generation"))


def route_status(route: Body, accepted: Condition, published: bool, warnings: list[str]) -> dict[str, Any]:
    """The route's status (pure)."""
    meta = route["metadata"]
    spec = route.get("spec") or {}
    generation = int(meta.get("generation") or 0)
    noted = f" Warnings: {'; '.join(warnings)}" if warnings else ""
    accepted = Condition(accepted.type, accepted.status, accepted.reason, accepted.message + noted)
    if accepted.status != "True":
        ready = Condition("Ready", "False", accepted.reason, accepted.message)
    elif not published:
        ready = Condition("Ready", "False", "Publishing", "The gateway object is being created.")
    else:
        ready = Condition("Ready", "True", "Published", "The route is published on the gateway." + noted)
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": merge_conditions(
            (route.get("status") or {}).get("conditions"), [ready, accepted], generation, now_rfc3339()
        ),
    }
    if ready.status == "True":
        status["url"] = f"https://{spec.get('host')}{spec.get('pathPrefix')}"
    return status
