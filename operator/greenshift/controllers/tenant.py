"""Reconcile of a WalletTenant: namespace, quota, limits, network policies, role bindings."""

import datetime
import time
from collections.abc import Mapping
from typing import Any

from greenshift.constants import KIND_SOURCE
from greenshift.controllers.conditions import Condition, merge_conditions, now_rfc3339
from greenshift.controllers.context import Context
from greenshift.controllers.documentsource import connector_deployment
from greenshift.controllers.keys import ObjectKey, key_of
from greenshift.controllers.lifecycle import (
    apply_children,
    ensure_finalizer,
    is_deleting,
    newest_child,
    remove_finalizer,
    write_status,
)
from greenshift.controllers.render_cache import fingerprint
from greenshift.kube import ref_of_kind
from greenshift.naming import tenant_namespace
from greenshift.render.tenant import render_tenant
from greenshift.runtime.queue import Requeue
from greenshift.validation.rules import is_reserved_namespace

Body = Mapping[str, Any]
NAMESPACE = ref_of_kind("v1", "Namespace")
USAGE_KEYS = ("requests.cpu", "requests.memory", "requests.storage")
QUOTA_NAME = "greenshift-quota"
QUOTA_GRACE_SECONDS = 5.0
"""How long a new quota may be waited for before the tenant reports ``QuotaPending``: the quota
controller takes a new quota up within a second or two, and its status write wakes the tenant at
once, so a status written meanwhile would be one more write per tenant that nobody reads."""
USAGE_SETTLE_SECONDS = 120.0
"""How long after a DocumentSource is created a usage-only status change may wait for its
connector's Pods: the quota counts a source when it is created and its Pods' requests when the
ReplicaSet creates them, often more than ``USAGE_DELAY_SECONDS`` later on a busy cluster (over a
minute at a thousand tenants applied at once). Waiting for both gives one usage update per new
connector instead of two. Pods refused (a full quota: the Deployment's ``ReplicaFailure``) end
the wait at once; the bound only caps it when the cluster's controllers stall."""


async def reconcile_tenant(ctx: Context, key: ObjectKey) -> Requeue | None:
    tenant = ctx.body(key)
    if tenant is None:
        return None
    if is_deleting(tenant):
        await finalize_tenant(ctx, tenant)
        return None
    await ensure_finalizer(ctx, tenant)
    namespace = tenant_namespace(dict(tenant))
    refusal = await _namespace_refusal(ctx, tenant, namespace)
    if refusal is not None:
        await write_status(ctx, tenant, tenant_status(tenant, namespace, {}, {}, refusal=refusal))
        return None
    desired = ctx.desired(
        key, fingerprint(tenant), lambda: render_tenant(dict(tenant), ctx.config, defaulted=True)
    )
    result = await apply_children(
        ctx,
        tenant,
        desired,
        "PoliciesApplied",
        lambda failed: tenant_status(tenant, namespace, {}, {}, refusal=failed),
    )
    if isinstance(result, Requeue):
        return result
    usage = {
        "documentSources": ctx.count(KIND_SOURCE, namespace),
        "gatewayRoutes": ctx.count("GatewayRoute", namespace),
    }
    live = {k: newest_child(ctx, key, body) for k, body in result.live.items()}
    now = time.time()
    wait = quota_grace(_quota(live, namespace), now)
    if wait > 0:
        return Requeue(f"Waiting for the quota controller to take up {QUOTA_NAME}", wait)
    status = tenant_status(tenant, namespace, live, usage)
    if usage_only_change(tenant, status):
        wait = connectors_starting(_connectors(ctx, namespace), now)
        if wait > 0:
            return Requeue(f"Waiting for new connectors' Pods in {namespace} before reporting usage", wait)
    await write_status(ctx, tenant, status)
    return None


def _connectors(ctx: Context, namespace: str) -> list[tuple[Body, Body | None]]:
    """Each DocumentSource of ``namespace`` with its connector Deployment (None before it exists)."""
    found = []
    for key in ctx.dependents(namespace):
        source = ctx.body(key) if key.kind == KIND_SOURCE else None
        if source is not None:
            found.append((source, connector_deployment(ctx.children(key))))
    return found


def usage_only_change(tenant: Body, status: Mapping[str, Any]) -> bool:
    """Whether ``status`` differs from the tenant's current one in ``usage`` alone (pure)."""
    current = dict(tenant.get("status") or {})
    if current == status:
        return False
    return {k: v for k, v in current.items() if k != "usage"} == {
        k: v for k, v in status.items() if k != "usage"
    }


