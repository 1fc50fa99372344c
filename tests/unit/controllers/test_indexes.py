"""The view's queries, and kopf watching nothing the operator's reflectors watch."""

from typing import Any

import kopf

from greenshift.config import PlatformConfig
from greenshift.controllers.indexes import ClusterView
from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.wiring import Runtime, build_registry


def route() -> dict[str, Any]:
    return {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "GatewayRoute",
        "metadata": {"name": "pub", "namespace": "wallet-a", "creationTimestamp": "2026-11-28T10:00:00Z"},
        "spec": {"host": "a.example.be", "pathPrefix": "/v1", "backend": {"service": {"name": "api"}}},
    }


def test_the_view_answers_by_namespace_claim_and_backend() -> None:
    view = ClusterView()
    view.resources["GatewayRoute"].upsert(route())
    key = ObjectKey("GatewayRoute", "wallet-a", "pub")
    assert view.resource(key) == route()
    assert view.dependents("wallet-a") == [key]
    assert view.count("GatewayRoute", "wallet-a") == 1
    assert view.routes_on_host("a.example.be") == [route()]
    assert view.routes_to("wallet-a", "api") == [key]
    tenant = {"apiVersion": "greenshift.io/v1alpha1", "kind": "WalletTenant", "metadata": {"name": "a"}}
    view.resources["WalletTenant"].upsert(tenant)
    assert view.tenants_claiming("wallet-a") == [("", "a")]


def test_kopf_watches_no_resource_the_operator_informers_do() -> None:
    """kopf's per-object workers and handler rounds cost a quarter of the CPU at a thousand
    tenants; the operator's informers watch everything it reads (docs/operator.md)."""
    runtime = Runtime(config=PlatformConfig(), connection=kopf.ConnectionInfo(server="http://127.0.0.1:9"))
    registry = build_registry(runtime)
    for handlers in (registry._indexing, registry._watching, registry._spawning, registry._changing):
        assert handlers.get_all_handlers() == []
