"""Issue 16, item 2, the operator's side: an object labelled as the operator's and annotated as
another tenant's child is no child. On the real API server, without the admission policy that
refuses such labels (deploy/admission-policies.yaml), so that the operator alone is tested."""

import base64
import os

import pytest

from greenshift.controllers.keys import OWNER_ANNOTATION

from .conftest import (
    CONFIGMAPS,
    MANAGED_BY,
    SOURCES,
    TENANTS,
    Body,
    Kube,
    Operator,
    apply_when_possible,
    onboard,
    source,
    tenant,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
BIG = base64.b64encode(os.urandom(675_000)).decode()  # the review's 0.93 MB ConfigMaps, incompressible


def forged(namespace: str, name: str, owner: str) -> Body:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MANAGED_BY: "greenshift-operator"},
            "annotations": {OWNER_ANNOTATION: owner},
        },
        "data": {"blob": BIG},
    }


async def test_a_forged_child_in_another_namespace_is_neither_pruned_nor_held(
    kube: Kube, operator: Operator
) -> None:
    victim, attacker = unique("victim"), unique("attacker")
    await onboard(kube, victim)
    await onboard(kube, attacker)
    victim_ns, attacker_ns = f"wallet-{victim}", f"wallet-{attacker}"
    await apply_when_possible(kube, source(victim_ns, "docs"))
    await kube.wait_ready(SOURCES, victim_ns, "docs")
    claims = {
        "claims-source": f"DocumentSource/{victim_ns}/docs",
        "claims-tenant": f"WalletTenant//{victim}",
        **{f"bulk-{i}": f"DocumentSource/{victim_ns}/docs" for i in range(18)},
    }
    for name, owner in claims.items():
        await kube.create(forged(attacker_ns, name, owner))

    # Both owners reconcile (a spec change each) with the forged objects in the cluster.
    await kube.apply(source(victim_ns, "docs", displayName="Changed"))
    await kube.apply(tenant(victim, displayName="Changed"))
    await kube.wait(SOURCES, victim_ns, "docs", lambda o: o["status"].get("observedGeneration") == 2)
    await kube.wait(TENANTS, None, victim, lambda o: o["status"].get("observedGeneration") == 2)
    await operator.idle()
    for name in claims:
        assert await kube.get(CONFIGMAPS, attacker_ns, name) is not None, name  # not pruned

    # Not cached either, but the claim on a WalletTenant: its namespace is known only from the
    # tenant, so such an object is held (and ignored); the admission policy and the quota's
    # ConfigMap count bound that (docs/security.md, item 2).
    assert operator.runtime is not None
    held = operator.runtime.view.children[CONFIGMAPS]
    assert [key[1] for key in held if key[0] == attacker_ns and key[1] in claims] == ["claims-tenant"]
