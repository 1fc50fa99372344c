"""The wake rules: which change queues which resource, from the old and the new object."""

from typing import Any

from test_echo import context

from greenshift.controllers import watches
from greenshift.controllers.keys import ObjectKey
from greenshift.runtime.packing import pack
from greenshift.runtime.store import Change


def route(name: str, host: str, created: str, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "GatewayRoute",
        "metadata": {"name": name, "namespace": "wallet-a", "creationTimestamp": created, **meta},
        "spec": {"host": host, "pathPrefix": "/v1", "backend": {"documentSource": {"name": "src"}}},
    }


def change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> Change:
    return Change(new, pack(old) if old is not None else None)


def test_a_route_that_lets_go_of_a_claim_wakes_the_other_claimants_of_both() -> None:
    ctx = context()
    for body in (route("old", "a.example.be", "1"), route("next", "b.example.be", "2")):
        ctx.view.resources["GatewayRoute"].upsert(body)
    moved = route("mover", "b.example.be", "3")
    assert list(watches.other_claimants(ctx, change(route("mover", "a.example.be", "3"), moved))) == [
        ObjectKey("GatewayRoute", "wallet-a", "old"),
        ObjectKey("GatewayRoute", "wallet-a", "next"),
    ]
    assert list(watches.other_claimants(ctx, change(moved, {**moved, "status": {"x": 1}}))) == []


def test_a_source_wakes_its_routes_when_it_observes_a_new_generation() -> None:
    ctx = context()
    ctx.view.resources["GatewayRoute"].upsert(route("r", "a.example.be", "1"))
    source = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "DocumentSource",
        "metadata": {"name": "src", "namespace": "wallet-a", "generation": 2},
    }
    observed = {**source, "status": {"observedGeneration": 2}}
    assert list(watches.routes_to_source(ctx, change(source, observed))) == [
        ObjectKey("GatewayRoute", "wallet-a", "r")
    ]
    assert (
        list(
            watches.routes_to_source(
                ctx, change(observed, {**observed, "status": {"observedGeneration": 2, "x": 1}})
            )
        )
        == []
    )


def test_a_tenant_wakes_its_namespace_on_a_new_generation_only() -> None:
    ctx = context()
    ctx.view.resources["GatewayRoute"].upsert(route("r", "a.example.be", "1"))
    tenant = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "WalletTenant",
        "metadata": {"name": "a", "generation": 1},
    }
    newer = {**tenant, "metadata": {**tenant["metadata"], "generation": 2}}
    assert list(watches.tenant_dependents(ctx, change(tenant, {**tenant, "status": {}}))) == []
    assert list(watches.tenant_dependents(ctx, change(tenant, newer))) == [
        ObjectKey("GatewayRoute", "wallet-a", "r")
    ]
    assert list(watches.tenant_dependents(ctx, change(newer, None))) == [
        ObjectKey("GatewayRoute", "wallet-a", "r")
    ]


def quota(used: dict[str, str], hard: dict[str, str] | None = None, **labels: str) -> dict[str, Any]:
    limits = {"pods": "40", "requests.cpu": "4"}
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {
            "name": "greenshift-quota",
            "namespace": "wallet-a",
            "labels": {"app.kubernetes.io/managed-by": "greenshift-operator", **labels},
            "annotations": {"greenshift.io/owner": "WalletTenant//a"},
        },
        "spec": {"hard": limits},
        "status": {"hard": limits if hard is None else hard, "used": used},
    }


def test_the_quota_controller_counting_wakes_the_tenant_later_and_anything_else_at_once() -> None:
    """Usage moves Pod by Pod: one delayed status write gathers it; a quota taken up (the tenant
    becomes Ready) or edited (drift) wakes the tenant at once."""
    ctx = context()
    tenant = [ObjectKey("WalletTenant", "", "a")]
    zero = quota({"pods": "0", "requests.cpu": "0"})
    counted = quota({"pods": "1", "requests.cpu": "100m"})
    assert list(watches.owner(ctx, change(zero, counted))) == []
    assert list(watches.quota_usage(ctx, change(zero, counted))) == tenant
    taken_up = change(quota({}, hard={}), zero)
    assert list(watches.owner(ctx, taken_up)) == tenant
    assert list(watches.quota_usage(ctx, taken_up)) == []
    edited = change(zero, quota({"pods": "0", "requests.cpu": "0"}, team="mallory"))
    assert list(watches.owner(ctx, edited)) == tenant
    assert list(watches.quota_usage(ctx, edited)) == []


def deployment(wanted: int, created: int, observed: int = 1, **conditions: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "docs", "namespace": "wallet-a", "generation": 1},
        "spec": {"replicas": wanted},
        "status": {
            "observedGeneration": observed,
            "replicas": created,
            "conditions": [{"type": kind, "status": status} for kind, status in conditions.items()],
        },
    }


def test_a_connector_that_stops_starting_wakes_its_tenant_once() -> None:
    """The tenant holds a usage report while a new connector's Pods are being created; Pods
    refused, or none to create, move no quota, so the Deployment's own change must wake it."""
    ctx = context()
    ctx.view.resources["WalletTenant"].upsert(
        {
            "apiVersion": "greenshift.io/v1alpha1",
            "kind": "WalletTenant",
            "metadata": {"name": "a"},
            "spec": {},
        }
    )
    tenant = [ObjectKey("WalletTenant", "", "a")]
    starting = deployment(2, 0)
    assert list(watches.tenant_of_started_connector(ctx, change(None, starting))) == []
    assert list(watches.tenant_of_started_connector(ctx, change(starting, deployment(2, 1)))) == []
    assert list(watches.tenant_of_started_connector(ctx, change(starting, deployment(2, 2)))) == tenant
    refused = deployment(2, 0, ReplicaFailure="True")
    assert list(watches.tenant_of_started_connector(ctx, change(starting, refused))) == tenant
    empty = deployment(0, 0, observed=0)
    assert list(watches.tenant_of_started_connector(ctx, change(empty, deployment(0, 0)))) == tenant
    settled = deployment(2, 2)
    assert (
        list(watches.tenant_of_started_connector(ctx, change(settled, deployment(2, 2, Available="True"))))
        == []
    )
