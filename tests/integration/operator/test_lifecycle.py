"""Create, update and delete of each kind, and the children that result (default platform)."""

from typing import Any

import pytest

from .conftest import (
    BINDINGS,
    CONFIGMAPS,
    DEPLOYMENTS,
    HPAS,
    INGRESSES,
    LIMITS,
    MANAGED_BY,
    NAMESPACES,
    NETPOLS,
    OWNER,
    PDBS,
    PVCS,
    QUOTAS,
    ROUTES,
    SERVICES,
    SOURCES,
    TENANT,
    TENANTS,
    Body,
    Kube,
    Operator,
    apply_when_possible,
    onboard,
    route,
    source,
    tenant,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def assert_child(child: Body, owner: Body, tenant_name: str, *, owned: bool = True) -> None:
    """Labels, owner annotation and (when ``owned``) a controller reference to the live owner."""
    meta = child["metadata"]
    assert meta["labels"][MANAGED_BY] == "greenshift-operator"
    assert meta["labels"][TENANT] == tenant_name
    owner_meta = owner["metadata"]
    assert meta["annotations"][OWNER] == (
        f"{owner['kind']}/{owner_meta.get('namespace', '')}/{owner_meta['name']}"
    )
    references = meta.get("ownerReferences") or []
    if owned:
        assert references == [
            {
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": owner_meta["name"],
                "uid": owner_meta["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    else:
        assert references == []


async def test_tenant_children_and_quota_update(kube: Kube, operator: Operator) -> None:
    name = unique("acme")
    viewers = [{"kind": "Group", "name": "auditors"}]
    owner = await onboard(
        kube, name, egress={"allowedCIDRs": ["10.1.0.0/16"]}, quota={"cpu": "2"}, viewers=viewers
    )
    ns = f"wallet-{name}"
    namespace = await kube.must_get(NAMESPACES, None, ns)
    assert_child(namespace, owner, name, owned=False)  # never garbage-collected
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    quota = await kube.must_get(QUOTAS, ns, "greenshift-quota")
    assert_child(quota, owner, name)
    assert quota["spec"]["hard"]["requests.cpu"] == "2"
    assert quota["spec"]["hard"]["count/documentsources.greenshift.io"] == "10"
    assert_child(await kube.must_get(LIMITS, ns, "greenshift-limits"), owner, name)
    policies = {p["metadata"]["name"]: p for p in await kube.list(NETPOLS, ns)}
    assert set(policies) == {
        "default-deny",
        "allow-same-namespace",
        "allow-dns",
        "allow-from-gateway",
        "allow-egress-upstreams",
    }
    for policy in policies.values():
        assert_child(policy, owner, name)
    bindings = {b["metadata"]["name"]: b for b in await kube.list(BINDINGS, ns)}
    assert set(bindings) == {"greenshift-owners", "greenshift-viewers"}
    assert bindings["greenshift-owners"]["roleRef"]["name"] == "greenshift-tenant-admin"
    for binding in bindings.values():
        assert_child(binding, owner, name)

    await kube.apply(tenant(name, quota={"cpu": "6", "pods": 12}))
    quota = await kube.wait(
        QUOTAS, ns, "greenshift-quota", lambda q: q["spec"]["hard"]["requests.cpu"] == "6"
    )
    assert quota["spec"]["hard"]["pods"] == "12"
    # egress.allowedCIDRs and the viewers went away with the re-apply: so do their children.
    await kube.wait_gone(NETPOLS, ns, "allow-egress-upstreams")
    await kube.wait_gone(BINDINGS, ns, "greenshift-viewers")


async def test_tenant_delete_policy_deletes_the_namespace(kube: Kube, operator: Operator) -> None:
    name = unique("gone")
    await onboard(kube, name, deletionPolicy="Delete")
    await kube.delete(TENANTS, None, name)
    await kube.wait_gone(TENANTS, None, name)
    await kube.wait_gone(NAMESPACES, None, f"wallet-{name}")


async def test_tenant_retain_policy_releases_the_namespace(kube: Kube, operator: Operator) -> None:
    name = unique("keep")
    ns = f"wallet-{name}"
    await onboard(kube, name)
    await apply_when_possible(kube, source(ns, "docs", cache={"size": "1Gi"}))
    await kube.wait_ready(SOURCES, ns, "docs")
    await kube.delete(TENANTS, None, name)
    await kube.wait_gone(TENANTS, None, name)
    namespace = await kube.must_get(NAMESPACES, None, ns)
    assert "deletionTimestamp" not in namespace["metadata"]
    assert MANAGED_BY not in namespace["metadata"]["labels"]
    for ref, child in (
        (QUOTAS, "greenshift-quota"),
        (LIMITS, "greenshift-limits"),
        (NETPOLS, "default-deny"),
    ):
        obj = await kube.must_get(ref, ns, child)
        assert not obj["metadata"].get("ownerReferences")
        assert MANAGED_BY not in (obj["metadata"].get("labels") or {})
        assert OWNER not in (obj["metadata"].get("annotations") or {})
    # The tenant's workloads and data stay too.
    await kube.must_get(DEPLOYMENTS, ns, "docs")
    await kube.must_get(PVCS, ns, "docs-cache")


async def test_document_source_children_updates_and_delete(kube: Kube, operator: Operator) -> None:
    name = unique("src")
    ns = f"wallet-{name}"
    await onboard(kube, name)
    await apply_when_possible(kube, source(ns, "ids", connector={"replicas": 2}))
    owner = await kube.wait_ready(SOURCES, ns, "ids")
    for ref, child in ((CONFIGMAPS, "ids-config"), (DEPLOYMENTS, "ids"), (SERVICES, "ids"), (PDBS, "ids")):
        assert_child(await kube.must_get(ref, ns, child), owner, name)
    deployment = await kube.must_get(DEPLOYMENTS, ns, "ids")
    assert deployment["spec"]["replicas"] == 2
    assert await kube.get(HPAS, ns, "ids") is None
    assert await kube.get(PVCS, ns, "ids-cache") is None

    autoscaling = {"minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 60}
    await kube.apply(source(ns, "ids", connector={"replicas": 2, "autoscaling": autoscaling}))
    hpa = await kube.wait(HPAS, ns, "ids")
    assert_child(hpa, owner, name)
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)

    await kube.apply(source(ns, "ids", connector={"replicas": 3}))
    await kube.wait_gone(HPAS, ns, "ids")
    await kube.wait(DEPLOYMENTS, ns, "ids", lambda d: d["spec"]["replicas"] == 3)

    await kube.apply(source(ns, "ids", connector={"replicas": 1}, cache={"size": "2Gi"}))
    pvc = await kube.wait(PVCS, ns, "ids-cache")
    assert_child(pvc, owner, name, owned=False)  # retainOnDelete defaults to true
    assert pvc["spec"]["resources"]["requests"]["storage"] == "2Gi"
    await kube.wait_gone(PDBS, ns, "ids")  # one replica: no disruption budget

    await kube.delete(SOURCES, ns, "ids")
    await kube.wait_gone(SOURCES, ns, "ids")
    for ref, child in ((CONFIGMAPS, "ids-config"), (DEPLOYMENTS, "ids"), (SERVICES, "ids")):
        await kube.wait_gone(ref, ns, child)
    assert await kube.get(PVCS, ns, "ids-cache") is not None


async def test_cache_not_retained_is_deleted_with_its_source(kube: Kube, operator: Operator) -> None:
    name = unique("noretain")
    ns = f"wallet-{name}"
    await onboard(kube, name)
    await apply_when_possible(kube, source(ns, "tmp", cache={"size": "1Gi", "retainOnDelete": False}))
    owner = await kube.wait_ready(SOURCES, ns, "tmp")
    assert_child(await kube.must_get(PVCS, ns, "tmp-cache"), owner, name)
    await kube.delete(SOURCES, ns, "tmp")
    await kube.wait_gone(SOURCES, ns, "tmp")
    await kube.wait_gone(PVCS, ns, "tmp-cache")


async def test_gateway_route_children_update_and_delete(kube: Kube, operator: Operator) -> None:
    name = unique("gw")
    ns = f"wallet-{name}"
    host = f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await apply_when_possible(kube, source(ns, "api"))
    await kube.apply(route(ns, "pub", host, "/documents/v1", {"documentSource": {"name": "api"}}))
    owner = await kube.wait_ready(ROUTES, ns, "pub")
    assert owner["status"]["url"] == f"https://{host}/documents/v1"
    ingress = await kube.must_get(INGRESSES, ns, "pub")
    assert_child(ingress, owner, name)
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == host
    assert rule["http"]["paths"][0]["path"] == "/documents/v1"
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "api"

    await kube.apply(route(ns, "pub", host, "/documents/v2", {"documentSource": {"name": "api"}}))

    def moved(obj: dict[str, Any]) -> bool:
        return bool(obj["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/documents/v2")

    await kube.wait(INGRESSES, ns, "pub", moved)
    await kube.wait(ROUTES, ns, "pub", lambda r: r["status"].get("url") == f"https://{host}/documents/v2")

    await kube.delete(ROUTES, ns, "pub")
    await kube.wait_gone(ROUTES, ns, "pub")
    await kube.wait_gone(INGRESSES, ns, "pub")
    # The source is left alone: Ready once its Pods run (on a real cluster, whenever the kubelet
    # has started them: not necessarily by now).
    await kube.wait_ready(SOURCES, ns, "api")
