"""Suspending a tenant: connectors to 0, HPAs and PDBs pruned, routes unpublished, data kept; resume."""

import pytest

from .conftest import (
    DEPLOYMENTS,
    HPAS,
    INGRESSES,
    PDBS,
    PVCS,
    ROUTES,
    SOURCES,
    Kube,
    Operator,
    apply_when_possible,
    condition,
    onboard,
    route,
    source,
    tenant,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_suspend_and_resume(kube: Kube, operator: Operator) -> None:
    name = unique("susp")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    autoscaling = {"minReplicas": 2, "maxReplicas": 6, "targetCPUUtilizationPercentage": 50}
    await apply_when_possible(
        kube, source(ns, "scaled", connector={"autoscaling": autoscaling}, cache={"size": "1Gi"})
    )
    await kube.apply(source(ns, "fixed", connector={"replicas": 3}))
    await kube.apply(route(ns, "pub", host, "/scaled", {"documentSource": {"name": "scaled"}}))
    await kube.wait_ready(ROUTES, ns, "pub")
    for child in ("scaled", "fixed"):
        await kube.wait_ready(SOURCES, ns, child)
        await kube.must_get(PDBS, ns, child)
    await kube.must_get(HPAS, ns, "scaled")

    await kube.apply(tenant(name, allowedHosts=[host], suspended=True))
    for child in ("scaled", "fixed"):
        await kube.wait(DEPLOYMENTS, ns, child, lambda d: d["spec"].get("replicas") == 0)
        await kube.wait_gone(PDBS, ns, child)
        suspended = await kube.wait(
            SOURCES, ns, child, lambda s: condition(s, "Available").get("reason") == "Suspended"
        )
        assert condition(suspended, "Ready")["reason"] == "Suspended"
    await kube.wait_gone(HPAS, ns, "scaled")
    await kube.wait_gone(INGRESSES, ns, "pub")
    unpublished = await kube.wait_reason(ROUTES, ns, "pub", "False", "TenantSuspended")
    assert "url" not in unpublished["status"]
    await kube.must_get(PVCS, ns, "scaled-cache")

    await kube.apply(tenant(name, allowedHosts=[host]))
    await kube.wait(HPAS, ns, "scaled")
    await kube.wait(DEPLOYMENTS, ns, "fixed", lambda d: d["spec"].get("replicas") == 3)
    await kube.wait(PDBS, ns, "fixed")
    await kube.wait_ready(ROUTES, ns, "pub")
    await kube.must_get(INGRESSES, ns, "pub")
    for child in ("scaled", "fixed"):
        ready = await kube.wait_ready(SOURCES, ns, child)
        assert condition(ready, "Ready")["reason"] == "Ready"
