"""catalog_entries, the JSON document and the HTML page (escaping), from bodies with status."""

import json
import re
from typing import Any

from greenshift.analytics.prometheus import RouteTraffic, Traffic
from greenshift.catalog import catalog_document, catalog_entries, render_catalog_html

V = "greenshift.io/v1alpha1"


def tenant(
    name: str, agency: str, namespace: str | None = None, created: str = "2024-01-01T00:00:00Z"
) -> Any:
    spec: dict[str, Any] = {"displayName": f"{agency} agency", "agency": agency}
    if namespace:
        spec["namespace"] = namespace
    return {
        "apiVersion": V,
        "kind": "WalletTenant",
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": spec,
    }


def route(namespace: str, name: str, ready: str = "True", reason: str = "Published", **spec: Any) -> Any:
    body = {
        "host": "api.example.be",
        "pathPrefix": f"/{name}/v1",
        "backend": {"service": {"name": "s", "port": 80}},
    }
    body.update(spec)
    return {
        "apiVersion": V,
        "kind": "GatewayRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
        "status": {"conditions": [{"type": "Ready", "status": ready, "reason": reason, "message": "m"}]},
    }


def test_entries_carry_route_tenant_source_and_status() -> None:
    tenants = [tenant("bosa", "BOSA"), tenant("fin", "FOD-FIN", namespace="finance")]
    sources = [
        {
            "kind": "DocumentSource",
            "metadata": {"name": "id", "namespace": "wallet-bosa"},
            "spec": {"documentType": "identity"},
        }
    ]
    routes = [
        route(
            "wallet-bosa",
            "identity",
            protocol="REST",
            backend={"documentSource": {"name": "id"}},
            authentication={"type": "mtls"},
            rateLimit={"requestsPerMinute": 60},
            api={"title": "Identity", "version": "v1", "specPath": "/identity/v1/openapi.json"},
        ),
        route(
            "finance",
            "tax",
            ready="False",
            reason="RouteConflict",
            protocol="SOAP",
            api={"specPath": "http://x/spec"},
        ),
        route("orphans", "lost", ready="False", reason="NoTenant"),
    ]
    entries = catalog_entries(tenants, routes, sources)
    assert [(e.agency, e.name) for e in entries] == [("BOSA", "identity"), ("FOD-FIN", "tax"), (None, "lost")]
    identity, tax, lost = entries
    assert identity.title == "Identity"
    assert identity.url == "https://api.example.be/identity/v1"
    assert identity.specUrl == "https://api.example.be/identity/v1/openapi.json"
    assert identity.rateLimit == {"requestsPerMinute": 60, "burst": 0}
    assert (identity.authentication, identity.documentType, identity.ready) == ("mtls", "identity", "True")
    assert (tax.title, tax.protocol, tax.authentication, tax.specUrl) == ("tax", "SOAP", "oidc", None)
    assert (tax.tenant, tax.agencyName, tax.ready, tax.reason) == (
        "fin",
        "FOD-FIN agency",
        "False",
        "RouteConflict",
    )
    assert (lost.tenant, lost.agency, lost.reason) == (None, None, "NoTenant")


def test_status_url_wins_and_the_oldest_tenant_owns_a_namespace() -> None:
    tenants = [tenant("young", "YOUNG", "shared", "2025-01-01T00:00:00Z"), tenant("old", "OLD", "shared")]
    body = route("shared", "r")
    body["status"]["url"] = "https://published.example.be/r/v1"
    [entry] = catalog_entries(tenants, [body], [])
    assert (entry.agency, entry.url) == ("OLD", "https://published.example.be/r/v1")


def test_document_schema() -> None:
    doc = catalog_document(catalog_entries([tenant("bosa", "BOSA")], [route("wallet-bosa", "a")], []))
    assert (doc["apiVersion"], doc["kind"]) == (V, "ServiceCatalog")
    assert set(doc["entries"][0]) == {
        "agency", "agencyName", "tenant", "namespace", "name", "title", "version", "description", "protocol",
        "url", "authentication", "rateLimit", "specUrl", "documentType", "ready", "reason", "message",
        "traffic",
    }  # fmt: skip
    assert doc["entries"][0]["traffic"] is None
    assert doc["analytics"]["status"] == "disabled"
    assert (doc["analytics"]["topByVolume"], doc["analytics"]["topByErrors"]) == ([], [])
    json.dumps(doc)


