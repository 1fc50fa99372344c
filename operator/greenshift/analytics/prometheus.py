"""Reading the recorded gateway analytics back from Prometheus (its HTTP API; docs/catalog.md).

:class:`PrometheusClient` runs instant queries with a timeout. :func:`fetch_route_traffic` asks
for the last hour of every route in three queries (requests, 5xx, p95) and one more for the top
callers when the gateway's metrics name them. :class:`CatalogAnalytics` keeps the answer for
``ttl`` seconds and asks again at most once per ``ttl`` however many pages are viewed, so a busy
catalog costs Prometheus at most four queries per 30 s; a failure is kept as long, counted in
``greenshift_prometheus_query_failures_total`` and shown on the page. :func:`tenant_request_counts`
integrates the recorded request rate over a billing period (``greenshift usage``).
"""

import asyncio
import functools
import logging
import math
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Counter

from greenshift.analytics.rules import (
    ERROR_BUDGET,
    ROUTE_ERRORS,
    ROUTE_LATENCY,
    ROUTE_REQUESTS,
    ROUTE_REQUESTS_BY_CALLER,
    RULE_INTERVAL_SECONDS,
)

logger = logging.getLogger("greenshift")

WINDOW = "1h"
TTL_SECONDS = 30.0
TIMEOUT_SECONDS = 3.0
TOP = 5

ROUTE = "tenant, agency, route"
QUERIES = {
    # The mean over the hour of the recorded 5-minute rates: requests and 5xx per second.
    "requests": f"sum by ({ROUTE}) (avg_over_time({ROUTE_REQUESTS}[{WINDOW}]))",
    "errors": f"sum by ({ROUTE}) (avg_over_time({ROUTE_ERRORS}[{WINDOW}]))",
    # The mean over the hour of the recorded 5-minute p95 (the buckets themselves are not recorded).
    "p95": f'max by ({ROUTE}) (avg_over_time({ROUTE_LATENCY}{{quantile="0.95"}}[{WINDOW}]))',
}
CALLERS_QUERY = (
    f'topk({TOP}, sum by (caller) (avg_over_time({ROUTE_REQUESTS_BY_CALLER}{{caller!=""}}[{WINDOW}])))'
)


class PrometheusError(Exception):
    """Prometheus did not answer, or answered with an error; the message says which."""


Sample = tuple[dict[str, str], float]


