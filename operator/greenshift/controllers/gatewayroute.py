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
from greenshift.controllers.rules import backend_problem, route_conflict, route_problems
from greenshift.render.gatewayroute import render_gateway_route
from greenshift.runtime.queue import Requeue

Body = Mapping[str, Any]
ROUTE_KINDS = frozenset({"Ingress", "HTTPRoute", "Route"})


async def reconcile_gateway_route(ctx: Context, key: ObjectKey) -> Requeue | None:
    route = ctx.body(key)
    if route is None:
        return None
    await remove_finalizer(ctx, route)  # garbage collection and the claimants' wake-up do it all
    if is_deleting(route):
        return None
    tenant = ctx.tenant_for_namespace(key.namespace)
    accepted, warnings = acceptance(ctx, route, tenant)
    if accepted.reason == "BackendNotFound" and backend_pending(ctx, key.namespace, route):
        return None  # the source's reconcile wakes this route, and so does its Service's event
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
    if isinstance(result, Requeue):
        return result
    published = any(b.get("kind") in ROUTE_KINDS for b in result.live.values())
    await write_status(ctx, route, route_status(route, accepted, published, warnings))
    return None


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
