"""How kopf feeds the reconcilers: watch-event handlers, indexes, the queue's lifecycle.

kopf's own create/update handlers persist progress and a diff base in the objects (extra
writes on every change), so Greenshift uses kopf for what it does best (watching the
custom resources and Services, peering, probes, posting events) and hands object keys to a
level-based work queue. The custom resources' facts are indexed by the operator itself
(``fact_index``), the Services' by kopf. Every event of a custom resource, of one of its
children (found by the managed-by label) or of a Service a route points to queues the
affected resource; a periodic resync queues them all as a safety net, and writes nothing
where nothing changed.
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
from greenshift.controllers.child_watch import ChildWatcher
from greenshift.controllers.context import Context
from greenshift.controllers.documentsource import reconcile_document_source
from greenshift.controllers.events import EventPoster
from greenshift.controllers.fact_index import FactIndex
from greenshift.controllers.gatewayroute import reconcile_gateway_route
from greenshift.controllers.keys import ObjectKey, key_of, owner_of
from greenshift.controllers.queue import Requeue, WorkQueue
from greenshift.controllers.tenant import reconcile_tenant
from greenshift.kube import ApiError, KubeClient, ResourceRef, TemporaryApiError, ref_of_kind
from greenshift.metrics import ClusterState, OperatorMetrics, state_from_indices
from greenshift.naming import tenant_namespace
from greenshift.web import WebServer, create_app

IndexEntries = dict[Any, Any] | None

logger = logging.getLogger("greenshift")

TENANTS = ref_of_kind("greenshift.io/v1alpha1", KIND_TENANT)
SOURCES = ref_of_kind("greenshift.io/v1alpha1", KIND_SOURCE)
ROUTES = ref_of_kind("greenshift.io/v1alpha1", KIND_ROUTE)
SERVICES = ref_of_kind("v1", "Service")
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
    watcher: ChildWatcher | None = field(default=None, repr=False)
    facts: FactIndex = field(default_factory=FactIndex, repr=False)
    web: WebServer | None = field(default=None, repr=False)
    _resync: asyncio.Task[None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.metrics = OperatorMetrics(self.state)

    def state(self) -> ClusterState | None:
        """What the indexes hold now (for the HTTP server and metrics); None before start."""
        if self.context is None:
            return None
        return state_from_indices(self.context.indices, self.context.child_cache.all())

    async def start(self, settings: kopf.OperatorSettings, services: kopf.Index[Any, Any]) -> None:
        queue: WorkQueue[ObjectKey] = WorkQueue(self._reconcile, workers=self.workers)
        client = KubeClient(self.connection)
        self.context = Context(
            client=client,
            config=self.config,
            settings=settings,
            queue=queue,
            indices={indexes.INDEX: self.facts, "services": services},
            events=EventPoster(client),
        )
        ctx = self.context
        self.watcher = ChildWatcher(
            client,
            child_resources(self.config),
            ctx.child_cache,
            lambda body, kind: _child_changed(ctx, body, kind),
            lambda owners: _wake_all(ctx, owners),
            timeout_seconds=self.watch_timeout,
        )
        await self.list_resources(seed=True)
        await self.relist()
        self.watcher.start()
        queue.start()
        self._resync = asyncio.create_task(self._resync_loop(), name="greenshift-resync")
        if self.http_port is not None:
            self.web = WebServer(create_app(self.state, self.metrics), self.http_host, self.http_port)
            await self.web.start()

    async def stop(self) -> None:
        if self.web is not None:
            await self.web.stop()
        if self._resync is not None:
            self._resync.cancel()
            await asyncio.gather(self._resync, return_exceptions=True)
        if self.watcher is not None:
            await self.watcher.stop()
        if self.context is not None:
            await self.context.queue.stop()
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
                await self.list_resources(seed=False)
                await self.relist()
            except ApiError as exc:
                logger.warning("Deferred the resync: a listing failed: %s.", exc)
                continue
            self.resync()

    async def list_resources(self, *, seed: bool) -> None:
        """One LIST per custom resource kind: seeds the fact index at start-up (kopf watches
        only once the start-up handlers are done); at a resync, only forgets what is gone
        (a missed DELETED event), since kopf's events keep everything else current."""
        assert self.context is not None
        for ref in (TENANTS, SOURCES, ROUTES):
            listed: set[ObjectKey] = set()
            version = ""
            async for items, page_version in self.context.client.list_pages(ref):
                version = page_version
                for item in items:
                    listed.add(key_of(item))
                    if seed:
                        self.facts.update(item)
            self.facts.keep_only(ref.kind, listed, int(version) if version.isdigit() else -1)

    async def relist(self) -> None:
        """Seed (or heal) the child cache with one LIST per child kind, the operator's Services included."""
        assert self.context is not None
        assert self.watcher is not None
        await self.watcher.relist_all()
        await self.watcher.relist(SERVICES)  # kopf watches Services (all of them, for the backends)

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
        await runtime.start(settings, kwargs["services"])

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

    for ref in (TENANTS, SOURCES, ROUTES):
        kopf.on.event(*ref.kopf_spec, registry=registry, id=EVENT_HANDLERS[0])(_on_resource_event(runtime))

    kopf.index(*SERVICES.kopf_spec, registry=registry, id="services")(_coroutine(indexes.services))
    kopf.on.event(*SERVICES.kopf_spec, registry=registry, id=EVENT_HANDLERS[1])(_on_service_event(runtime))
    return registry


