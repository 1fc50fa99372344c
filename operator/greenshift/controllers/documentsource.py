"""Reconcile of a DocumentSource: config, connector Deployment, Service, cache, HPA, PDB, monitor."""

from collections.abc import Mapping
from typing import Any

from greenshift.controllers.conditions import Condition, merge_conditions, now_rfc3339
from greenshift.controllers.context import Context
from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.lifecycle import (
    apply_children,
    is_deleting,
    newest_child,
    remove_finalizer,
    write_status,
)
from greenshift.controllers.render_cache import fingerprint
from greenshift.controllers.rules import source_problems
from greenshift.render.documentsource import render_document_source
from greenshift.runtime.queue import Requeue

Body = Mapping[str, Any]


async def reconcile_document_source(ctx: Context, key: ObjectKey) -> Requeue | None:
    source = ctx.body(key)
    if source is None:
        return None
    await remove_finalizer(ctx, source)  # garbage collection does it all: none is needed
    if is_deleting(source):
        return None
    return await _reconcile(ctx, key, source)


async def _reconcile(ctx: Context, key: ObjectKey, source: Body) -> Requeue | None:
    tenant = ctx.tenant_for_namespace(key.namespace)
    if tenant is None:
        blocked = Condition(
            "Available",
            "False",
            "NoTenant",
            f"Namespace {key.namespace} belongs to no WalletTenant; nothing is deployed.",
        )
        await write_status(ctx, source, source_status(source, None, blocked=blocked))
        return None
    problems = source_problems(source, ctx.config)
    if problems:
        first = problems[0]
        blocked = Condition("Available", "Unknown", first.reason, "; ".join(map(str, problems)))
        await write_status(
            ctx, source, source_status(source, connector_deployment(ctx.children(key)), blocked=blocked)
        )
        return None
    desired = ctx.desired(
        key,
        fingerprint(source, tenant),
        lambda: render_document_source(dict(source), dict(tenant), ctx.config, defaulted=True),
    )
    result = await apply_children(
        ctx,
        source,
        desired,
        "Available",
        lambda failed: source_status(source, connector_deployment(ctx.children(key)), blocked=failed),
    )
    if isinstance(result, Requeue):
        return result
    applied = connector_deployment(result.live.values())
    deployment = None if applied is None else newest_child(ctx, key, applied)
    suspended = bool((tenant.get("spec") or {}).get("suspended"))
    await write_status(ctx, source, source_status(source, deployment, suspended=suspended))
    return None


def connector_deployment(children: Any) -> Body | None:
    """The connector Deployment among a source's children, None before it exists."""
    return next((c for c in children if c.get("kind") == "Deployment"), None)


def source_status(
    source: Body, deployment: Body | None, *, blocked: Condition | None = None, suspended: bool = False
) -> dict[str, Any]:
    """The source's status from its Deployment (pure)."""
    meta = source["metadata"]
    generation = int(meta.get("generation") or 0)
    dep_status = (deployment or {}).get("status") or {}
    ready_replicas = int(dep_status.get("readyReplicas") or 0)
    if blocked is not None:
        available = blocked
        progressing = Condition("Progressing", "False", blocked.reason, blocked.message)
    elif suspended:
        available = Condition(
            "Available", "False", "Suspended", "The tenant is suspended: scaled to 0, data kept."
        )
        progressing = Condition("Progressing", "False", "Suspended", "Nothing to roll out while suspended.")
    else:
        available, progressing = _rollout(deployment)
    if blocked is not None:
        ready = Condition("Ready", "False", blocked.reason, blocked.message)
    elif suspended:
        ready = Condition("Ready", "True", "Suspended", "The tenant is suspended: scaled to 0, data kept.")
    elif available.status == "True" and progressing.status == "False":
        ready = Condition("Ready", "True", "Ready", f"{ready_replicas} connector replicas are ready.")
    elif available.status != "True":
        ready = Condition("Ready", "False", available.reason, available.message)
    else:
        ready = Condition("Ready", "False", progressing.reason, progressing.message)
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": merge_conditions(
            (source.get("status") or {}).get("conditions"),
            [ready, available, progressing],
            generation,
            now_rfc3339(),
        ),
        "readyReplicas": ready_replicas,
    }
    if deployment is not None and blocked is None:
        status["endpoint"] = f"http://{meta['name']}.{meta['namespace']}.svc.cluster.local"
    return status


def _rollout(deployment: Body | None) -> tuple[Condition, Condition]:
    if deployment is None:
        return (
            Condition(
                "Available", "False", "DeploymentMissing", "The connector Deployment is being created."
            ),
            Condition("Progressing", "True", "Creating", "The connector Deployment is being created."),
        )
    status = deployment.get("status") or {}
    by_type = {c.get("type"): c for c in status.get("conditions") or []}
    avail = by_type.get("Available")
    if avail and avail.get("status") == "True":
        available = Condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            f"{status.get('availableReplicas', 0)} replicas are available.",
        )
    else:
        available = Condition(
            "Available",
            "False",
            str((avail or {}).get("reason") or "ReplicasUnavailable"),
            str((avail or {}).get("message") or "The connector has no available replicas yet."),
        )
    wanted = (deployment.get("spec") or {}).get("replicas", status.get("replicas", 0))
    done = (
        int(status.get("observedGeneration") or 0) >= int(deployment["metadata"].get("generation") or 0)
        and int(status.get("updatedReplicas") or 0) >= int(wanted or 0)
        and int(status.get("readyReplicas") or 0) >= int(wanted or 0)
    )
    progressing = (
        Condition("Progressing", "False", "RolloutComplete", "The latest connector version is rolled out.")
        if done
        else Condition(
            "Progressing",
            "True",
            "RolloutInProgress",
            f"{status.get('updatedReplicas', 0)} of {wanted} replicas run the latest version.",
        )
    )
    return available, progressing
