"""What feeds the reconcilers: the informers' events, the indexes, the queue's lifecycle.

kopf runs the process (login, start-up and clean-up, the liveness probe, the admission
webhook); the operator watches what it reads with its own informers (``informer``): kopf's
per-object workers and handler rounds cost about a quarter of its CPU at a thousand tenants,
and its create/update handlers would persist progress and a diff base in the objects. Every
event of a custom resource, of one of its children (found by the managed-by label) or of a
Service a route points to queues the affected resource in a level-based work queue; a
periodic resync queues them all as a safety net, and writes nothing where nothing changed.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf

from greenshift.config import PlatformConfig
from greenshift.constants import KIND_ROUTE, KIND_SOURCE, KIND_TENANT
from greenshift.controllers import indexes
from greenshift.controllers.child_cache import ChildCache
from greenshift.controllers.child_watch import ChildWatcher
from greenshift.controllers.context import Context
from greenshift.controllers.documentsource import reconcile_document_source
from greenshift.controllers.events import EventPoster
from greenshift.controllers.fact_index import FactIndex
from greenshift.controllers.gatewayroute import reconcile_gateway_route
from greenshift.controllers.indexed_watch import NAMESPACES, SERVICES, IndexedWatcher
from greenshift.controllers.informer import Informer
from greenshift.controllers.keys import ObjectKey, key_of, owner_of
from greenshift.controllers.resource_watch import ResourceWatcher
from greenshift.controllers.tenant import reconcile_tenant
from greenshift.kube import ApiError, KubeClient, ResourceRef, TemporaryApiError, ref_of_kind
from greenshift.leader import LeaderElection, LeaseOptions
from greenshift.metrics import ClusterState, OperatorMetrics, state_from_indices
from greenshift.naming import tenant_namespace
from greenshift.runtime.queue import Requeue, WorkQueue
from greenshift.web import WebServer, create_app

Body = Mapping[str, Any]

logger = logging.getLogger("greenshift")

TENANTS = ref_of_kind("greenshift.io/v1alpha1", KIND_TENANT)
SOURCES = ref_of_kind("greenshift.io/v1alpha1", KIND_SOURCE)
ROUTES = ref_of_kind("greenshift.io/v1alpha1", KIND_ROUTE)
PROBE_TIMEOUT_SECONDS = 5.0

RECONCILERS: dict[str, Callable[[Context, ObjectKey], Awaitable[None]]] = {
    KIND_TENANT: reconcile_tenant,
    KIND_SOURCE: reconcile_document_source,
    KIND_ROUTE: reconcile_gateway_route,
}


def child_resources(config: PlatformConfig) -> list[ResourceRef]:
    """The child kinds this platform's configuration can produce, hence those to watch."""
    kinds = [
        ("v1", "Namespace"),
        ("v1", "ResourceQuota"),
        ("v1", "LimitRange"),
        ("v1", "ConfigMap"),
        ("v1", "PersistentVolumeClaim"),
        ("apps/v1", "Deployment"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("policy/v1", "PodDisruptionBudget"),
    ]
    flavor = {
        "ingress": ("networking.k8s.io/v1", "Ingress"),
        "gateway-api": ("gateway.networking.k8s.io/v1", "HTTPRoute"),
        "openshift-route": ("route.openshift.io/v1", "Route"),
    }
    kinds.append(flavor[config.gateway.flavor])
    if config.monitoring.prometheusOperator:
        kinds.append(("monitoring.coreos.com/v1", "ServiceMonitor"))
        kinds.append(("monitoring.coreos.com/v1", "PrometheusRule"))  # the tenants' analytics
    if config.certificates.certManager:
        kinds.append(("cert-manager.io/v1", "Certificate"))
    return [ref_of_kind(api, kind) for api, kind in kinds]


@dataclass
class Runtime:
    """The operator's mutable state, built when kopf starts (inside its event loop)."""

    config: PlatformConfig
    connection: kopf.ConnectionInfo
    workers: int = 16
    resync_seconds: float = 600.0
    context: Context | None = None
    http_host: str = "0.0.0.0"  # noqa: S104 - the pod's catalog and metrics port (docs/metrics.md)
    http_port: int | None = None  # None: no HTTP server; 0: any free port
    watch_timeout: float = 300.0
    metrics: OperatorMetrics = field(init=False, repr=False)
    namespaces: tuple[str, ...] = ()  # where sources, routes and Services are watched; () for all
    watcher: ChildWatcher | None = field(default=None, repr=False)
    resources: ResourceWatcher | None = field(default=None, repr=False)
    services: IndexedWatcher | None = field(default=None, repr=False)
    namespace_watch: IndexedWatcher | None = field(default=None, repr=False)
    facts: FactIndex = field(default_factory=FactIndex, repr=False)
    loaded: bool = field(default=False, repr=False)
    """Whether the start-up LISTs have filled the indexes (the webhook answers only then)."""
    lease: LeaseOptions | None = None
    """Reconcile only while holding this Lease (``--leader-election``); None: always (standalone)."""
    web: WebServer | None = field(default=None, repr=False)
    _resync: asyncio.Task[None] | None = field(default=None, repr=False)
    _election: LeaderElection | None = field(default=None, repr=False)
    _electing: asyncio.Task[None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.metrics = OperatorMetrics(self.state, lambda: self.leading)

    def state(self) -> ClusterState | None:
        """What the indexes hold now (for the HTTP server and metrics); None before start."""
        if self.context is None:
            return None
        return state_from_indices(self.context.indices, self.context.child_cache.all())

    async def start(self, settings: kopf.OperatorSettings) -> None:
        queue: WorkQueue[ObjectKey] = WorkQueue(self._reconcile, workers=self.workers)
        client = KubeClient(self.connection)
        namespaces: list[str | None] = list(self.namespaces) or [None]
        child_cache = ChildCache()
        self.services = IndexedWatcher(
            client,
            SERVICES,
            namespaces,
            indexes.services,
            child_cache,
            lambda body, kind: _on_service_event(self, body, kind),
            lambda keys: _wake_services(self, keys),
            timeout_seconds=self.watch_timeout,
        )
        self.namespace_watch = IndexedWatcher(
            client,
            NAMESPACES,
            [None],  # cluster-scoped
            indexes.namespaces,
            child_cache,
            lambda body, kind: _child_changed(ctx, body, kind),
            lambda _: _wake_all(ctx, ctx.child_cache.owners_of_kind(NAMESPACES.api_version, NAMESPACES.kind)),
            timeout_seconds=self.watch_timeout,
        )
        self.context = Context(
            client=client,
            config=self.config,
            settings=settings,
            queue=queue,
            indices={
                indexes.INDEX: self.facts,
                "services": self.services.index,
                "namespaces": self.namespace_watch.index,
            },
            events=EventPoster(client),
            child_cache=child_cache,
            replay=lambda body, kind: _on_resource_event(self, body, kind),
        )
        ctx = self.context
        self.resources = ResourceWatcher(
            client,
            [(TENANTS, None)] + [(ref, ns) for ref in (SOURCES, ROUTES) for ns in namespaces],
            self.facts,
            lambda body, kind: _on_resource_event(self, body, kind),
            lambda keys: _wake_all(ctx, keys),
            timeout_seconds=self.watch_timeout,
        )
        self.watcher = ChildWatcher(
            client,
            [ref for ref in child_resources(self.config) if ref != NAMESPACES],  # all are watched above
            ctx.child_cache,
            lambda body, kind: _child_changed(ctx, body, kind),
            lambda owners: _wake_all(ctx, owners),
            timeout_seconds=self.watch_timeout,
        )
        await self.relist()
        self.loaded = True
        for informer in self._informers():
            informer.start()
        if self.http_port is not None:
            self.web = WebServer(create_app(self.state, self.metrics), self.http_host, self.http_port)
            await self.web.start()
        if self.lease is None:
            await self._lead()
        else:
            self._election = self.lease.election(client)
            self._electing = asyncio.create_task(
                self._election.run(self._lead, self._follow), name="greenshift-leader-election"
            )

    async def _lead(self) -> None:
        """Reconcile: every resource once (as a watch's initial listing would), then as events come.

        A replica that does not lead keeps its informers current (its webhook, catalog and
        metrics answer from them) and queues keys, but reconciles nothing.
        """
        assert self.context is not None
        self.resync()
        self.context.queue.start()
        self._resync = asyncio.create_task(self._resync_loop(), name="greenshift-resync")

    async def _follow(self) -> None:
        """Stop reconciling (the Lease is lost, or the operator stops)."""
        if self._resync is not None:
            self._resync.cancel()
            await asyncio.gather(self._resync, return_exceptions=True)
            self._resync = None
        if self.context is not None:
            await self.context.queue.stop()

    @property
    def leading(self) -> bool:
        """Whether this operator reconciles: standalone, or holding its Lease."""
        if self._election is not None:
            return self._election.is_leader
        return self.loaded and self.lease is None

    def _informers(self) -> list[Informer]:
        informers = (self.resources, self.services, self.namespace_watch, self.watcher)
        return [i for i in informers if i is not None]

    async def stop(self) -> None:
        if self.web is not None:
            await self.web.stop()
        if self._electing is not None and self._election is not None:
            self._electing.cancel()  # stops reconciling (``_follow``) if it led
            await asyncio.gather(self._electing, return_exceptions=True)
            await self._election.release()  # another replica takes over at once
        else:
            await self._follow()
        for informer in self._informers():
            await informer.stop()
        if self.context is not None:
            await self.context.events.close()
            await self.context.client.close()

    async def _reconcile(self, key: ObjectKey) -> None:
        assert self.context is not None
        with self.metrics.reconciling(key.kind):
            try:
                await RECONCILERS[key.kind](self.context, key)
            except TemporaryApiError as exc:
                logger.info("Deferred %s after a temporary API error: %s.", key, exc)
                # The server's Retry-After holds the key: an event meanwhile must not retry it early.
                raise Requeue(str(exc), exc.retry_after, hold=True) from None

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resync_seconds)
            assert self.context is not None
            if len(self.context.queue):
                continue  # still busy with the last pass or with changes: no safety net needed now
            try:
                await self.relist()
            except ApiError as exc:
                logger.warning("Deferred the resync: a listing failed: %s.", exc)
                continue
            self.resync()

    async def relist(self) -> None:
        """One LIST per watched kind (the custom resources first): seeds the fact index and the
        caches at start-up, before anything reads them; at a resync, heals what a missed event
        left behind (a resource gone unseen is handled as deleted)."""
        for informer in self._informers():
            await informer.relist_all()

    def resync(self) -> None:
        """Queue every known custom resource (the safety-net timer)."""
        assert self.context is not None
        for key in self.context.resource_keys():
            self.context.queue.add(key)


def build_registry(runtime: Runtime) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return runtime.connection

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **kwargs: Any) -> None:
        await runtime.start(settings)

    @kopf.on.cleanup(registry=registry)
    async def shutdown(**_: Any) -> None:
        await runtime.stop()

    @kopf.on.probe(registry=registry, id="watch")
    async def can_watch(**_: Any) -> str:
        """The liveness endpoint fails (HTTP 500) while the API server refuses or cannot serve watches."""
        async with KubeClient(runtime.connection, timeout=PROBE_TIMEOUT_SECONDS) as client:
            try:
                await client.open_watch(TENANTS, seconds=PROBE_TIMEOUT_SECONDS)
            except ApiError as exc:
                raise kopf.PermanentError(f"Cannot watch {TENANTS.plural}: {exc}") from None
        return "ok"

    return registry


