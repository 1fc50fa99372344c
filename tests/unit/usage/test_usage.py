"""usage_report and its pricing, from a known set of resources."""

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from greenshift.usage import (
    TenantUsage,
    UsageError,
    format_csv,
    format_json,
    format_table,
    load_rate_card,
    parse_quantity,
    parse_rate_card,
    price,
    usage_report,
)

EXAMPLE_CARD = Path(__file__).resolve().parents[3] / "examples" / "pricing" / "rate-card.yaml"
MANAGED = {"app.kubernetes.io/managed-by": "greenshift-operator"}


def tenant(name: str, agency: str, namespace: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"agency": agency}
    if namespace:
        spec["namespace"] = namespace
    return {"kind": "WalletTenant", "metadata": {"name": name}, "spec": spec}


def resource(kind: str, namespace: str, name: str) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "namespace": namespace}}


def child(kind: str, tenant_name: str, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    labels = MANAGED | {"greenshift.io/tenant": tenant_name}
    return {"kind": kind, "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}


def owned(body: dict[str, Any], source: str, uid: str | None = None) -> dict[str, Any]:
    """``body`` with the owner reference the operator sets: to its DocumentSource."""
    reference = {"apiVersion": "greenshift.io/v1alpha1", "kind": "DocumentSource", "name": source}
    if uid is not None:
        reference["uid"] = uid
    body["metadata"]["ownerReferences"] = [reference | {"controller": True}]
    return body


def deployment(tenant_name: str, namespace: str, name: str, replicas: int | None, *containers: Any) -> Any:
    """A connector Deployment as the operator writes it: owned by the DocumentSource ``name``."""
    spec: dict[str, Any] = {"template": {"spec": {"containers": list(containers)}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return owned(child("Deployment", tenant_name, namespace, name, spec), name)


def autoscaler(tenant_name: str, namespace: str, target: str, low: int, current: int | None = None) -> Any:
    """A HorizontalPodAutoscaler as the operator writes it, with the status the controller sets."""
    spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        "minReplicas": low,
        "maxReplicas": 12,
    }
    hpa = child("HorizontalPodAutoscaler", tenant_name, namespace, target, spec)
    if current is not None:
        hpa["status"] = {"currentReplicas": current, "desiredReplicas": current}
    return hpa


def replicas_of(children: list[Any]) -> int:
    sources = [resource("DocumentSource", "wallet-bosa", n) for n in ("identity", "a")]
    [row] = usage_report([tenant("bosa", "BOSA")], sources, [], children)
    return row.replicas


def test_an_autoscaled_connector_counts_the_autoscalers_replicas_not_spec_replicas() -> None:
    """The API server sets spec.replicas: 1 on a Deployment created without it; the HPA decides."""
    live = deployment("bosa", "wallet-bosa", "identity", 1, {})  # as the server returns it
    assert replicas_of([live, autoscaler("bosa", "wallet-bosa", "identity", 3)]) == 3
    assert replicas_of([live, autoscaler("bosa", "wallet-bosa", "identity", 3, current=7)]) == 7
    assert replicas_of([autoscaler("bosa", "wallet-bosa", "identity", 3, current=5), live]) == 5


def test_the_autoscaler_is_found_by_its_scale_target() -> None:
    hpa = autoscaler("bosa", "wallet-bosa", "identity", 4)
    hpa["metadata"]["name"] = "another-name"
    live = deployment("bosa", "wallet-bosa", "identity", 1, {})
    assert replicas_of([live, hpa]) == 4
    elsewhere = autoscaler("bosa", "wallet-other", "identity", 4)
    assert replicas_of([live, elsewhere]) == 1


def test_without_an_autoscaler_spec_replicas_counts() -> None:
    assert replicas_of([deployment("bosa", "wallet-bosa", "a", 2, {})]) == 2
    assert replicas_of([deployment("bosa", "wallet-bosa", "a", 0, {})]) == 0  # suspended
    assert replicas_of([deployment("bosa", "wallet-bosa", "a", None, {})]) == 1


def test_quantities() -> None:
    assert parse_quantity("250m") == Decimal("0.25")
    assert parse_quantity("1Gi") == 2**30
    assert parse_quantity("1.5G") == 1_500_000_000
    assert parse_quantity(2) == 2
    assert parse_quantity("1e3") == 1000
    with pytest.raises(UsageError):
        parse_quantity("lots")


def test_report_counts_requests_defaults_limits_autoscalers_and_storage() -> None:
    tenants = [tenant("bosa", "BOSA"), tenant("fin", "FOD-FIN", "finance"), tenant("idle", "IDLE")]
    sources = [resource("DocumentSource", "wallet-bosa", n) for n in ("a", "b", "c")]
    sources.append(resource("DocumentSource", "finance", "tax"))
    routes = [resource("GatewayRoute", "wallet-bosa", "r1"), resource("GatewayRoute", "finance", "r2")]
    children = [
        # explicit requests: 2 x (500m + 256Mi)
        deployment(
            "bosa", "wallet-bosa", "a", 2, {"resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}
        ),
        # nothing stated: the LimitRange defaults, 1 x (100m + 128Mi)
        deployment("bosa", "wallet-bosa", "b", 1, {}),
        # limits only: the request is the limit; autoscaled (no replicas): the HPA minimum, 3
        deployment(
            "bosa", "wallet-bosa", "c", None, {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}
        ),
        autoscaler("bosa", "wallet-bosa", "c", 3),
        child(
            "PersistentVolumeClaim",
            "bosa",
            "wallet-bosa",
            "a-cache",
            {"resources": {"requests": {"storage": "10Gi"}}},
        ),
        # a retained cache of a deleted source still counts
        child(
            "PersistentVolumeClaim",
            "bosa",
            "wallet-bosa",
            "old-cache",
            {"resources": {"requests": {"storage": "512Mi"}}},
        ),
        # suspended: scaled to 0
        deployment("fin", "finance", "tax", 0, {"resources": {"requests": {"cpu": "2", "memory": "4Gi"}}}),
        child("ConfigMap", "bosa", "wallet-bosa", "a-config", {}),
    ]
    rows = usage_report(tenants, sources, routes, children)
    assert rows == [
        TenantUsage(
            tenant="bosa",
            agency="BOSA",
            namespace="wallet-bosa",
            cpu_cores=Decimal("1.0") + Decimal("0.1") + Decimal(3),
            memory_bytes=2 * 256 * 2**20 + 128 * 2**20 + 3 * 2**30,
            storage_bytes=10 * 2**30 + 512 * 2**20,
            replicas=6,
            gateway_routes=1,
            document_sources=3,
        ),
        TenantUsage("fin", "FOD-FIN", "finance", Decimal(0), 0, 0, 0, 1, 1),
        TenantUsage("idle", "IDLE", "wallet-idle", Decimal(0), 0, 0, 0, 0, 0),
    ]


def test_pricing_with_the_example_rate_card() -> None:
    card = load_rate_card(EXAMPLE_CARD)
    assert card.currency == "EUR"
    usage = TenantUsage("bosa", "BOSA", "wallet-bosa", Decimal(2), 4 * 2**30, 100 * 2**30, 4, 3, 2)
    priced = price(usage, card)
    assert priced.cpu == Decimal("45.26")  # 2 x 0.031 x 730
    assert priced.memory == Decimal("12.26")  # 4 x 0.0042 x 730
    assert priced.storage == Decimal("12.00")  # 100 x 0.12
    assert priced.routes == Decimal("15")
    assert priced.sources == Decimal("40")
    assert priced.total == Decimal("124.52")


def test_rate_card_errors() -> None:
    with pytest.raises(UsageError, match="currency"):
        parse_rate_card({"kind": "RateCard"})
    with pytest.raises(UsageError, match="unknown key"):
        parse_rate_card({"kind": "RateCard", "currency": "EUR", "cpuHour": 1})
    with pytest.raises(UsageError, match="positive"):
        parse_rate_card({"kind": "RateCard", "currency": "EUR", "cpuCoreHour": -1})
    with pytest.raises(UsageError, match="number"):
        parse_rate_card({"kind": "RateCard", "currency": "EUR", "cpuCoreHour": "cheap"})
    with pytest.raises(UsageError, match="RateCard"):
        parse_rate_card({"kind": "Other"})


def test_formats() -> None:
    card = parse_rate_card({"kind": "RateCard", "currency": "EUR", "gatewayRouteMonth": 5})
    rows = [TenantUsage("bosa", "BOSA", "wallet-bosa", Decimal("0.30"), 2**30, 0, 3, 2, 2)]
    doc = json.loads(format_json(rows, card))
    assert doc["kind"] == "UsageReport"
    assert doc["tenants"][0]["cpu_cores"] == "0.3"
    assert doc["tenants"][0]["total"] == "10.00"
    assert doc["rateCard"]["currency"] == "EUR"
    [record] = list(csv.DictReader(io.StringIO(format_csv(rows, None))))
    assert record == {
        "tenant": "bosa",
        "agency": "BOSA",
        "namespace": "wallet-bosa",
        "cpu_cores": "0.3",
        "memory_bytes": str(2**30),
        "storage_bytes": "0",
        "replicas": "3",
        "gateway_routes": "2",
        "document_sources": "2",
    }
    table = format_table(rows, card).splitlines()
    assert table[0].split() == [
        "TENANT",
        "AGENCY",
        "CPU",
        "MEMORY",
        "STORAGE",
        "REPLICAS",
        "ROUTES",
        "SOURCES",
        "MONTHLY",
        "(EUR)",
    ]
    assert table[1].split() == ["bosa", "BOSA", "0.3", "1Gi", "0", "3", "2", "2", "10.00"]


def test_a_deployment_in_another_namespace_labelled_with_the_victim_is_not_billed_to_it() -> None:
    """Issue 16, item 3: the attacker's own Deployment, labelled as the victim's with 1000 replicas
    of 8 CPUs, moved 8000 CPUs onto the victim's bill. Only children in the tenant's namespace
    whose owner exists count."""
    tenants = [tenant("victim", "VICTIM"), tenant("attacker", "EVIL")]
    sources = [
        {"kind": "DocumentSource", "metadata": {"name": "id", "namespace": "wallet-victim", "uid": "u-1"}}
    ]
    heavy = {"resources": {"requests": {"cpu": "8", "memory": "1Gi"}}}
    spoof = deployment("victim", "wallet-attacker", "id", 1000, heavy)  # in the attacker's namespace
    spoof["metadata"]["ownerReferences"][0]["uid"] = "u-1"  # even naming the victim's source
    unowned = child("Deployment", "victim", "wallet-victim", "x", {"replicas": 1000})  # no owner
    orphan = owned(deployment("victim", "wallet-victim", "gone", 1000, heavy), "gone")  # owner deleted
    stale = owned(deployment("victim", "wallet-victim", "id2", 1000, heavy), "id", uid="u-old")  # older uid
    claim = child(
        "PersistentVolumeClaim",
        "victim",
        "wallet-attacker",
        "c",
        {"resources": {"requests": {"storage": "1Ti"}}},
    )
    real = owned(deployment("victim", "wallet-victim", "id", 2, {}), "id", uid="u-1")
    rows = {
        row.tenant: row
        for row in usage_report(tenants, sources, [], [spoof, unowned, orphan, stale, claim, real])
    }
    assert rows["victim"].cpu_cores == Decimal("0.2")
    assert rows["victim"].replicas == 2
    assert rows["victim"].storage_bytes == 0
    assert rows["attacker"].cpu_cores == 0  # labelled as another tenant's: nobody's
