"""Writes on the custom resources themselves: the finalizer and the status."""

from collections.abc import Mapping
from typing import Any

from greenshift.constants import FINALIZER
from greenshift.controllers.context import Context
from greenshift.controllers.keys import key_of
from greenshift.kube import ref_for

Body = Mapping[str, Any]


def is_deleting(body: Body) -> bool:
    return bool(body.get("metadata", {}).get("deletionTimestamp"))


async def ensure_finalizer(ctx: Context, body: Body) -> None:
    meta = body["metadata"]
    finalizers = list(meta.get("finalizers") or [])
    if FINALIZER in finalizers:
        return
    patch = {"metadata": {"finalizers": [*finalizers, FINALIZER], "resourceVersion": meta.get("resourceVersion")}}
    await ctx.client.merge_patch(ref_for(dict(body)), meta.get("namespace"), meta["name"], patch)


async def remove_finalizer(ctx: Context, body: Body) -> None:
    meta = body["metadata"]
    finalizers = list(meta.get("finalizers") or [])
    if FINALIZER not in finalizers:
        return
    remaining = [f for f in finalizers if f != FINALIZER]
    patch = {"metadata": {"finalizers": remaining, "resourceVersion": meta.get("resourceVersion")}}
    await ctx.client.merge_patch(ref_for(dict(body)), meta.get("namespace"), meta["name"], patch)


async def write_status(ctx: Context, body: Body, status: dict[str, Any]) -> bool:
    """Write the whole status once, only if it differs; keys no longer present are removed."""
    current = dict(body.get("status") or {})
    if current == status:
        return False
    patch = {"status": {**dict.fromkeys(current), **status}}
    meta = body["metadata"]
    result = await ctx.client.merge_patch(
        ref_for(dict(body)), meta.get("namespace"), meta["name"], patch, subresource="status"
    )
    version = result.get("metadata", {}).get("resourceVersion")
    if version:
        ctx.own_versions[key_of(body)] = str(version)
    return True