WATCH_TIMEOUT_SECONDS = 300.0


def configure_settings(
    settings: kopf.OperatorSettings, config: PlatformConfig, *, watch_timeout: float = WATCH_TIMEOUT_SECONDS
) -> None:
    """kopf's settings; ``watch_timeout`` is the server-side timeout of each watch request.

    The client gives up on a watch 10% (at least 1 s) later, so a connection that silently
    stalls is replaced after that long and resumes from the last resourceVersion seen.
    """
    settings.posting.level = logging.INFO
    settings.posting.reporting_component = "greenshift-operator"
    settings.watching.server_timeout = int(watch_timeout)  # the API server refuses "300.0"
    settings.watching.client_timeout = watch_timeout + max(1.0, watch_timeout / 10)
    settings.networking.enforce_retry_after = True


def _on_resource_event(runtime: Runtime, body: Body, kind: str) -> None:
    """A custom resource's watch event: the facts, then who must reconcile."""
    ctx = runtime.context
    assert ctx is not None
    key = key_of(body)
    meta = body.get("metadata", {})
    namespace = key.namespace or tenant_namespace(dict(body))
    if kind == "DELETED":
        runtime.facts.remove(body)
        ctx.own_versions.pop(key, None)
        ctx.claims.pop(key, None)
        ctx.recent.forget(body)
        if key.kind == KIND_TENANT:
            ctx.tenant_generations.pop(key.name, None)
            _wake_namespace(ctx, namespace)
        else:
            _wake_tenant(ctx, key.namespace)
        if key.kind == KIND_ROUTE:
            spec = body.get("spec") or {}
            for _created, ns, name in ctx.route_claims(str(spec.get("host")), str(spec.get("pathPrefix"))):
                ctx.queue.add(ObjectKey(KIND_ROUTE, ns, name))
        return
    runtime.facts.update(body)
    held = ctx.writing.get(key)
    if held is not None:  # the operator is writing it: handled once the answer is known
        held.append((body, kind))
        return
    if is_echo(ctx, key, body):
        return
    ctx.queue.add(key)
    if key.kind == KIND_TENANT:
        generation = int(meta.get("generation") or 0)
        if ctx.tenant_generations.get(key.name) != generation:
            ctx.tenant_generations[key.name] = generation
            _wake_namespace(ctx, namespace)
    elif kind == "ADDED":
        _wake_tenant(ctx, key.namespace)


