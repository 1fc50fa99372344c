"""Every wake rule of the operator, in one table: what a change of each watched kind reconciles.

Each rule is a map function from a change (old and new object) to resource keys
(``runtime.watches``). The custom resources wake themselves, unless the change only echoes
the operator's own write; the other rules follow the facts one resource reads of another.
"""

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from greenshift.constants import KIND_ROUTE, KIND_SOURCE, KIND_TENANT, TENANT_LABEL
from greenshift.controllers.context import Context
from greenshift.controllers.indexes import route_claim
from greenshift.controllers.keys import ObjectKey, key_of, log_forwarder_key, owner_of
from greenshift.controllers.tenant import deployment_starting, quota_in_force
from greenshift.naming import tenant_namespace
from greenshift.render.logging import LoggedTenant, logged_tenant
from greenshift.runtime.store import Change
from greenshift.runtime.watches import Rule

Body = Mapping[str, Any]
Keys = Iterable[ObjectKey]
USAGE_DELAY_SECONDS = 5.0
"""A tenant's usage follows within seconds what changes it: a source or route that comes or goes,
and the quota controller's count of what runs (``status.used``, which moves Pod by Pod as
connectors start). One delay for both, the earliest pending wake winning, gathers a GitOps sync
that applies several resources and the Pods they start into one status write, not one per
resource and per Pod."""
LOG_FORWARDER_DELAY_SECONDS = 2.0
"""The shared log forwarder holds every tenant: one delay gathers a burst of tenants (a GitOps
sync onboarding many, each tenant's Namespace that follows) into one write of it, not one per
tenant. Its drift is repaired at once (``owner``)."""


def unseen(body: Body) -> bool:
    """Whether the object holds something no reconcile has seen, even in the echo of the
    operator's own write: a watch that is lost and re-listed delivers only each object's latest
    state, so a spec change (or a deletion) that the operator's status write followed can
    arrive as that write's echo alone; the status the operator wrote then observed an older
    generation."""
    meta = body.get("metadata", {})
    observed = (body.get("status") or {}).get("observedGeneration")
    return bool(meta.get("deletionTimestamp")) or (
        observed is not None and observed != meta.get("generation")
    )


def itself(ctx: Context, change: Change) -> Keys:
    """A custom resource's change reconciles it, unless it only echoes the operator's write."""
    if change.new is None or (change.echo and not unseen(change.new)):
        return []
    return [key_of(change.new)]


def _generation(body: Body | None) -> Any:
    return None if body is None else body["metadata"].get("generation")


def tenant_dependents(ctx: Context, change: Change) -> Keys:
    """A tenant created, changed (a new generation) or deleted: the sources and routes of its namespace."""
    old = change.old
    if change.new is not None and old is not None and _generation(old) == _generation(change.new):
        return []
    namespaces = {tenant_namespace(dict(b)) for b in (old, change.new) if b is not None}
    return [key for namespace in sorted(namespaces) for key in ctx.dependents(namespace)]


def tenant_usage(ctx: Context, change: Change) -> Keys:
    """A source or route that came or went: its tenant counts it (``USAGE_DELAY_SECONDS``)."""
    if change.new is not None and change.packed_old is not None:
        return []
    tenant = ctx.tenant_for_namespace(str(change.body["metadata"]["namespace"]))
    return [key_of(tenant)] if tenant is not None else []


def routes_to_source(ctx: Context, change: Change) -> Keys:
    """A source came, went, or observed a new generation (its first reconcile of a spec, which its
    routes wait for: ``gatewayroute.backend_pending``): the routes to it."""
    old, new = change.old, change.new
    observed = [None if b is None else (b.get("status") or {}).get("observedGeneration") for b in (old, new)]
    if old is not None and new is not None and observed[0] == observed[1]:
        return []
    meta = change.body["metadata"]
    return ctx.routes_to_service(str(meta["namespace"]), str(meta["name"]))


def other_claimants(ctx: Context, change: Change) -> Keys:
    """A route that claims a host+path or lets it go (an edit, a deletion; or first sight, after a
    restart too): the other routes on that host, the next of which may take it, or an older
    one that this route must give it up to (paths collide when nested, so any on the host)."""
    before = change.old
    old = route_claim(before) if before is not None else None
    new = route_claim(change.new) if change.new is not None else None
    if change.new is not None and change.packed_old is not None and old == new:
        return []
    key = key_of(change.body)
    hosts = {claim[0] for claim in (old, new) if claim is not None}
    return [
        other_key
        for host in sorted(hosts)
        for other in ctx.routes_on_host(host)
        if (other_key := key_of(other)) != key
    ]


def routes_to_service(ctx: Context, change: Change) -> Keys:
    """Any change of a Service: the routes pointing at it."""
    meta = change.body["metadata"]
    return ctx.routes_to_service(str(meta["namespace"]), str(meta["name"]))


def owner(ctx: Context, change: Change) -> Keys:
    """A child's change wakes its owner, unless it only echoes the operator's write of it (or only
    moves a quota's usage: ``quota_usage``). A child that loses the managed-by label leaves the
    watch's selection as a deletion: its owner is woken and takes it back."""
    found = owner_of(change.body)
    return [] if found is None or change.echo or _usage_only(change) else [found]