def connectors_starting(connectors: list[tuple[Body, Body | None]], now: float) -> float:
    """Seconds a usage report should still wait for new connectors' Pods; 0: report now (pure).

    A connector is starting while its source is younger than ``USAGE_SETTLE_SECONDS`` and its
    Deployment is missing, not yet observed by the Deployment controller, or has fewer Pods than
    it wants (``status.replicas``: Pods created whatever their phase, what the quota counts)
    without a ``ReplicaFailure``. Quota admission counts a Pod before its creation returns, so a
    Deployment that reports its Pods is never ahead of the quota it is counted in.
    """
    wait = 0.0
    for source, deployment in connectors:
        age = now - _timestamp(source)
        if age < USAGE_SETTLE_SECONDS and (deployment is None or deployment_starting(deployment)):
            wait = max(wait, USAGE_SETTLE_SECONDS - age)
    return wait


def deployment_starting(deployment: Body) -> bool:
    """Whether a connector's Deployment may still create Pods the quota will count (pure)."""
    meta, spec = deployment.get("metadata") or {}, deployment.get("spec") or {}
    status = deployment.get("status") or {}
    if status.get("observedGeneration", 0) < meta.get("generation", 1):
        return True
    conditions = status.get("conditions") or []
    if any(c.get("type") == "ReplicaFailure" and c.get("status") == "True" for c in conditions):
        return False
    return int(status.get("replicas") or 0) < int(spec.get("replicas", 1))


def _timestamp(body: Body) -> float:
    """The object's creation time (epoch seconds); 0 when unknown (so: long ago)."""
    created = str((body.get("metadata") or {}).get("creationTimestamp") or "")
    try:
        return datetime.datetime.fromisoformat(created).timestamp()
    except ValueError:
        return 0.0


async def _namespace_refusal(ctx: Context, tenant: Body, namespace: str) -> Condition | None:
    """Why the tenant may not have ``namespace``: reserved, held by an older tenant, or not ours."""
    name = tenant["metadata"]["name"]
    if is_reserved_namespace(namespace, ctx.config):
        return Condition(
            "NamespaceReady",
            "False",
            "NamespaceNotAllowed",
            f"Namespace {namespace} is reserved for the platform; choose another spec.namespace.",
        )
    holder = ctx.tenants_claiming(namespace)[0][1]
    if holder != name:
        return Condition(
            "NamespaceReady",
            "False",
            "NamespaceConflict",
            f"Namespace {namespace} already belongs to WalletTenant {holder}.",
        )
    recorded = (tenant.get("status") or {}).get("namespace")
    if recorded and recorded != namespace:
        return Condition(
            "NamespaceReady",
            "False",
            "NamespaceImmutable",
            f"The tenant's namespace is {recorded}; it cannot move to {namespace}.",
        )
    if not ctx.has_child(key_of(tenant), ("v1", "Namespace", "", namespace)):
        labelled = ctx.namespace_tenant(namespace)  # the Namespaces' store: no GET per tenant
        if labelled is not None and labelled != name:
            return Condition(
                "NamespaceReady",
                "False",
                "NamespaceConflict",
                f"Namespace {namespace} exists and is not managed for this tenant; "
                "Greenshift does not adopt foreign namespaces.",
            )
    return None


