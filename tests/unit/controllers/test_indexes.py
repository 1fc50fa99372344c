"""The facts of a custom resource, each under its facet, in the one index kept for them."""

from typing import Any

import kopf

from greenshift.config import PlatformConfig
from greenshift.controllers import indexes
from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.wiring import Runtime, build_registry
from greenshift.runtime.packing import unpack


def route() -> dict[str, Any]:
    return {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "GatewayRoute",
        "metadata": {"name": "pub", "namespace": "wallet-a", "creationTimestamp": "2026-11-28T10:00:00Z"},
        "spec": {"host": "a.example.be", "pathPrefix": "/v1", "backend": {"service": {"name": "api"}}},
    }


def test_a_route_has_four_facets_and_a_tenant_two() -> None:
    facts = indexes.facts(route())
    key = ObjectKey("GatewayRoute", "wallet-a", "pub")
    assert unpack(facts[(indexes.RESOURCE, key)])["spec"]["host"] == "a.example.be"
    assert facts[(indexes.IN_NAMESPACE, "wallet-a")] == ("GatewayRoute", "pub")
    assert facts[(indexes.ROUTE_CLAIM, ("a.example.be", "/v1"))] == (
        "2026-11-28T10:00:00Z",
        "wallet-a",
        "pub",
    )
    assert facts[(indexes.ROUTE_BACKEND, ("wallet-a", "api"))] == "pub"
    tenant = {"apiVersion": "greenshift.io/v1alpha1", "kind": "WalletTenant", "metadata": {"name": "a"}}
    assert {facet for facet, _ in indexes.facts(tenant)} == {indexes.RESOURCE, indexes.TENANT_NAMESPACE}


def test_kopf_watches_no_resource_the_operator_informers_do() -> None:
    """kopf's per-object workers and handler rounds cost a quarter of the CPU at a thousand
    tenants; the operator's informers watch everything it reads (docs/operator.md)."""
    runtime = Runtime(config=PlatformConfig(), connection=kopf.ConnectionInfo(server="http://127.0.0.1:9"))
    registry = build_registry(runtime)
    for handlers in (registry._indexing, registry._watching, registry._spawning, registry._changing):
        assert handlers.get_all_handlers() == []