class PrometheusClient:
    """Instant queries against ``url`` (``/api/v1/query``), each bounded by ``timeout`` seconds."""

    def __init__(
        self, url: str, timeout: float = TIMEOUT_SECONDS, *, token_file: str = "", ca_file: str = ""
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.token_file = token_file
        """A bearer token, read at every query (a projected service-account token rotates)."""
        self.ca_file = ca_file
        """PEM certificates an https Prometheus's certificate must chain to; empty: the system's."""

    def _headers(self) -> dict[str, str]:
        if not self.token_file:
            return {}
        try:
            with open(self.token_file, encoding="utf-8") as file:
                token = file.read().strip()
        except OSError as exc:
            raise PrometheusError(f"{self.url}: cannot read the token file: {exc}") from None
        return {"Authorization": f"Bearer {token}"}

    def _ssl(self) -> ssl.SSLContext | bool:
        if not self.ca_file:
            return True
        try:
            return _ssl_context(self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise PrometheusError(f"{self.url}: cannot read the CA file: {exc}") from None

    async def query(self, session: aiohttp.ClientSession, expr: str, at: float | None = None) -> list[Sample]:
        params = {"query": expr, "timeout": f"{max(1, int(self.timeout * 1000))}ms"}
        if at is not None:
            params["time"] = f"{at:.3f}"
        try:
            async with session.get(
                f"{self.url}/api/v1/query",
                params=params,
                headers=self._headers(),
                ssl=self._ssl(),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    raise PrometheusError(
                        f"{self.url}: HTTP {response.status}, not a Prometheus answer"
                    ) from None
        except TimeoutError:
            raise PrometheusError(f"{self.url}: no answer within {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise PrometheusError(f"{self.url}: {exc or type(exc).__name__}") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else None
            raise PrometheusError(f"{self.url}: HTTP {response.status}: {error or 'not a Prometheus answer'}")
        data = body.get("data") or {}
        if data.get("resultType") != "vector":
            raise PrometheusError(f"{self.url}: expected a vector, got {data.get('resultType')}")
        samples = []
        for item in data.get("result") or []:
            value = float(item["value"][1])
            if math.isfinite(value):
                samples.append((dict(item.get("metric") or {}), value))
        return samples


@functools.lru_cache(maxsize=4)
def _ssl_context(ca_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


@dataclass(frozen=True)
class RouteTraffic:
    """One route over the last hour."""

    requestsPerSecond: float
    errorsPerSecond: float
    errorRatio: float | None
    """5xx / all; None without requests."""
    p95LatencySeconds: float | None

    @property
    def errors_high(self) -> bool:
        """Above the error budget of the 99.9% availability objective (docs/analytics.md)."""
        return self.errorRatio is not None and self.errorRatio > ERROR_BUDGET


@dataclass(frozen=True)
class Traffic:
    """What the catalog shows of the gateway's traffic."""

    status: str
    """``ok``, ``unavailable`` (Prometheus did not answer) or ``disabled`` (no Prometheus URL)."""
    message: str = ""
    routes: Mapping[tuple[str, str], RouteTraffic] = field(default_factory=dict)
    """By (tenant, GatewayRoute name)."""
    callers: list[tuple[str, float]] | None = None
    """The top callers (name, requests per second); None: the gateway's metrics name no caller."""
    note: str = ""
    """Said on the page, e.g. that the figures are the demo's synthetic traffic."""
    fetchedAt: float = 0.0


DISABLED = Traffic("disabled", "No Prometheus URL is configured (greenshift run --prometheus-url).")


async def fetch_route_traffic(
    client: PrometheusClient, *, callers: bool, at: float | None = None
) -> tuple[dict[tuple[str, str], RouteTraffic], list[tuple[str, float]] | None]:
    """Every route's last hour: three queries, four with ``callers``, run concurrently."""
    async with aiohttp.ClientSession() as session:
        names = list(QUERIES)
        exprs = [QUERIES[n] for n in names] + ([CALLERS_QUERY] if callers else [])
        answers = await asyncio.gather(*(client.query(session, e, at) for e in exprs))
    by_name = dict(zip(names, answers, strict=False))

    def keyed(samples: list[Sample]) -> dict[tuple[str, str], float]:
        return {(m.get("tenant", ""), m.get("route", "")): v for m, v in samples}

    requests, errors, p95 = keyed(by_name["requests"]), keyed(by_name["errors"]), keyed(by_name["p95"])
    routes = {}
    for key in set(requests) | set(errors):
        rps = requests.get(key, 0.0)
        eps = errors.get(key, 0.0)
        routes[key] = RouteTraffic(
            requestsPerSecond=rps,
            errorsPerSecond=eps,
            errorRatio=eps / rps if rps > 0 else None,
            p95LatencySeconds=p95.get(key),
        )
    top_callers = None
    if callers:
        named = ((m.get("caller", ""), v) for m, v in answers[-1])
        ranked = sorted(((c, v) for c, v in named if c), key=lambda c: (-c[1], c[0]))
        top_callers = ranked[:TOP]
    return routes, top_callers


class CatalogAnalytics:
    """The catalog's traffic figures, fetched at most once per ``ttl`` seconds (single flight)."""

    def __init__(
        self,
        url: str,
        registry: CollectorRegistry | None = None,
        *,
        callers: bool = False,
        note: str = "",
        ttl: float = TTL_SECONDS,
        timeout: float = TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        token_file: str = "",
        ca_file: str = "",
    ) -> None:
        self.client = PrometheusClient(url, timeout, token_file=token_file, ca_file=ca_file)
        self.callers = callers
        self.note = note
        self.ttl = ttl
        self._clock = clock
        self._lock = asyncio.Lock()
        self._cached: Traffic | None = None
        self._expires = 0.0
        registry = registry or CollectorRegistry()
        self.queries = Counter(
            "greenshift_prometheus_queries",
            "Queries the catalog sent to Prometheus for its analytics.",
            registry=registry,
        )
        self.failures = Counter(
            "greenshift_prometheus_query_failures",
            "Refreshes of the catalog's analytics that failed (Prometheus down, slow or in error).",
            registry=registry,
        )

    @property
    def queries_per_refresh(self) -> int:
        return len(QUERIES) + (1 if self.callers else 0)

    def expire(self) -> None:
        """Forget the cached answer: the next page view asks Prometheus again."""
        self._expires = 0.0

    async def traffic(self) -> Traffic:
        async with self._lock:  # one refresh at a time; the pages waiting for it share its answer
            if self._cached is not None and self._clock() < self._expires:
                return self._cached
            self.queries.inc(self.queries_per_refresh)
            try:
                routes, callers = await fetch_route_traffic(self.client, callers=self.callers)
                self._cached = Traffic("ok", "", routes, callers, self.note, time.time())
            except PrometheusError as exc:
                self.failures.inc()
                logger.warning("The catalog's analytics are unavailable: %s.", exc)
                self._cached = Traffic(
                    "unavailable", f"Prometheus did not answer: {exc}", note=self.note, fetchedAt=time.time()
                )
            self._expires = self._clock() + self.ttl
            return self._cached


def integrate_query(start: float, end: float) -> str:
    """Requests per tenant from ``start`` to ``end`` (seconds), from the recorded 5-minute rates.

    A recorded rate has one sample per rule interval (30 s): the sum of the samples in the
    period times 30 s is the number of requests (the integral of the rate, i.e. the increase of
    the gateway's counter). A period without samples (no traffic, Prometheus down) counts 0.
    """
    seconds = max(1, round(end - start))
    return f"sum by (tenant) (sum_over_time({ROUTE_REQUESTS}[{seconds}s])) * {RULE_INTERVAL_SECONDS}"


async def tenant_request_counts(
    url: str, start: float, end: float, limit: float = 30.0, *, token_file: str = "", ca_file: str = ""
) -> dict[str, int]:
    """Each tenant's requests in ``[start, end]`` (UNIX seconds), rounded to whole requests."""
    client = PrometheusClient(url, limit, token_file=token_file, ca_file=ca_file)
    async with aiohttp.ClientSession() as session:
        samples = await client.query(session, integrate_query(start, end), at=end)
    return {m.get("tenant", ""): int(Decimal(repr(v)).to_integral_value()) for m, v in samples}


def _rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def traffic_document(traffic: Traffic | None) -> dict[str, Any] | None:
    """The ``analytics`` object of ``/catalog.json`` without the per-route figures."""
    if traffic is None:
        return None
    return {
        "status": traffic.status,
        "message": traffic.message,
        "window": WINDOW,
        "fetchedAt": _rfc3339(traffic.fetchedAt) if traffic.fetchedAt else None,
        "note": traffic.note,
        "callers": None
        if traffic.callers is None
        else [{"caller": c, "requestsPerSecond": v} for c, v in traffic.callers],
    }