def is_echo(ctx: Context, key: ObjectKey, body: Mapping[str, Any]) -> bool:
    """Whether this event of a custom resource only reports the operator's own write.

    Not when the object holds something no reconcile has seen: a watch that is lost and
    re-listed delivers only each object's latest state, so a spec change (or a deletion) that
    the operator's status write followed can arrive as that write's echo alone; the status the
    operator wrote then observed an older generation.
    """
    meta = body.get("metadata", {})
    own = _is_own_write(ctx, key, str(meta.get("resourceVersion")))
    observed = (body.get("status") or {}).get("observedGeneration")
    unseen = bool(meta.get("deletionTimestamp")) or (
        observed is not None and observed != meta.get("generation")
    )
    return own and not unseen


def _is_own_write(ctx: Context, key: ObjectKey, version: str) -> bool:
    """Whether this event of a custom resource is the echo of one of the operator's own writes.

    Events come in version order, so the own versions up to this one are forgotten.
    """
    own = ctx.own_versions.get(key)
    if not own:
        return False
    echo = version in own
    if version.isdigit():
        own -= {v for v in own if v.isdigit() and int(v) <= int(version)}
    else:
        own.discard(version)
    if not own:
        del ctx.own_versions[key]
    return echo


def _child_changed(ctx: Context, body: Mapping[str, Any], event_type: str | None) -> None:
    """Keep the child cache current and wake the owner, unless the event only echoes its own write.

    A child that loses the managed-by label leaves the watch's selection as a DELETED event: its
    owner is woken and takes it back.
    """
    owner = owner_of(body)
    deleted = event_type == "DELETED"
    echo = not deleted and ctx.recent.is_echo(body)
    ctx.recent.observed(body, deleted=deleted)
    if deleted:
        ctx.child_cache.remove(body)
    else:
        ctx.child_cache.upsert(body)
    if owner is not None and not echo and not ctx.recent.hold(body, deleted=deleted):
        ctx.queue.add(owner)


