"""/catalog.json, /metrics and /healthz of a running operator, over HTTP."""

import json
import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import Platform


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the test's own loopback server
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def _routes(platform: Platform) -> list[dict[str, Any]]:
    return [m for m in platform.manifests if m["kind"] == "GatewayRoute"]


def test_healthz(platform: Platform) -> None:
    status, _, text = _get(f"{platform.url}/healthz")
    assert (status, text) == (200, "ok\n")


def test_catalog_json_lists_every_route_with_its_agency(platform: Platform) -> None:
    status, content_type, text = _get(f"{platform.url}/catalog.json")
    assert status == 200
    assert content_type.startswith("application/json")
    doc = json.loads(text)
    assert doc["kind"] == "ServiceCatalog"
    assert doc["apiVersion"] == "greenshift.io/v1alpha1"
    by_name = {(e["namespace"], e["name"]): e for e in doc["entries"]}
    assert set(by_name) == {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in _routes(platform)}
    ehic = dict(by_name[("wallet-riziv", "ehic-v1")])
    traffic = ehic.pop("traffic")  # the analytics: test_catalog_browser.py
    assert traffic is None or set(traffic) >= {"requestsPerSecond", "errorRatio", "p95LatencySeconds"}
    assert ehic == {
        "agency": "RIZIV-INAMI",
        "agencyName": "National Institute for Health and Disability Insurance (RIZIV / INAMI)",
        "tenant": "riziv-inami",
        "namespace": "wallet-riziv",
        "name": "ehic-v1",
        "title": "European Health Insurance Card",
        "version": "v1",
        "description": None,
        "protocol": "REST",
        "url": "https://health.wallet.belgium.be/ehic/v1",
        "authentication": "oidc",
        "rateLimit": {"requestsPerMinute": 1200, "burst": 2400},
        "specUrl": "https://health.wallet.belgium.be/ehic/v1/openapi.yaml",
        "documentType": "ehic",
        "ready": "True",
        "reason": "Published",
        "message": ehic["message"],
    }
    assert {e["protocol"] for e in doc["entries"]} == {"REST", "SOAP"}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_have_the_documented_names_and_labels(platform: Platform) -> None:
    status, content_type, text = _get(f"{platform.url}/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    samples = _samples(text)
    families = {family.name: family for family in text_string_to_metric_families(text)}
    expected = {
        "greenshift_reconciles": ("counter", {"kind", "result"}),
        "greenshift_reconcile_errors": ("counter", {"kind", "class"}),
        "greenshift_reconcile_duration_seconds": ("histogram", {"kind"}),
        "greenshift_leader": ("gauge", set()),
        "greenshift_resources": ("gauge", {"kind", "ready"}),
        "greenshift_route_conflicts": ("gauge", set()),
        "greenshift_tenants": ("gauge", set()),
        "greenshift_tenant_requests_cpu_cores": ("gauge", {"tenant"}),
        "greenshift_tenant_requests_memory_bytes": ("gauge", {"tenant"}),
        "greenshift_tenant_requests_storage_bytes": ("gauge", {"tenant"}),
        "greenshift_tenant_replicas": ("gauge", {"tenant"}),
        "greenshift_tenant_gateway_routes": ("gauge", {"tenant"}),
        "greenshift_tenant_document_sources": ("gauge", {"tenant"}),
    }
    assert set(expected) <= set(families)
    for name, (kind, labels) in expected.items():
        assert families[name].type == kind, name
        for sample in families[name].samples:
            assert set(sample.labels) - {"le"} == labels, sample
    tenants = [m for m in platform.manifests if m["kind"] == "WalletTenant"]
    routes = _routes(platform)
    assert samples[("greenshift_tenants", ())] == len(tenants)
    assert samples[("greenshift_resources", (("kind", "GatewayRoute"), ("ready", "True")))] == len(routes)
    assert samples[("greenshift_resources", (("kind", "GatewayRoute"), ("ready", "False")))] == 0
    assert samples[("greenshift_route_conflicts", ())] == 0
    assert samples[("greenshift_leader", ())] == 1  # standalone: it always reconciles
    assert samples[("greenshift_reconciles_total", (("kind", "WalletTenant"), ("result", "success")))] >= len(
        tenants
    )
    assert ("greenshift_reconcile_duration_seconds_count", (("kind", "GatewayRoute"),)) in samples
    riziv = (("tenant", "riziv-inami"),)
    assert samples[("greenshift_tenant_gateway_routes", riziv)] == 2
    assert samples[("greenshift_tenant_document_sources", riziv)] == 2
    # ehic: 2 replicas, isi-plus: 1, both without resources: the LimitRange defaults 100m / 128Mi.
    assert samples[("greenshift_tenant_replicas", riziv)] == 3
    assert samples[("greenshift_tenant_requests_cpu_cores", riziv)] == pytest.approx(0.3)
    assert samples[("greenshift_tenant_requests_memory_bytes", riziv)] == 3 * 128 * 2**20


def test_tenant_analytics_children_are_applied(platform: Platform) -> None:
    rules = json.loads(
        _get(f"{platform.cluster_url}/apis/monitoring.coreos.com/v1/namespaces/wallet-riziv/prometheusrules")[
            2
        ]
    )
    assert [r["metadata"]["name"] for r in rules["items"]] == ["greenshift-analytics"]
    path = "/api/v1/namespaces/wallet-riziv/configmaps?labelSelector=grafana_dashboard%3D1"
    dashboards = json.loads(_get(f"{platform.cluster_url}{path}")[2])
    assert [d["metadata"]["name"] for d in dashboards["items"]] == ["greenshift-dashboard"]