def tenant_status(
    tenant: Body,
    namespace: str,
    live: Mapping[tuple[str, str, str, str], Body],
    usage: Mapping[str, Any],
    *,
    refusal: Condition | None = None,
) -> dict[str, Any]:
    """The tenant's status from what exists (pure)."""
    generation = int(tenant["metadata"].get("generation") or 0)
    quota = _quota(live, namespace)
    if refusal is not None:
        conditions = [refusal, Condition("PoliciesApplied", "False", refusal.reason, "Nothing was applied.")]
    else:
        ns = live.get(("v1", "Namespace", "", namespace))
        phase = ((ns or {}).get("status") or {}).get("phase", "Active")
        if ns is None:
            ns_condition = Condition(
                "NamespaceReady", "False", "NamespaceMissing", f"Namespace {namespace} is being created."
            )
        elif phase != "Active":
            ns_condition = Condition(
                "NamespaceReady", "False", "NamespaceNotActive", f"Namespace {namespace} is {phase}."
            )
        else:
            ns_condition = Condition(
                "NamespaceReady", "True", "NamespaceActive", f"Namespace {namespace} is active."
            )
        policies = sum(1 for k in live if k[1] == "NetworkPolicy")
        if quota is not None and not quota_in_force(quota):
            applied = Condition(
                "PoliciesApplied",
                "False",
                "QuotaPending",
                f"ResourceQuota {QUOTA_NAME} is applied; until the quota controller has computed its "
                "usage the namespace admits no DocumentSource or GatewayRoute.",
            )
        else:
            applied = Condition(
                "PoliciesApplied",
                "True",
                "PoliciesApplied",
                f"Quota, limits, {policies} network policies and role bindings are applied.",
            )
        conditions = [ns_condition, applied]
    ready = next((c for c in conditions if c.status != "True"), None)
    summary = (
        Condition("Ready", "False", ready.reason, ready.message)
        if ready is not None
        else Condition(
            "Ready", "True", "Ready", f"Tenant {tenant['metadata']['name']} is onboarded in {namespace}."
        )
    )
    previous = (tenant.get("status") or {}).get("conditions")
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": merge_conditions(previous, [summary, *conditions], generation, now_rfc3339()),
    }
    if refusal is None or refusal.reason not in ("NamespaceNotAllowed", "NamespaceConflict"):
        status["namespace"] = namespace
    used = ((quota or {}).get("status") or {}).get("used") or {}
    status["usage"] = {**usage, **{k: str(used[k]) for k in USAGE_KEYS if k in used}} if usage else {}
    if not status["usage"]:
        del status["usage"]
    return status


def _quota(live: Mapping[tuple[str, str, str, str], Body], namespace: str) -> Body | None:
    return live.get(("v1", "ResourceQuota", namespace, QUOTA_NAME))


def quota_grace(quota: Body | None, now: float) -> float:
    """Seconds still to wait before reporting a new quota that is not in force yet; 0: report now."""
    if quota is None or quota_in_force(quota):
        return 0.0
    created = _timestamp(quota)
    if not created:
        return 0.0
    return max(0.0, QUOTA_GRACE_SECONDS - (now - created))


def quota_in_force(quota: Body) -> bool:
    """Whether the quota controller has taken up every limit of the quota's spec and counted it.

    Until it has, quota admission refuses every object the quota counts ("status unknown for
    quota"): a tenant reports Ready only after that, so that a GitOps tool that waits for the
    tenant never meets the refusal. Admission needs both the limit (``status.hard``, the API
    server's canonical quantities on both sides) and its usage (``status.used``): a resource the
    quota controller did not know yet (a CRD installed less than its 30 s discovery period
    before) has the first without the second until its next full pass.
    """
    hard = (quota.get("spec") or {}).get("hard") or {}
    status = quota.get("status") or {}
    enforced, used = status.get("hard") or {}, status.get("used") or {}
    return all(enforced.get(resource) == value and resource in used for resource, value in hard.items())


async def finalize_tenant(ctx: Context, tenant: Body) -> None:
    """Retain: release the namespace and its policies. Delete: delete the namespace."""
    key = key_of(tenant)
    namespace = tenant_namespace(dict(tenant))
    policy = (tenant.get("spec") or {}).get("deletionPolicy", "Retain")
    owned = next((c for c in ctx.children(key) if c.get("kind") == "Namespace"), None)
    if policy == "Delete" and owned is not None:
        await ctx.client.delete(NAMESPACE, None, namespace)
        ctx.own.deleted(owned)
        ctx.logger(tenant).info(
            f"Deleted namespace {namespace} of WalletTenant {key.name} (deletionPolicy Delete)."
        )
    else:
        for child in ctx.children(key):
            await _release(ctx, child)
        ctx.logger(tenant).info(
            f"Released namespace {namespace} of WalletTenant {key.name} (deletionPolicy Retain)."
        )
    await remove_finalizer(ctx, tenant)


async def _release(ctx: Context, child: Body) -> None:
    """Drop the operator's ownership of a child so that nothing garbage-collects it."""
    meta = child["metadata"]
    patch = {
        "metadata": {
            "ownerReferences": None,
            "annotations": {"greenshift.io/owner": None},
            "labels": {"app.kubernetes.io/managed-by": None},
        }
    }
    ref = ref_of_kind(str(child["apiVersion"]), str(child["kind"]))
    await ctx.own.write(child, ctx.client.merge_patch(ref, meta.get("namespace"), meta["name"], patch))