def _coroutine(function: Callable[..., IndexEntries]) -> Callable[..., Awaitable[IndexEntries]]:
    """kopf runs plain handlers in a thread pool: for these small functions the hop costs more."""

    async def index(**kwargs: Any) -> IndexEntries:
        return function(**kwargs)

    index.__name__ = index.__qualname__ = function.__name__
    return index


WATCH_TIMEOUT_SECONDS = 300.0


EVENT_HANDLERS = ("resource_event", "service_event")


class QuietEventHandlers(logging.Filter):
    """Drops kopf's "Handler 'child_event' succeeded." line, logged for every watch event.

    Those handlers only queue keys; the reconcile logs what it does. At thousands of events a
    second the line costs measurable CPU and buries the useful ones.
    """

    _lines = frozenset(f"Handler {name!r} succeeded." for name in EVENT_HANDLERS)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self._lines


class NoDiffBase(kopf.DiffBaseStorage):
    """No diff base: Greenshift registers no change handlers, the only ones that use it.

    kopf still builds an object's essence (a deep copy of it) on every event to diff it
    against the stored one; at thousands of events a second that copy is measurable.
    """

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:
        return {}

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def configure_settings(
    settings: kopf.OperatorSettings, config: PlatformConfig, *, watch_timeout: float = WATCH_TIMEOUT_SECONDS
) -> None:
    """kopf's settings; ``watch_timeout`` is the server-side timeout of each watch request.

    The client gives up on a watch 10% (at least 1 s) later, so a connection that silently
    stalls is replaced after that long and resumes from the last resourceVersion seen.
    """
    quiet = QuietEventHandlers()
    objects_logger = logging.getLogger("kopf.objects")
    if not any(isinstance(f, QuietEventHandlers) for f in objects_logger.filters):
        objects_logger.addFilter(quiet)
    # The reconcile manages its own finalizer; these only keep anything kopf itself might ever
    # persist under Greenshift's prefix rather than kopf's (it persists nothing: no change handlers).
    settings.persistence.finalizer = "greenshift.io/kopf-finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="greenshift.io")
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.posting.level = logging.INFO
    settings.posting.reporting_component = "greenshift-operator"
    settings.watching.server_timeout = watch_timeout
    settings.watching.client_timeout = watch_timeout + max(1.0, watch_timeout / 10)
    settings.networking.enforce_retry_after = True
    # kopf keeps a worker task per object until it has been idle this long; the event handlers
    # only queue keys, so a short life keeps thousands of tasks from piling up in a bulk change.
    settings.queueing.idle_timeout = 1.0


def _on_resource_event(runtime: Runtime) -> Callable[..., Awaitable[None]]:
    async def handler(body: kopf.Body, type: str | None, **_: Any) -> None:
        ctx = runtime.context
        if ctx is None:
            return
        key = key_of(body)
        meta = body.get("metadata", {})
        namespace = key.namespace or tenant_namespace(body)
        if type == "DELETED":
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
                for _created, ns, name in ctx.route_claims(
                    str(spec.get("host")), str(spec.get("pathPrefix"))
                ):
                    ctx.queue.add(ObjectKey(KIND_ROUTE, ns, name))
            return
        runtime.facts.update(body)
        if is_echo(ctx, key, body):
            return
        ctx.queue.add(key)
        if key.kind == KIND_TENANT:
            generation = int(meta.get("generation") or 0)
            if ctx.tenant_generations.get(key.name) != generation:
                ctx.tenant_generations[key.name] = generation
                _wake_namespace(ctx, namespace)
        elif type in (None, "ADDED"):
            _wake_tenant(ctx, key.namespace)

    return handler


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
    if owner is not None and not echo:
        ctx.queue.add(owner)


def _on_service_event(runtime: Runtime) -> Callable[..., Awaitable[None]]:
    async def handler(body: kopf.Body, type: str | None, **_: Any) -> None:
        ctx = runtime.context
        if ctx is None:
            return
        meta = body.get("metadata", {})
        for key in ctx.routes_to_service(str(meta.get("namespace")), str(meta.get("name"))):
            ctx.queue.add(key)
        if owner_of(body) is not None:  # labelled or not: a Service that lost its label is taken back
            _child_changed(ctx, body, type)

    return handler


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
