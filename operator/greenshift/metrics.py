"""The operator's Prometheus metrics (docs/metrics.md), in a registry of its own.

Counters and the duration histogram are updated by the reconcile wrapper; everything about
the resources themselves (by kind and Ready, conflicts, tenants, per-tenant usage) is
computed at scrape time from a :class:`ClusterState`, so it is never stale and costs nothing
between scrapes.
"""

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from greenshift.constants import KINDS
from greenshift.kube import PermanentApiError, TemporaryApiError
from greenshift.usage import usage_report

if TYPE_CHECKING:
    from greenshift.analytics.prometheus import CatalogAnalytics

Body = Mapping[str, Any]
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ClusterState:
    """The Greenshift resources (with status) and the operator's billed children, as last seen.

    Each is decoded from the stores when first read: a health check reads none, a catalog page
    the resources, a metrics scrape the billed children too (``usage.BILLED_KINDS``; at a
    thousand tenants, decoding every child on each request cost about 80 MB at its peak).
    """

    def __init__(
        self,
        tenants: Callable[[], list[Body]],
        sources: Callable[[], list[Body]],
        routes: Callable[[], list[Body]],
        children: Callable[[], list[Body]],
    ) -> None:
        self._tenants, self._sources, self._routes, self._children = tenants, sources, routes, children

    @cached_property
    def tenants(self) -> list[Body]:
        return self._tenants()

    @cached_property
    def sources(self) -> list[Body]:
        return self._sources()

    @cached_property
    def routes(self) -> list[Body]:
        return self._routes()

    @cached_property
    def children(self) -> list[Body]:
        return self._children()


def error_class(exc: BaseException) -> str:
    """``temporary`` (retried with backoff), ``permanent`` (refused by the API server) or ``unexpected``."""
    if isinstance(exc, TemporaryApiError):
        return "temporary"
    if isinstance(exc, PermanentApiError):
        return "permanent"
    return "unexpected"


def _ready(body: Body) -> str:
    conditions = (body.get("status") or {}).get("conditions") or []
    ready: Body = next((c for c in conditions if c.get("type") == "Ready"), {})
    return str(ready.get("status", "Unknown"))


class _StateCollector(Collector):
    def __init__(self, state: Callable[[], ClusterState | None]) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        state = self._state()
        if state is None:
            return
        resources = GaugeMetricFamily(
            "greenshift_resources", "Greenshift resources by kind and Ready status.", labels=["kind", "ready"]
        )
        counts = Tally(
            (str(b.get("kind")), _ready(b)) for b in [*state.tenants, *state.sources, *state.routes]
        )
        for kind in KINDS:
            for ready in ("True", "False", "Unknown"):
                resources.add_metric([kind, ready], counts.get((kind, ready), 0))
        yield resources
        conflicts = sum(
            1
            for route in state.routes
            for c in (route.get("status") or {}).get("conditions") or []
            if c.get("type") == "Ready" and c.get("reason") == "RouteConflict"
        )
        yield GaugeMetricFamily(
            "greenshift_route_conflicts",
            "GatewayRoutes not Ready because an older route holds their host and path.",
            value=conflicts,
        )
        yield GaugeMetricFamily(
            "greenshift_tenants", "WalletTenants known to the operator.", value=len(state.tenants)
        )
        gauges = {
            "cpu": GaugeMetricFamily(
                "greenshift_tenant_requests_cpu_cores",
                "CPU cores requested by the tenant's managed Deployments (replicas x container requests).",
                labels=["tenant"],
            ),
            "memory": GaugeMetricFamily(
                "greenshift_tenant_requests_memory_bytes",
                "Memory requested by the tenant's managed Deployments (replicas x container requests).",
                labels=["tenant"],
            ),
            "storage": GaugeMetricFamily(
                "greenshift_tenant_requests_storage_bytes",
                "Storage requested by the tenant's managed PersistentVolumeClaims.",
                labels=["tenant"],
            ),
            "replicas": GaugeMetricFamily(
                "greenshift_tenant_replicas", "Connector replicas the tenant runs.", labels=["tenant"]
            ),
            "routes": GaugeMetricFamily(
                "greenshift_tenant_gateway_routes",
                "GatewayRoutes in the tenant's namespace.",
                labels=["tenant"],
            ),
            "sources": GaugeMetricFamily(
                "greenshift_tenant_document_sources",
                "DocumentSources in the tenant's namespace.",
                labels=["tenant"],
            ),
        }
        for row in usage_report(state.tenants, state.sources, state.routes, state.children):
            gauges["cpu"].add_metric([row.tenant], float(row.cpu_cores))
            gauges["memory"].add_metric([row.tenant], row.memory_bytes)
            gauges["storage"].add_metric([row.tenant], row.storage_bytes)
            gauges["replicas"].add_metric([row.tenant], row.replicas)
            gauges["routes"].add_metric([row.tenant], row.gateway_routes)
            gauges["sources"].add_metric([row.tenant], row.document_sources)
        yield from gauges.values()


class OperatorMetrics:
    """One operator's metrics; ``registry`` is what ``/metrics`` exposes."""

    def __init__(
        self, state: Callable[[], ClusterState | None], leading: Callable[[], bool] = lambda: True
    ) -> None:
        self.registry = CollectorRegistry()
        self.analytics: CatalogAnalytics | None = None
        """The catalog's traffic figures (``enable_analytics``); None: no Prometheus given."""
        self.reconciles = Counter(
            "greenshift_reconciles",
            "Reconciles run, by kind and result (success or error).",
            ["kind", "result"],
            registry=self.registry,
        )
        self.errors = Counter(
            "greenshift_reconcile_errors",
            "Reconciles that failed, by kind and class (temporary, permanent, unexpected).",
            ["kind", "class"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "greenshift_reconcile_duration_seconds",
            "Time one reconcile took, by kind.",
            ["kind"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        leader = Gauge(
            "greenshift_leader",
            "1 while this operator reconciles (it holds the Lease, or runs standalone), else 0.",
            registry=self.registry,
        )
        leader.set_function(lambda: float(leading()))
        self.registry.register(_StateCollector(state))

    def enable_analytics(
        self, url: str, *, callers: bool = False, note: str = "", token_file: str = "", ca_file: str = ""
    ) -> "CatalogAnalytics":
        """Read the catalog's traffic from the Prometheus at ``url``; its counters join this registry."""
        from greenshift.analytics.prometheus import CatalogAnalytics

        self.analytics = CatalogAnalytics(
            url, self.registry, callers=callers, note=note, token_file=token_file, ca_file=ca_file
        )
        return self.analytics

    @contextmanager
    def reconciling(self, kind: str) -> Iterator[Callable[[Exception], None]]:
        """Time and count one reconcile of ``kind``: an error, by class, if it raises or reports
        one through the function it is given (a reconcile that returns a retry after a
        failure); exceptions pass through."""
        start = time.perf_counter()
        failures: list[Exception] = []
        try:
            yield failures.append
        except Exception as exc:
            failures.append(exc)
            raise
        finally:
            if failures:
                self.reconciles.labels(kind, "error").inc()
                self.errors.labels(kind, error_class(failures[0])).inc()
            else:
                self.reconciles.labels(kind, "success").inc()
            self.duration.labels(kind).observe(time.perf_counter() - start)
