"""Drift repair: a child deleted or edited by someone else comes back, driven by its watch event.

The resync interval is an hour (see conftest), so only the watch can repair within the deadline.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from greenshift.kube import ResourceRef

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
    PDBS,
    PVCS,
    QUOTAS,
    ROUTES,
    SERVICES,
    SOURCES,
    Body,
    Kube,
    Operator,
    apply_when_possible,
    onboard,
    route,
    source,
    tenant,
    unique,
    without_allocated,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass(frozen=True)
class Tenancy:
    namespace: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tenancy(kube: Kube, operator: Operator) -> Tenancy:
    """One tenant with a source (autoscaled, cached: every source child) and a published route."""
    name = unique("drift")
    ns = f"wallet-{name}"
    host = f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host], viewers=[{"kind": "User", "name": "eve"}])
    autoscaling = {"minReplicas": 2, "maxReplicas": 4, "targetCPUUtilizationPercentage": 70}
    await apply_when_possible(
        kube, source(ns, "conn", connector={"autoscaling": autoscaling}, cache={"size": "1Gi"})
    )
    await kube.wait_ready(SOURCES, ns, "conn")
    await kube.apply(route(ns, "pub", host, "/conn/v1", {"documentSource": {"name": "conn"}}))
    await kube.wait_ready(ROUTES, ns, "pub")
    return Tenancy(ns)


CHILDREN: list[tuple[ResourceRef, str]] = [
    (QUOTAS, "greenshift-quota"),
    (LIMITS, "greenshift-limits"),
    (NETPOLS, "default-deny"),
    (NETPOLS, "allow-from-gateway"),
    (BINDINGS, "greenshift-owners"),
    (BINDINGS, "greenshift-viewers"),
    (CONFIGMAPS, "conn-config"),
    (DEPLOYMENTS, "conn"),
    (SERVICES, "conn"),
    (HPAS, "conn"),
    (PDBS, "conn"),
    (INGRESSES, "pub"),
]


@pytest.mark.parametrize(("ref", "name"), CHILDREN, ids=[f"{r.kind}-{n}" for r, n in CHILDREN])
async def test_deleted_child_is_recreated(kube: Kube, tenancy: Tenancy, ref: ResourceRef, name: str) -> None:
    before = await kube.must_get(ref, tenancy.namespace, name)
    await kube.delete(ref, tenancy.namespace, name)
    after = await kube.wait(
        ref, tenancy.namespace, name, lambda o: o["metadata"]["uid"] != before["metadata"]["uid"]
    )
    assert without_allocated(after.get("spec")) == without_allocated(before.get("spec"))
    assert after["metadata"]["labels"] == before["metadata"]["labels"]
    assert after["metadata"].get("ownerReferences") == before["metadata"].get("ownerReferences")


async def test_deleted_cache_volume_is_protected_while_used_then_recreated(
    kube: Kube, operator: Operator
) -> None:
    """Kubernetes keeps a PersistentVolumeClaim that a Pod uses (finalizer
    ``kubernetes.io/pvc-protection``) until no Pod does; the operator then recreates it."""
    name = unique("pvc")
    ns = f"wallet-{name}"
    await onboard(kube, name)
    await apply_when_possible(kube, source(ns, "conn", connector={"replicas": 1}, cache={"size": "1Gi"}))
    await kube.wait_ready(SOURCES, ns, "conn")
    before = await kube.must_get(PVCS, ns, "conn-cache")
    await kube.delete(PVCS, ns, "conn-cache")
    held = await kube.wait(PVCS, ns, "conn-cache", lambda o: bool(o["metadata"].get("deletionTimestamp")))
    assert "kubernetes.io/pvc-protection" in held["metadata"]["finalizers"]
    assert held["metadata"]["uid"] == before["metadata"]["uid"]  # in use: not gone, not replaced

    await kube.apply(tenant(name, suspended=True))  # connectors scaled to 0, data kept: no Pod uses it
    after = await kube.wait(
        PVCS, ns, "conn-cache", lambda o: o["metadata"]["uid"] != before["metadata"]["uid"], seconds=30
    )
    assert after["spec"]["resources"] == before["spec"]["resources"]
    assert not after["metadata"].get("deletionTimestamp")


def _set(path: tuple[str, ...], value: Any) -> Body:
    patch: Any = value
    for key in reversed(path):
        patch = {key: patch}
    return dict(patch)


def _at(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


EDITS: list[tuple[ResourceRef, str, tuple[str, ...], Any]] = [
    (QUOTAS, "greenshift-quota", ("spec", "hard"), {"requests.cpu": "100", "pods": "1000"}),
    (LIMITS, "greenshift-limits", ("spec", "limits"), [{"type": "Container", "max": {"cpu": "64"}}]),
    (NETPOLS, "default-deny", ("spec",), {"podSelector": {}, "policyTypes": []}),
    (NETPOLS, "allow-from-gateway", ("spec", "ingress"), [{}]),
    (BINDINGS, "greenshift-owners", ("subjects",), [{"kind": "User", "name": "mallory"}]),
    (CONFIGMAPS, "conn-config", ("data", "connector.json"), "{}"),
    (
        DEPLOYMENTS,
        "conn",
        ("spec", "template", "spec", "containers"),
        [{"name": "connector", "image": "evil.example/backdoor:latest"}],
    ),
    # (type NodePort: the tenant quota's services.nodeports 0 refuses it, tests/integration/security)
    (SERVICES, "conn", ("spec", "selector", "app.kubernetes.io/instance"), "someone-else"),
    (HPAS, "conn", ("spec", "maxReplicas"), 40),
    (PDBS, "conn", ("spec", "maxUnavailable"), 2),
    (INGRESSES, "pub", ("spec", "ingressClassName"), "rogue"),
    (NAMESPACES, "", ("metadata", "labels", "pod-security.kubernetes.io/enforce"), "privileged"),
]


@pytest.mark.parametrize(
    ("ref", "name", "path", "value"), EDITS, ids=[f"{e[0].kind}-{e[1]}-{e[2][-1]}" for e in EDITS]
)
async def test_edited_child_is_restored(
    kube: Kube, tenancy: Tenancy, ref: ResourceRef, name: str, path: tuple[str, ...], value: Any
) -> None:
    namespace, name = (None, tenancy.namespace) if ref is NAMESPACES else (tenancy.namespace, name)
    before = await kube.must_get(ref, namespace, name)
    edited = await kube.patch(ref, namespace, name, _set(path, value))
    assert _at(edited, path) != _at(before, path)
    restored: Callable[[Body], bool] = lambda o: _at(o, path) == _at(before, path)  # noqa: E731
    await kube.wait(ref, namespace, name, restored)


UNLABELLED = [(PVCS, "conn-cache"), (SERVICES, "conn"), (DEPLOYMENTS, "conn"), (NETPOLS, "allow-dns")]


@pytest.mark.parametrize(("ref", "name"), UNLABELLED, ids=[r.kind for r, _ in UNLABELLED])
async def test_child_unlabelled_is_taken_back(
    kube: Kube, tenancy: Tenancy, ref: ResourceRef, name: str
) -> None:
    """A child that loses the managed-by label leaves the watch (DELETED from the selector)."""
    await kube.patch(ref, tenancy.namespace, name, {"metadata": {"labels": {MANAGED_BY: None}}})
    await kube.wait(
        ref,
        tenancy.namespace,
        name,
        lambda o: (o["metadata"].get("labels") or {}).get(MANAGED_BY) == "greenshift-operator",
    )


async def test_widened_default_deny_is_narrowed_back(kube: Kube, tenancy: Tenancy) -> None:
    """Someone narrows default-deny's ``podSelector: {}`` to some pods: isolation must come back whole."""
    widened = {"spec": {"podSelector": {"matchLabels": {"app": "exempt"}}}}
    await kube.patch(NETPOLS, tenancy.namespace, "default-deny", widened)
    await kube.wait(NETPOLS, tenancy.namespace, "default-deny", lambda o: o["spec"]["podSelector"] == {})