def test_html_escapes_untrusted_strings_in_markup_and_embedded_data() -> None:
    evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    body = route("wallet-bosa", "a", api={"title": evil, "description": "a & b"})
    html = render_catalog_html(catalog_entries([tenant("bosa", "BOSA")], [body], []))
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in html
    data = re.search(r'<script type="application/json" id="catalog-data">(.*?)</script>', html, re.S)
    assert data is not None
    assert json.loads(data.group(1))["entries"][0]["title"] == evil
    assert "http" not in re.sub(
        r"https://api\.example\.be\S*", "", html.split("<script>")[0].split("<main>")[0]
    )


def test_html_groups_by_agency() -> None:
    tenants = [tenant("bosa", "BOSA"), tenant("fin", "FOD-FIN")]
    routes = [route("wallet-fin", "b"), route("wallet-bosa", "a"), route("wallet-fin", "c")]
    html = render_catalog_html(catalog_entries(tenants, routes, []))
    sections = re.findall(r'<section class="agency" data-agency="([^"]*)">(.*?)</section>', html, re.S)
    assert [(agency, re.findall(r'data-index="(\d+)"', body)) for agency, body in sections] == [
        ("BOSA", ["0"]),
        ("FOD-FIN", ["1", "2"]),
    ]


def traffic(**routes: tuple[float, float, float | None]) -> Traffic:
    """(requests/s, 5xx/s, p95) per route name of tenant bosa."""
    figures = {
        ("bosa", name): RouteTraffic(rps, eps, eps / rps if rps else None, p95)
        for name, (rps, eps, p95) in routes.items()
    }
    return Traffic("ok", routes=figures, callers=[("app", 1.5)], note="Demo data.", fetchedAt=1796218205.0)


def test_traffic_per_route_top_five_and_highlighted_errors() -> None:
    names = ["a", "b", "c", "d", "e", "f"]
    routes = [route("wallet-bosa", n) for n in names]
    figures = traffic(
        a=(1.0, 0.0, 0.1),
        b=(6.0, 0.0, 0.2),
        c=(3.0, 0.3, 0.3),
        d=(4.0, 0.001, None),
        e=(5.0, 0.0, 0.1),
        f=(2.0, 0.0, 0.1),
    )
    entries = catalog_entries([tenant("bosa", "BOSA")], routes, [])
    doc = catalog_document(entries, figures)
    assert [r["name"] for r in doc["analytics"]["topByVolume"]] == ["b", "e", "d", "c", "f"]
    assert [r["name"] for r in doc["analytics"]["topByErrors"]] == ["c", "d"]
    by_name = {e["name"]: e["traffic"] for e in doc["entries"]}
    assert by_name["c"]["errorsHigh"] is True  # 10% > the 0.1% budget
    assert by_name["d"]["errorsHigh"] is False  # 0.025%
    html = render_catalog_html(entries, figures)
    assert re.search(r'<tr class="entry errors-high"[^>]*data-name="c"', html)
    assert not re.search(r'<tr class="entry errors-high"[^>]*data-name="d"', html)
    assert "Demo data." in html
    assert doc["analytics"]["fetchedAt"] == "2026-12-02T13:30:05Z"
    assert "read from Prometheus at 2026-12-02T13:30:05Z" in html
    assert "app 1.50/s" in html
    assert re.search(
        r'data-name="c">.*?<td class="num errors">10.00%</td><td class="num p95">300 ms</td>', html, re.S
    )


def test_prometheus_down_the_catalog_still_lists_every_route() -> None:
    entries = catalog_entries([tenant("bosa", "BOSA")], [route("wallet-bosa", "a")], [])
    down = Traffic("unavailable", "Prometheus did not answer: http://p:9090: no answer within 3 s")
    html = render_catalog_html(entries, down)
    assert 'id="analytics-unavailable"' in html
    assert "no answer within 3 s" in html
    assert 'data-name="a"' in html
    assert catalog_document(entries, down)["entries"][0]["traffic"] is None
