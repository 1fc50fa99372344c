"""The operator's HTTP server: the service catalog, Prometheus metrics and a health check.

``/catalog`` (HTML), ``/catalog.json``, ``/metrics`` (the operator's own registry) and
``/healthz``. Every answer is computed from the operator's indexes through a
:class:`~greenshift.metrics.ClusterState` snapshot: a request never LISTs the cluster. With a
Prometheus (``metrics.analytics``, set by the runner from ``--prometheus-url``), the catalog
adds the gateway's traffic, cached: see :class:`~greenshift.analytics.prometheus.CatalogAnalytics`.
"""

import json
import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from greenshift.analytics.prometheus import Traffic
from greenshift.catalog import catalog_document, catalog_entries, render_catalog_html
from greenshift.metrics import ClusterState, OperatorMetrics

logger = logging.getLogger("greenshift")

StateSource = Callable[[], ClusterState | None]


def create_app(state: StateSource, metrics: OperatorMetrics) -> web.Application:
    def current() -> ClusterState:
        snapshot = state()
        if snapshot is None:
            raise web.HTTPServiceUnavailable(text="The operator is starting.\n")
        return snapshot

    async def traffic() -> Traffic | None:
        analytics = metrics.analytics
        return None if analytics is None else await analytics.traffic()

    async def catalog_page(_: web.Request) -> web.Response:
        s = current()
        html = render_catalog_html(catalog_entries(s.tenants, s.routes, s.sources), await traffic())
        return web.Response(
            text=html,
            content_type="text/html",
            headers={
                # the page's own inline script and style only; no external assets at all
                "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
                "style-src 'unsafe-inline'; img-src 'self'",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def catalog_json(_: web.Request) -> web.Response:
        s = current()
        document = catalog_document(catalog_entries(s.tenants, s.routes, s.sources), await traffic())
        return web.Response(text=json.dumps(document, indent=2), content_type="application/json")

    async def metrics_page(_: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        if state() is None:
            return web.Response(status=503, text="starting\n")
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/catalog", catalog_page)
    app.router.add_get("/catalog.json", catalog_json)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/healthz", healthz)
    return app


class WebServer:
    """The app on ``host:port``; port 0 picks a free one (see :attr:`port` once started)."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self._host = host
        self._port = port
        self.port: int | None = None

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        logger.info("Serving the catalog and metrics on http://%s:%s/.", self._host, self.port)

    async def stop(self) -> None:
        await self._runner.cleanup()
