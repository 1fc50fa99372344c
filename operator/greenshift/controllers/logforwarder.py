"""Reconcile of the one shared log forwarder (docs/logging.md): a singleton with no resource of its own.

With ``logging.flavor: openshift-logging`` the operator keeps one ClusterLogForwarder,
``greenshift-tenants``, in the logging namespace (``logging.namespace``): rendered by
``render.logging`` from the tenants that hold their namespace, with the CA ConfigMap beside it,
applied server-side under the operator's one field manager like every child, and deleted (both)
when no tenant is left, since the CRD wants at least one pipeline. Its queue key
(``keys.log_forwarder_key``) is the owner its children name in their owner annotation: their
drift or deletion wakes it through the children's rule (``watches.owner``), a tenant that comes,
goes or changes what the forwarder says of it through ``watches.log_forwarder_of_tenant`` and
``watches.log_forwarder_of_namespace``, and every resync queues it.

No owner reference: the forwarder is shared by every tenant, so no tenant's deletion may
garbage-collect it. Switching logging off or moving ``logging.namespace`` leaves it where it is
(docs/logging.md says how to delete it).
"""

import logging

from greenshift.controllers.children import stamp, sync_children
from greenshift.controllers.context import Context
from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.lifecycle import RETRY_REFUSED_SECONDS, is_deleting
from greenshift.kube import PermanentApiError
from greenshift.render.logging import LoggedTenant, forwarder_entries, logged_tenant, render_log_forwarder
from greenshift.runtime.queue import Requeue

logger = logging.getLogger("greenshift")


async def reconcile_log_forwarder(ctx: Context, key: ObjectKey) -> Requeue | None:
    holder = ctx.namespace_tenant(key.namespace)
    if holder:
        # Never: the logging namespace is reserved (no tenant is given it); but a tenant that had it
        # before logging was configured still holds it, and its owners' rights there.
        logger.error(
            "Wrote no log forwarder: namespace %s is WalletTenant %s's; set logging.namespace to a "
            "namespace of the platform's.",
            key.namespace,
            holder,
        )
        return None
    tenants = logged_tenants(ctx)
    desired = [stamp(obj, key) for obj in render_log_forwarder(tenants, ctx.config)]
    live = ctx.own.children(key, ctx.view.children_of(key))
    try:
        result = await sync_children(ctx.client, desired, live, ctx.own)
    except PermanentApiError as exc:
        logger.error("The API server refused the log forwarder %s: %s.", key, exc)
        return Requeue(str(exc), RETRY_REFUSED_SECONDS, error=exc)
    left_out = sorted(set(tenants) - {tenant for _, tenant in forwarder_entries(tenants)})
    if left_out:
        names = ", ".join(tenant.name for tenant in left_out)
        logger.error("Left out of the log forwarder (their entry names collide with another's): %s.", names)
    if result.applied or result.pruned:
        kinds = sorted({obj["kind"] for obj in result.applied})
        logger.info(
            "Applied %d children (%s) and pruned %d of %s, for %d tenants.",
            len(result.applied),
            ", ".join(kinds) or "none",
            len(result.pruned),
            key,
            len(tenants) - len(left_out),
        )
    return None


def logged_tenants(ctx: Context) -> list[LoggedTenant]:
    """The tenants whose logs the forwarder ships: those not being deleted whose namespace is the
    one the operator made for them (labelled with their name). A tenant refused its namespace (a
    reserved one, another tenant's, one the operator did not make) ships nothing of it."""
    found = []
    for body in ctx.tenants():
        if is_deleting(body):
            continue
        tenant = logged_tenant(body)
        if ctx.namespace_tenant(tenant.namespace) == tenant.name:
            found.append(tenant)
    return found
