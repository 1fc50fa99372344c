"""Writes on the custom resources themselves: the finalizer and the status."""

from collections.abc import Callable, Mapping
from typing import Any

from greenshift.constants import FINALIZER
from greenshift.controllers.children import sync_children
from greenshift.controllers.conditions import Condition
from greenshift.controllers.context import Context
from greenshift.controllers.keys import ObjectKey, key_of
from greenshift.kube import PermanentApiError, ref_for
from greenshift.runtime.apply import SyncResult
from greenshift.runtime.own_writes import identity_of
from greenshift.runtime.queue import Requeue
from greenshift.runtime.store import version_of

Body = Mapping[str, Any]


def newest_child(ctx: Context, owner: ObjectKey, applied: Body) -> Body:
    """A child as applied, or as watched if the watch already has a newer state of it (a
    controller's status, e.g. the Deployment's or the ResourceQuota's, often arrives with the
    answer to the apply)."""
    watched = ctx.child(owner, identity_of(applied))
    return watched if watched is not None and version_of(watched) > version_of(applied) else applied


def is_deleting(body: Body) -> bool:
    return bool(body.get("metadata", {}).get("deletionTimestamp"))


async def ensure_finalizer(ctx: Context, body: Body) -> None:
    """Add the finalizer (WalletTenants only: their deletion policy needs the operator)."""
    meta = body["metadata"]
    finalizers = list(meta.get("finalizers") or [])
    if FINALIZER in finalizers:
        return
    patch = {
        "metadata": {"finalizers": [*finalizers, FINALIZER], "resourceVersion": meta.get("resourceVersion")}
    }
    await ctx.own.write(
        body, ctx.client.merge_patch(ref_for(dict(body)), meta.get("namespace"), meta["name"], patch)
    )


async def remove_finalizer(ctx: Context, body: Body) -> None:
    """Remove the finalizer if the resource has it (also one an earlier version put on any kind)."""
    meta = body["metadata"]
    finalizers = list(meta.get("finalizers") or [])
    if FINALIZER not in finalizers:
        return
    remaining = [f for f in finalizers if f != FINALIZER]
    patch = {"metadata": {"finalizers": remaining, "resourceVersion": meta.get("resourceVersion")}}
    try:
        await ctx.own.write(
            body, ctx.client.merge_patch(ref_for(dict(body)), meta.get("namespace"), meta["name"], patch)
        )
    except PermanentApiError as exc:
        if exc.status != 404:  # already gone: a previous reconcile released it
            raise


async def write_status(ctx: Context, body: Body, status: dict[str, Any]) -> bool:
    """Write the whole status once, only if it differs; keys no longer present are removed.

    Without a finalizer a resource can go while its reconcile runs: then nothing is written.
    """
    current = dict(body.get("status") or {})
    if current == status:
        return False
    patch = {"status": {**dict.fromkeys(current), **status}}
    meta = body["metadata"]
    write = ctx.client.merge_patch(
        ref_for(dict(body)), meta.get("namespace"), meta["name"], patch, subresource="status"
    )
    try:
        await ctx.own.write(body, write)
    except PermanentApiError as exc:
        if exc.status == 404:  # deleted meanwhile (nothing holds it any more): its DELETED event follows
            return False
        raise
    return True


def report_sync(ctx: Context, body: Body, result: SyncResult) -> None:
    """Log when children were applied or pruned (never for a no-op); post an Event unless first.

    A resource's first children (on creation, or once a route's backend appears) are the
    expected outcome of creating it, which its status records; an Event is posted when
    children it already had change: a spec change, a repaired drift, a prune. (At a thousand
    tenants, Events on creation were a tenth of all the operator's writes.)
    """
    if not (result.applied or result.pruned):
        return
    key = key_of(body)
    kinds = sorted({obj["kind"] for obj in result.applied})
    message = (
        f"Applied {len(result.applied)} children ({', '.join(kinds) or 'none'}) and pruned "
        f"{len(result.pruned)} of {key}."
    )
    ctx.logger(body).info(message)
    if result.existing:
        ctx.events.post(body, "Applied", message)


RETRY_REFUSED_SECONDS = 60.0


async def apply_children(
    ctx: Context,
    body: Body,
    desired: list[dict[str, Any]],
    condition_type: str,
    refused_status: Callable[[Condition], dict[str, Any]],
) -> SyncResult | Requeue:
    """Sync the children of ``body``; when the server refuses one, show why and retry slowly.

    A refused child (e.g. a kind the cluster lacks) is reported as ``condition_type`` False with
    reason ``ApplyFailed``, through the kind's own status function; the ``Requeue`` returned
    then, for the reconcile to return, retries in a minute.
    """
    key = key_of(body)
    try:
        result = await sync_children(ctx.client, desired, ctx.children(key), ctx.own)
    except PermanentApiError as exc:
        failed = Condition(condition_type, "False", "ApplyFailed", f"The API server refused a child: {exc}")
        await write_status(ctx, body, refused_status(failed))
        return Requeue(str(exc), RETRY_REFUSED_SECONDS, error=exc)
    report_sync(ctx, body, result)
    return result
