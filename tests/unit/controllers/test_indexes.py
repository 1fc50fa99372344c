"""The facts of a custom resource, each under its facet, in the one index kept for them."""

from typing import Any

import kopf

from greenshift.config import PlatformConfig
from greenshift.controllers import indexes
from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.packing import unpack
from greenshift.controllers.wiring import NoDiffBase, configure_settings


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


def test_kopf_keeps_no_diff_base() -> None:
    settings = kopf.OperatorSettings()
    configure_settings(settings, PlatformConfig())
    storage = settings.persistence.diffbase_storage
    assert isinstance(storage, NoDiffBase)
    body = kopf.Body(route())
    patch = kopf.Patch()
    storage.store(body=body, patch=patch, essence=storage.build(body=body))
    assert storage.fetch(body=body) is None
    assert not patch  # nothing is ever written to the resource for kopf
