"""The composition root: the view's stores and their reflectors, the wake rules, the queue, the reconcilers.

kopf runs the process (start-up and clean-up, the liveness probe, the admission webhook); the
operator lists and watches what it reads with its own reflectors (``runtime.reflector``): kopf's
per-object workers and handler rounds cost about a quarter of its CPU at a thousand tenants,
and its create/update handlers would persist progress and a diff base in the objects. One way:
a reflector's change goes through the wake rules (``watches``) into the work queue, whose
workers run the kind's reconcile; a periodic resync queues every resource as a safety net,
and writes nothing where nothing changed.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import kopf

from greenshift.config import PlatformConfig
from greenshift.constants import KIND_ROUTE, KIND_SOURCE, KIND_TENANT, MANAGED_BY_LABEL, MANAGED_BY_VALUE
from greenshift.controllers import watches
from greenshift.controllers.context import Context
from greenshift.controllers.documentsource import reconcile_document_source
from greenshift.controllers.gatewayroute import reconcile_gateway_route
from greenshift.controllers.indexes import NAMESPACES, SERVICES, ClusterView, child_store
from greenshift.controllers.keys import KIND_LOG_FORWARDER, ObjectKey, log_forwarder_key
from greenshift.controllers.logforwarder import reconcile_log_forwarder
from greenshift.controllers.tenant import reconcile_tenant
from greenshift.kube import ROUTES, SOURCES, TENANTS, KubeClient, ResourceRef, TemporaryApiError, ref_of_kind
from greenshift.kube.client import Login
from greenshift.metrics import ClusterState, OperatorMetrics
from greenshift.runtime.events import EventPoster
from greenshift.runtime.leader import LeaseOptions
from greenshift.runtime.manager import Manager
from greenshift.runtime.queue import Requeue, WorkQueue
from greenshift.runtime.reflector import Reflector
from greenshift.runtime.store import Change
from greenshift.runtime.watches import Rule, enqueue
from greenshift.usage import BILLED_KINDS
from greenshift.web import WebServer, create_app

Body = Mapping[str, Any]

logger = logging.getLogger("greenshift")

SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"
"""The children's label: only Services and Namespaces are watched whole."""

