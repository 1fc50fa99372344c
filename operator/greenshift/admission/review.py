"""What the validating webhook refuses: the platform rules a CRD schema cannot express.

The schema and its CEL rules (checked by the API server before any webhook) cover shapes,
enums, ranges, ``https://`` and immutability. These reviews add what needs the platform
configuration or the rest of the cluster: certified and pinned images, the tenant's
allowedHosts, the TLS issuers the platform allows, the tenant of a namespace (``NoTenant``),
a host + pathPrefix held by another route, an ExternalName backend, the REST style guide in
``enforce`` mode, a namespace already claimed by another tenant. They read the operator's
indexes through the reconcile's own :class:`~greenshift.controllers.context.Context` and call
the same checks as the reconcile, so ``kubectl apply`` refuses exactly what the operator would
mark Ready=False.

Each review returns :class:`~greenshift.validation.Problem` s: errors refuse the request,
warnings are returned to the client (``kubectl`` prints them) and the request goes through.
"""

from collections.abc import Mapping
from typing import Any

from greenshift.controllers.context import Context
from greenshift.controllers.rules import backend_problem, route_conflict, route_problems, source_problems
from greenshift.naming import tenant_namespace
from greenshift.validation.problem import Problem
from greenshift.validation.rules import (
    check_hosts_shared,
    check_source_fits_tier,
    check_tenant_present,
    check_wallet_tenant,
)

Body = Mapping[str, Any]


def review_wallet_tenant(ctx: Context, tenant: Body) -> list[Problem]:
    """A reserved namespace, or one that an older WalletTenant already claims."""
    problems = check_wallet_tenant(dict(tenant), ctx.config)
    namespace = tenant_namespace(tenant)
    name = str(tenant.get("metadata", {}).get("name"))
    claimants = ctx.tenants_claiming(namespace)
    if claimants and claimants[0][1] != name:
        problems.append(
            Problem(
                "spec.namespace",
                f"namespace {namespace} already belongs to WalletTenant {claimants[0][1]}; "
                "choose another spec.namespace",
                "error",
                "NamespaceConflict",
            )
        )
    problems += check_hosts_shared(tenant, ctx.tenants())
    return problems


def review_document_source(ctx: Context, source: Body) -> list[Problem]:
    """The namespace belongs to a tenant; the image is certified and pinned; the upstream is https."""
    tenant = ctx.tenant_for_namespace(str(source.get("metadata", {}).get("namespace") or ""))
    return [
        *check_tenant_present(dict(source), None if tenant is None else dict(tenant)),
        *source_problems(source, ctx.config),
        *check_source_fits_tier(dict(source), None if tenant is None else dict(tenant), ctx.config),
    ]


def review_gateway_route(ctx: Context, route: Body) -> list[Problem]:
    """Tenant, allowedHosts, style guide, OIDC issuer and TLS issuer; host + pathPrefix conflicts;
    ExternalName backends.

    A missing backend is not refused: GitOps tools apply a route and its DocumentSource in
    one go, and the DocumentSource's Service only exists once the operator made it. The
    reconcile reports it (``BackendNotFound``) until it appears.
    """
    namespace = str(route.get("metadata", {}).get("namespace") or "")
    tenant = ctx.tenant_for_namespace(namespace)
    if tenant is None:
        return check_tenant_present(dict(route), None)
    problems = route_problems(route, tenant, ctx.config)
    conflict = route_conflict(ctx, route)
    if conflict is not None:
        problems.append(
            Problem(
                "spec.pathPrefix",
                f"{conflict.message.rstrip('.')}; choose another spec.host or spec.pathPrefix",
                "error",
                conflict.reason,
            )
        )
    backend = backend_problem(ctx, namespace, (route.get("spec") or {}).get("backend") or {})
    if backend is not None and backend.reason == "BackendNotAllowed":
        field, _, message = backend.message.partition(": ")
        problems.append(Problem(field, message, "error", backend.reason))
    return problems
