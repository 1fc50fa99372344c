"""The catalog's analytics and the request bill against a real Prometheus (Debian's package).

The server runs on loopback with an hour of known gateway traffic (``promtool tsdb
create-blocks-from openmetrics``) and the project's recording rules recorded over it
(``promtool tsdb create-blocks-from rules``); every figure below is computed by hand from the
traffic table of ``greenshift.analytics.local`` (constant rates, so a 5-minute rate is the rate).
"""

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from greenshift.analytics.local import (
    CALLERS,
    DEMO_CALLER_LABEL,
    LocalPrometheus,
    binaries,
    demo_loads,
    serving,
)
from greenshift.analytics.prometheus import CatalogAnalytics, tenant_request_counts
from greenshift.catalog import catalog_document, catalog_entries
from greenshift.commands.catalog import format_table as catalog_table
from greenshift.commands.usage import with_requests
from greenshift.config import GatewayMetrics
from greenshift.loader import is_cluster_object, load_documents
from greenshift.loopback import free_port
from greenshift.usage import TenantUsage, format_csv, format_json, format_table, load_rate_card, price

pytestmark = pytest.mark.skipif(
    binaries() is None,
    reason="prometheus and promtool are not installed "
    "(Debian's prometheus package: make system-deps, as root)",
)

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = [d.body for d in load_documents([ROOT / "examples"]) if is_cluster_object(d.body)]
METRICS = GatewayMetrics(callerLabel=DEMO_CALLER_LABEL)
END = int(time.time()) // 30 * 30 - 30
"""The traffic ends here: an hour from END - 3600."""


@pytest.fixture(scope="module")
def prometheus() -> Iterator[LocalPrometheus]:
    with serving(demo_loads(MANIFESTS), METRICS, minutes=60, end=END) as server:
        yield server


def with_status(body: dict, ready: str = "True") -> dict:
    return body | {"status": {"conditions": [{"type": "Ready", "status": ready, "reason": "Published"}]}}


def entries() -> list:
    kinds = {
        k: [with_status(m) for m in MANIFESTS if m["kind"] == k] for k in ("WalletTenant", "GatewayRoute")
    }
    return catalog_entries(kinds["WalletTenant"], kinds["GatewayRoute"], [])


def test_catalog_figures_from_the_recorded_rules(prometheus: LocalPrometheus) -> None:
    registry = CollectorRegistry()
    analytics = CatalogAnalytics(prometheus.url, registry, callers=True)
    traffic = asyncio.run(analytics.traffic())
    assert traffic.status == "ok", traffic.message
    document = catalog_document(entries(), traffic)
    by_name = {e["name"]: e["traffic"] for e in document["entries"]}
    # identity-v1: 12 requests/s, of which 0.05% are 503 (0.006/s); p95 0.375 s (see LATENCY)
    assert by_name["identity-v1"]["requestsPerSecond"] == pytest.approx(12.0)
    assert by_name["identity-v1"]["errorsPerSecond"] == pytest.approx(0.006)
    assert by_name["identity-v1"]["errorRatio"] == pytest.approx(0.0005)
    assert by_name["identity-v1"]["p95LatencySeconds"] == pytest.approx(0.375)
    assert by_name["identity-v1"]["errorsHigh"] is False  # 0.05% is within the 0.1% budget
    # mybenefits-soap: 3/s, 4% 503 (0.12/s), slow: p95 1.75 s (see SLOW)
    assert by_name["mybenefits-soap"]["errorRatio"] == pytest.approx(0.04)
    assert by_name["mybenefits-soap"]["p95LatencySeconds"] == pytest.approx(1.75)
    assert by_name["mybenefits-soap"]["errorsHigh"] is True
    # 4xx are not errors of the route: driving-licences-v1 has 2% 404 and no 5xx
    assert by_name["driving-licences-v1"]["errorRatio"] == pytest.approx(0.0)
    top = document["analytics"]
    assert [r["name"] for r in top["topByVolume"]] == [
        "identity-v1",
        "driving-licences-v1",
        "ehic-v1",
        "mybenefits-soap",
        "civil-status-certificates-v1",
    ]
    assert [(r["name"], round(r["errorsPerSecond"], 6)) for r in top["topByErrors"]] == [
        ("mybenefits-soap", 0.12),
        ("criminal-record-extracts-v1", 0.01),
        ("identity-v1", 0.006),
    ]
    total = 12 + 6 + 4 + 3 + 2 + 1 + 0.5  # every route has the same three callers
    assert [c["caller"] for c in top["callers"]] == [c for c, _ in CALLERS]
    assert top["callers"][0]["requestsPerSecond"] == pytest.approx(total * 0.6)
    # greenshift catalog's table shows the same figures
    table = catalog_table(entries(), traffic).splitlines()
    assert table[0].split()[-3:] == ["REQ/S", "5XX", "P95"]
    assert next(line for line in table if "/identity/v1" in line).split()[-4:] == [
        "12.00",
        "0.05%",
        "375",
        "ms",
    ]
    # three queries and one for the callers; a second page view within 30 s asks nothing
    asyncio.run(analytics.traffic())
    exposition = generate_latest(registry).decode()
    assert "greenshift_prometheus_queries_total 4.0" in exposition
    assert "greenshift_prometheus_query_failures_total 0.0" in exposition


def test_request_bill_over_a_period(prometheus: LocalPrometheus) -> None:
    start, end = END - 1800, END - 600  # 20 minutes, within the recorded part of the hour
    counts = asyncio.run(tenant_request_counts(prometheus.url, start, end))
    seconds = end - start
    assert counts == {
        "bosa": 12 * seconds,
        "fod-just": 3 * seconds,
        "fod-mob": 6 * seconds,
        "fod-sz": 3 * seconds,
        "riziv-inami": int(4.5 * seconds),
    }
    card = load_rate_card(ROOT / "examples" / "pricing" / "rate-card.yaml")
    rows = with_requests([usage("bosa"), usage("nobody")], counts)
    assert rows[0].request_count == 14400
    assert rows[1].request_count == 0
    priced = price(rows[0], card)
    assert priced.requests == (Decimal(14400) / 10**6 * card.requests).quantize(Decimal("0.01"))
    assert "REQUESTS" in format_table(rows, card).splitlines()[0]
    assert format_csv(rows, card).splitlines()[1].split(",")[9] == "14400"
    assert '"measured": true' in format_json(rows, card, {"from": "a", "to": "b"})


def usage(tenant: str) -> TenantUsage:
    return TenantUsage(tenant, "X", f"wallet-{tenant}", Decimal(1), 2**30, 0, 1, 1, 1)


def test_prometheus_down_is_reported_counted_and_cached() -> None:
    registry = CollectorRegistry()
    analytics = CatalogAnalytics(f"http://127.0.0.1:{free_port()}", registry, timeout=1.0)
    traffic = asyncio.run(analytics.traffic())
    assert traffic.status == "unavailable"
    assert "Prometheus did not answer" in traffic.message
    document = catalog_document(entries(), traffic)
    assert document["analytics"]["status"] == "unavailable"
    assert all(e["traffic"] is None for e in document["entries"])
    asyncio.run(analytics.traffic())  # within the TTL: the failure is remembered, not retried
    exposition = generate_latest(registry).decode()
    assert "greenshift_prometheus_query_failures_total 1.0" in exposition
    assert "greenshift_prometheus_queries_total 3.0" in exposition