def _on_service_event(runtime: Runtime, body: Body, kind: str) -> None:
    """A Service's watch event: the routes pointing at it, and its owner if it is a child."""
    ctx = runtime.context
    assert ctx is not None
    meta = body.get("metadata", {})
    _wake_all(ctx, ctx.routes_to_service(str(meta.get("namespace")), str(meta.get("name"))))
    if owner_of(body) is not None:  # labelled or not: a Service that lost its label is taken back
        _child_changed(ctx, body, kind)


def _wake_services(runtime: Runtime, services: Iterable[tuple[str, str]]) -> None:
    """After a gap in the Services' watch: the routes to any Service, and every Service's owner."""
    ctx = runtime.context
    assert ctx is not None
    for namespace, name in services:
        _wake_all(ctx, ctx.routes_to_service(namespace, name))
    _wake_all(ctx, ctx.child_cache.owners_of_kind(SERVICES.api_version, SERVICES.kind))


def _wake_all(ctx: Context, keys: Iterable[ObjectKey]) -> None:
    for key in keys:
        ctx.queue.add(key)


def _wake_namespace(ctx: Context, namespace: str) -> None:
    for key in ctx.dependents(namespace):
        ctx.queue.add(key)


USAGE_DELAY_SECONDS = 1.0


def _wake_tenant(ctx: Context, namespace: str) -> None:
    """A source or route came or went: the tenant's usage counts it within a second.

    The delay gathers a burst (a GitOps sync applies a tenant's sources and routes together)
    into one status write instead of one per resource.
    """
    tenant = ctx.tenant_for_namespace(namespace)
    if tenant is not None:
        ctx.queue.add_after(key_of(tenant), USAGE_DELAY_SECONDS)