RECONCILERS: dict[str, Callable[[Context, ObjectKey], Awaitable[Requeue | None]]] = {
    KIND_TENANT: reconcile_tenant,
    KIND_SOURCE: reconcile_document_source,
    KIND_ROUTE: reconcile_gateway_route,
    KIND_LOG_FORWARDER: reconcile_log_forwarder,  # the one shared log forwarder (docs/logging.md)
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
    if config.logging.flavor == "openshift-logging":  # the shared log forwarder (docs/logging.md)
        kinds.append(("observability.openshift.io/v1", "ClusterLogForwarder"))
    return [ref_of_kind(api, kind) for api, kind in kinds]


FORWARDERS = ref_of_kind("observability.openshift.io/v1", "ClusterLogForwarder")


def child_namespaces(ref: ResourceRef, config: PlatformConfig) -> list[str | None]:
    """Where a child kind is watched: everywhere (``[None]``), but ClusterLogForwarders only in the
    logging namespace (the operator has no rights on them anywhere else: deploy/logging/)."""
    return [config.logging.namespace] if ref == FORWARDERS else [None]


def singleton_keys(config: PlatformConfig) -> list[ObjectKey]:
    """The keys reconciled without a resource of their own, queued by every resync: the shared
    log forwarder's, with logging."""
    key = log_forwarder_key(config)
    return [key] if key is not None else []


@dataclass
class Runtime:
    """The operator: built when kopf starts (inside its event loop), run by a ``runtime.Manager``."""

    config: PlatformConfig
    connection: kopf.ConnectionInfo
    workers: int = 16
    resync_seconds: float = 600.0
    context: Context | None = None
    http_host: str = "0.0.0.0"  # noqa: S104 - the pod's catalog and metrics port (docs/metrics.md)
    http_port: int | None = None  # None: no HTTP server; 0: any free port
    watch_timeout: float = 300.0
    login: Login | None = None
    """Reads the credentials again after a 401 (``kube.client.connect``); None: they never change."""
    metrics: OperatorMetrics = field(init=False, repr=False)
    namespaces: tuple[str, ...] = ()  # where sources, routes and Services are watched; () for all
    view: ClusterView = field(default_factory=ClusterView, repr=False)
    manager: Manager[ObjectKey] = field(init=False, repr=False)
    lease: LeaseOptions | None = None
    """Reconcile only while holding this Lease (``--leader-election``); None: always (standalone)."""
    web: WebServer | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.metrics = OperatorMetrics(self.state, lambda: self.leading)
        self.view.singletons = singleton_keys(self.config)
        self.manager = Manager(
            self._reconcile, self.view.resource_keys, workers=self.workers, resync_seconds=self.resync_seconds
        )

    @property
    def queue(self) -> WorkQueue[ObjectKey]:
        return self.manager.queue

    @property
    def loaded(self) -> bool:
        """Whether the start-up LISTs have filled the stores (the webhook answers only then)."""
        return self.manager.loaded

    @property
    def leading(self) -> bool:
        """Whether this operator reconciles: standalone, or holding its Lease."""
        return self.manager.leading

    def credentials(self) -> kopf.ConnectionInfo:
        """kopf's credentials, at start and after a 401: read again (``login``), so that kopf's own
        requests follow a rotated token as the operator's do."""
        return self.login() if self.login is not None else self.connection

    def down(self) -> dict[str, str]:
        return self.manager.down()

    def resync(self) -> None:
        self.manager.resync()

    def state(self) -> ClusterState | None:
        """What the stores hold now (for the HTTP server and metrics); None before start."""
        if not self.loaded:
            return None
        view = self.view
        return ClusterState(
            partial(view.resources_of, KIND_TENANT),
            partial(view.resources_of, KIND_SOURCE),
            partial(view.resources_of, KIND_ROUTE),
            partial(view.children_of_kinds, BILLED_KINDS),
        )

    async def start(self, settings: kopf.OperatorSettings) -> None:
        client = KubeClient(self.connection, login=self.login)
        self.context = ctx = Context(
            client=client, config=self.config, settings=settings, view=self.view, events=EventPoster(client)
        )
        self.manager.reflectors = self._reflectors(client, ctx)
        election = self.lease.election(client) if self.lease is not None else None
        await self.manager.start(election)
        if self.http_port is not None:
            self.web = WebServer(create_app(self.state, self.metrics), self.http_host, self.http_port)
            await self.web.start()

    def _reflectors(self, client: KubeClient, ctx: Context) -> list[Reflector]:
        """What is watched, into which store, through which wake rules: the custom resources first,
        so that the stores others' reads depend on are whole first."""
        namespaces: list[str | None] = list(self.namespaces) or [None]
        reflect = partial(
            Reflector, client, watch_timeout=self.watch_timeout, relist_seconds=self.resync_seconds
        )
        resources = self.view.resources
        rules = watches.resource_rules(ctx)
        reflectors = [
            reflect(TENANTS, resources[KIND_TENANT], self._through(rules[KIND_TENANT])),
            reflect(
                SOURCES, resources[KIND_SOURCE], self._through(rules[KIND_SOURCE]), namespaces=namespaces
            ),
            reflect(ROUTES, resources[KIND_ROUTE], self._through(rules[KIND_ROUTE]), namespaces=namespaces),
            reflect(
                SERVICES, self.view.services, self._through(watches.service_rules(ctx)), namespaces=namespaces
            ),
            reflect(NAMESPACES, self.view.namespaces, self._through(watches.namespace_rules(ctx))),
        ]
        for ref in child_resources(self.config):
            if ref != NAMESPACES:  # watched whole, above
                store = self.view.children.setdefault(ref, child_store())
                reflectors.append(
                    reflect(
                        ref,
                        store,
                        self._through(watches.child_rules(ctx)),
                        selector=SELECTOR,
                        namespaces=child_namespaces(ref, self.config),
                    )
                )
        return reflectors

    def _through(self, rules: list[Rule[ObjectKey]]) -> Callable[[Change], None]:
        """A reflector's handler: the change, marked by the record of own writes, through ``rules``."""
        assert self.context is not None
        return partial(self.context.own.route, deliver=partial(enqueue, self.queue, rules))

    async def stop(self) -> None:
        if self.web is not None:
            await self.web.stop()
        await self.manager.stop()
        if self.context is not None:
            await self.context.events.close()
            await self.context.client.close()

    async def _reconcile(self, key: ObjectKey) -> Requeue | None:
        assert self.context is not None
        with self.metrics.reconciling(key.kind) as failed:
            try:
                again = await RECONCILERS[key.kind](self.context, key)
            except TemporaryApiError as exc:
                logger.info("Deferred %s after a temporary API error: %s.", key, exc)
                # The server's Retry-After holds the key: an event meanwhile must not retry it early.
                again = Requeue(str(exc), exc.retry_after, hold=True, error=exc)
            if again is not None and again.error is not None:
                failed(again.error)
            return again


def build_registry(runtime: Runtime) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return runtime.credentials()

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **kwargs: Any) -> None:
        await runtime.start(settings)

    @kopf.on.cleanup(registry=registry)
    async def shutdown(**_: Any) -> None:
        await runtime.stop()

    @kopf.on.probe(registry=registry, id="watch")
    def watching(**_: Any) -> str:
        """The liveness endpoint fails (HTTP 500) while a watch stream is down (it failed and has
        not listed again since): the API server refuses or cannot serve it."""
        down = runtime.down()
        if down:
            raise kopf.PermanentError("; ".join(f"{name}: {error}" for name, error in sorted(down.items())))
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