def quota_usage(ctx: Context, change: Change) -> Keys:
    """A quota in force whose usage moved: its tenant reports it (``USAGE_DELAY_SECONDS``)."""
    found = owner_of(change.body)
    return [found] if found is not None and not change.echo and _usage_only(change) else []


def tenant_of_started_connector(ctx: Context, change: Change) -> Keys:
    """A connector's Deployment that stops starting (its Pods created or refused, or none to
    create): its tenant reports the usage it waited for (``tenant.connectors_starting``). Pods
    created move the quota too; Pods refused and an empty Deployment move nothing else."""
    new, old = change.new, change.old
    if change.body.get("kind") != "Deployment" or new is None or deployment_starting(new):
        return []
    if old is not None and not deployment_starting(old):
        return []
    tenant = ctx.tenant_for_namespace(str(new["metadata"].get("namespace") or ""))
    return [key_of(tenant)] if tenant is not None else []


def _usage_only(change: Change) -> bool:
    """Whether the change is the quota controller counting: a quota in force before and after,
    with nothing but ``status.used`` different."""
    if change.body.get("kind") != "ResourceQuota" or change.new is None or change.packed_old is None:
        return False
    old, new = change.old, change.new
    assert old is not None
    if not (quota_in_force(old) and quota_in_force(new)):
        return False
    return _without_usage(old) == _without_usage(new)


def _without_usage(quota: Body) -> Body:
    meta = quota.get("metadata") or {}
    kept = {k: meta.get(k) for k in ("labels", "annotations", "ownerReferences", "deletionTimestamp")}
    return {**quota, "metadata": kept, "status": (quota.get("status") or {}).get("hard")}


def _logged(body: Body | None) -> LoggedTenant | None:
    """What the shared log forwarder says of a tenant; None for none (absent or being deleted)."""
    if body is None or body["metadata"].get("deletionTimestamp"):
        return None
    return logged_tenant(body)


def log_forwarder_of_tenant(ctx: Context, change: Change) -> Keys:
    """A tenant that came, went (or is being deleted), or whose agency, tier or namespace changed:
    the shared log forwarder (``LOG_FORWARDER_DELAY_SECONDS``)."""
    key = log_forwarder_key(ctx.config)
    if key is None or _logged(change.new) == _logged(change.old):
        return []
    return [key]


def _tenant_label(body: Body | None) -> str | None:
    return None if body is None else (body["metadata"].get("labels") or {}).get(TENANT_LABEL)


def log_forwarder_of_namespace(ctx: Context, change: Change) -> Keys:
    """A Namespace that became a tenant's (the operator made it: only then are its logs shipped),
    stopped being one, or went: the shared log forwarder (``LOG_FORWARDER_DELAY_SECONDS``). Even
    the echo of the operator's own write: the tenant's reconcile made it, not the forwarder's."""
    key = log_forwarder_key(ctx.config)
    if key is None or _tenant_label(change.new) == _tenant_label(change.old):
        return []
    return [key]


def resource_rules(ctx: Context) -> dict[str, list[Rule[ObjectKey]]]:
    """The rules of the custom resources' changes, by kind."""
    usage = Rule(partial(tenant_usage, ctx), USAGE_DELAY_SECONDS)
    tenant = [Rule(partial(itself, ctx)), Rule(partial(tenant_dependents, ctx))]
    if log_forwarder_key(ctx.config) is not None:
        tenant.append(Rule(partial(log_forwarder_of_tenant, ctx), LOG_FORWARDER_DELAY_SECONDS))
    return {
        KIND_TENANT: tenant,
        KIND_SOURCE: [Rule(partial(itself, ctx)), usage, Rule(partial(routes_to_source, ctx))],
        KIND_ROUTE: [Rule(partial(itself, ctx)), usage, Rule(partial(other_claimants, ctx))],
    }


def service_rules(ctx: Context) -> list[Rule[ObjectKey]]:
    return [Rule(partial(routes_to_service, ctx)), Rule(partial(owner, ctx))]


def child_rules(ctx: Context) -> list[Rule[ObjectKey]]:
    """Every child kind but Services (and Namespaces, which add a rule: ``namespace_rules``). The
    shared log forwarder and its CA ConfigMap wake it through ``owner`` too: they name it."""
    return [
        Rule(partial(owner, ctx)),
        Rule(partial(quota_usage, ctx), USAGE_DELAY_SECONDS),
        Rule(partial(tenant_of_started_connector, ctx), USAGE_DELAY_SECONDS),
    ]


def namespace_rules(ctx: Context) -> list[Rule[ObjectKey]]:
    """Namespaces: children (their tenant's), and with logging, what the shared forwarder ships."""
    rules = child_rules(ctx)
    if log_forwarder_key(ctx.config) is not None:
        rules.append(Rule(partial(log_forwarder_of_namespace, ctx), LOG_FORWARDER_DELAY_SECONDS))
    return rules
