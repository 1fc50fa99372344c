"""The operator stopped and started again: pending deletions complete, interrupted work converges.

These tests stop and start the module's operator, so they get a cluster and operator of their own.
"""

import asyncio
import json
import random
import re
from typing import Any

import pytest

from greenshift.controllers.children import HASH_ANNOTATION
from greenshift.kube import ResourceRef

from .conftest import (
    BINDINGS,
    CONFIGMAPS,
    DEPLOYMENTS,
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
    without_allocated,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

SERVER_SET = ("resourceVersion", "uid", "managedFields", "creationTimestamp", "generation")
CHILD_KINDS: list[ResourceRef] = [
    QUOTAS,
    LIMITS,
    NETPOLS,
    BINDINGS,
    CONFIGMAPS,
    DEPLOYMENTS,
    SERVICES,
    PVCS,
    PDBS,
    INGRESSES,
]


async def test_deletions_made_while_down_complete_after_restart(kube: Kube, operator: Operator) -> None:
    name = unique("down")
    ns = f"wallet-{name}"
    await onboard(kube, name)
    await apply_when_possible(kube, source(ns, "docs", cache={"size": "1Gi"}))
    await kube.wait_ready(SOURCES, ns, "docs")
    await operator.stop()
    try:
        await kube.delete(SOURCES, ns, "docs")  # no finalizer: garbage collection needs no operator
        await kube.wait_gone(SOURCES, ns, "docs")
        await kube.wait_gone(DEPLOYMENTS, ns, "docs")
        await kube.delete(TENANTS, None, name)
        held = await kube.must_get(TENANTS, None, name)
        assert held["metadata"]["deletionTimestamp"]  # its deletion policy needs the operator
    finally:
        await operator.start()
    await kube.wait_gone(TENANTS, None, name)
    await kube.must_get(PVCS, ns, "docs-cache")  # retained data
    namespace = await kube.must_get(NAMESPACES, None, ns)
    assert MANAGED_BY not in namespace["metadata"]["labels"]


def comparable(obj: Body, rename: dict[str, str]) -> tuple[str, Any]:
    """A child's identity and content, without server-set metadata and status, with the run's names
    replaced by neutral ones."""
    meta = {k: v for k, v in obj["metadata"].items() if k not in SERVER_SET}
    for reference in meta.get("ownerReferences") or []:
        reference.pop("uid")
    # A digest of the desired child, names included: equal names would give equal hashes.
    meta["annotations"] = {k: v for k, v in meta.get("annotations", {}).items() if k != HASH_ANNOTATION}
    content = {k: v for k, v in obj.items() if k != "status"}
    if obj["kind"] == "Service":
        content["spec"] = without_allocated(obj.get("spec"))
    text = json.dumps({**content, "metadata": meta}, sort_keys=True)
    for old, new in rename.items():
        text = re.sub(re.escape(old) + r"(?!\d)", new, text)
    body = json.loads(text)
    return f"{body['kind']} {body['metadata'].get('namespace')}/{body['metadata']['name']}", body


async def children_of(kube: Kube, namespaces: list[str]) -> list[Body]:
    found = [o for o in await kube.list(NAMESPACES) if o["metadata"]["name"] in namespaces]
    for ns in namespaces:
        for ref in CHILD_KINDS:
            found += await kube.list(ref, ns)
    return found


async def apply_tenancies(kube: Kube, names: list[str]) -> None:
    for name in names:
        host = f"{name}.wallet.example.be"
        await kube.apply(tenant(name, allowedHosts=[host], quota={"cpu": "3"}))
    for name in names:
        ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
        await apply_when_possible(kube, source(ns, "docs", connector={"replicas": 2}, cache={"size": "1Gi"}))
        await kube.apply(route(ns, "pub", host, "/docs", {"documentSource": {"name": "docs"}}))


async def wait_all_ready(kube: Kube, names: list[str]) -> None:
    for name in names:
        ns = f"wallet-{name}"
        await kube.wait_ready(TENANTS, None, name)
        await kube.wait_ready(SOURCES, ns, "docs")
        await kube.wait_ready(ROUTES, ns, "pub")


async def test_interrupted_run_converges_to_a_clean_run(kube: Kube, operator: Operator) -> None:
    clean = [unique("clean") for _ in range(10)]
    await apply_tenancies(kube, clean)
    await wait_all_ready(kube, clean)

    interrupted = [unique("cut") for _ in range(10)]
    applying = asyncio.create_task(apply_tenancies(kube, interrupted))
    await asyncio.sleep(random.uniform(0.05, 0.5))  # a random point mid-reconcile, not an assertion
    await operator.stop()
    try:
        await asyncio.sleep(0)  # let the applier notice no operator creates namespaces any more
    finally:
        await operator.start()
    await applying
    await wait_all_ready(kube, interrupted)
    await operator.idle()

    def rename(names: list[str]) -> dict[str, str]:
        return {name: f"tenant{i}" for i, name in enumerate(names)}

    def snapshot(children: list[Body], names: list[str]) -> dict[str, Any]:
        pairs = [comparable(o, rename(names)) for o in children]
        snap = dict(pairs)
        assert len(snap) == len(pairs)  # no duplicates
        return snap

    expected = snapshot(await children_of(kube, [f"wallet-{n}" for n in clean]), clean)
    actual = snapshot(await children_of(kube, [f"wallet-{n}" for n in interrupted]), interrupted)
    assert sorted(actual) == sorted(expected)
    for key, body in expected.items():
        assert actual[key] == body, key
