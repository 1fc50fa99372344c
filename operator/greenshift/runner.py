"""Running the operator in-process: used by ``greenshift run``, the demo, tests and the benchmark."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import kopf

from greenshift.admission import WebhookOptions, register_admission, webhook_server
from greenshift.config import PlatformConfig
from greenshift.controllers.wiring import WATCH_TIMEOUT_SECONDS, Runtime, build_registry, configure_settings
from greenshift.kube.client import Login
from greenshift.runtime.leader import LeaseOptions


@dataclass(frozen=True)
class OperatorOptions:
    namespaces: Sequence[str] = ()
    leader_election: LeaseOptions | None = None
    """Reconcile only while holding this Lease (docs/install.md); None: always."""
    liveness: str | None = None
    workers: int = 16
    resync_seconds: float = 600.0
    watch_timeout_seconds: float = WATCH_TIMEOUT_SECONDS
    """The server-side timeout of each watch request; the client allows 10% more (docs/operator.md)."""
    http_host: str = "0.0.0.0"  # noqa: S104 - the pod's catalog and metrics port
    http_port: int | None = None
    """The catalog and metrics server (docs/metrics.md); None: not served."""
    webhook: WebhookOptions | None = None
    """The validating admission webhook (docs/install.md); None: not served."""
    prometheus_url: str | None = None
    """The catalog's analytics (docs/catalog.md); None: ``monitoring.prometheusURL``, if any."""
    analytics_note: str = ""
    """Said above the catalog's figures (the demo: that they are synthetic)."""


async def run_operator(
    config: PlatformConfig,
    connection: kopf.ConnectionInfo,
    options: OperatorOptions = OperatorOptions(),
    *,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
    runtime: Runtime | None = None,
    login: Login | None = None,
) -> None:
    """Run until ``stop_flag`` is set (or the process is signalled); ``login`` reads the credentials
    again after a 401 (``greenshift.kube.connect``), None: they never change."""
    runtime = runtime or Runtime(
        config=config,
        connection=connection,
        workers=options.workers,
        resync_seconds=options.resync_seconds,
        http_host=options.http_host,
        http_port=options.http_port,
    )
    prometheus_url = options.prometheus_url or config.monitoring.prometheusURL
    if prometheus_url:
        runtime.metrics.enable_analytics(
            prometheus_url,
            callers=bool(config.gateway.metrics.callerLabel),
            note=options.analytics_note,
            token_file=config.monitoring.prometheusTokenFile,
            ca_file=config.monitoring.prometheusCAFile,
        )
    runtime.login = login
    runtime.watch_timeout = options.watch_timeout_seconds
    runtime.namespaces = tuple(options.namespaces)
    runtime.lease = options.leader_election
    registry = build_registry(runtime)
    settings = kopf.OperatorSettings()
    configure_settings(settings, config, watch_timeout=options.watch_timeout_seconds)
    if options.webhook is not None:
        register_admission(registry, runtime)
        settings.admission.server = webhook_server(options.webhook, connection)
    await kopf.operator(
        registry=registry,
        settings=settings,
        clusterwide=not options.namespaces,
        namespaces=list(options.namespaces),
        standalone=True,  # no kopf peering: it would pause only kopf's watches, and kopf watches none
        liveness_endpoint=options.liveness,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )
