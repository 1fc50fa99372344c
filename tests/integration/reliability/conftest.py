"""Helpers of the reliability tests: a platform per test, fleets, and snapshots to compare runs.

Each test starts what it needs (a dev cluster, possibly with faults or a schema validator, and
an operator in-process or as a process), because the tests break things on purpose. The
helpers of ``tests/integration/operator/conftest.py`` (the tests' client, waits, manifests, the
in-process operator) are reused from there.
"""

import contextlib
import copy
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import kopf

from greenshift.addon_crds import addon_crds
from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.devcluster import DevCluster
from greenshift.devcluster.faults import FaultHook
from greenshift.kube import KubeClient, ResourceRef
from greenshift.runner import OperatorOptions
from greenshift.schemas import load_crds
from greenshift.validation.schema import validate_schema
from integration.operator.conftest import (
    BINDINGS,
    CONFIGMAPS,
    DEPLOYMENTS,
    HPAS,
    INGRESSES,
    LIMITS,
    NAMESPACES,
    NETPOLS,
    PDBS,
    PVCS,
    QUOTAS,
    RESYNC_SECONDS,
    ROUTES,
    SERVICES,
    SOURCES,
    TENANTS,
    Body,
    Kube,
    Operator,
    apply_when_possible,
    condition,
    eventually,
    observed,
    route,
    source,
    tenant,
)

CHILD_KINDS: tuple[ResourceRef, ...] = (
    NAMESPACES,
    QUOTAS,
    LIMITS,
    NETPOLS,
    BINDINGS,
    CONFIGMAPS,
    DEPLOYMENTS,
    SERVICES,
    PVCS,
    HPAS,
    PDBS,
    INGRESSES,
)
CUSTOM_KINDS: tuple[ResourceRef, ...] = (TENANTS, SOURCES, ROUTES)
BOOTSTRAP_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
SERVER_SET = ("resourceVersion", "uid", "managedFields", "creationTimestamp", "generation")
HASH_ANNOTATION = "greenshift.io/applied-hash"


@dataclass
class Platform:
    cluster: DevCluster
    kube: Kube
    operator: Operator


@contextlib.asynccontextmanager
async def platform(
    *,
    faults: FaultHook | None = None,
    validator: Callable[[dict[str, Any]], list[str]] | None = None,
    config: PlatformConfig | None = None,
    options: OperatorOptions | None = None,
    start: bool = True,
) -> AsyncIterator[Platform]:
    """A dev cluster with the CRDs, the tests' client and an operator (started unless ``start=False``)."""
    config = config or parse_platform_config({})
    async with (
        DevCluster(available_deployments=True, faults=faults, validator=validator) as cluster,
        KubeClient(kopf.ConnectionInfo(server=cluster.url, insecure=True)) as client,
    ):
        for crd in [*load_crds(), *addon_crds(config)]:
            await client.apply(crd)
        operator = Operator(cluster, config, options or OperatorOptions(resync_seconds=RESYNC_SECONDS))
        if start:
            await operator.start()
        try:
            yield Platform(cluster, Kube(client), operator)
        finally:
            await operator.stop()


def fleet_names(count: int) -> list[str]:
    return [f"t{i:02d}" for i in range(count)]


async def apply_fleet(kube: Kube, names: Iterable[str], *, cache: bool = False) -> None:
    """Per tenant: the WalletTenant, a DocumentSource ``src`` and a GatewayRoute ``api`` to it."""
    names = list(names)
    for name in names:
        await kube.apply(tenant(name, allowedHosts=[f"{name}.wallet.example.be"]))
    for name in names:
        namespace = f"wallet-{name}"
        extra: dict[str, Any] = {"cache": {"size": "1Gi"}} if cache else {}
        await apply_when_possible(kube, source(namespace, "src", **extra))
        await kube.apply(
            route(
                namespace, "api", f"{name}.wallet.example.be", "/src/v1", {"documentSource": {"name": "src"}}
            )
        )


async def fleet_ready(kube: Kube, names: Iterable[str]) -> bool:
    """Whether every resource of the fleet is Ready and describes its current generation."""
    names = list(names)
    tenants = {o["metadata"]["name"]: o for o in await kube.list(TENANTS)}
    sources = {o["metadata"]["namespace"]: o for o in await kube.list(SOURCES)}
    routes = {o["metadata"]["namespace"]: o for o in await kube.list(ROUTES)}
    for name in names:
        for obj in (tenants.get(name), sources.get(f"wallet-{name}"), routes.get(f"wallet-{name}")):
            if obj is None or condition(obj, "Ready").get("status") != "True" or not observed(obj):
                return False
    return True


async def converge(platform: Platform, names: Iterable[str], *, seconds: float = 60.0) -> float:
    """Until the fleet is Ready and the operator's queue is empty; returns the seconds it took."""
    names = list(names)
    started = time.monotonic()

    async def settled() -> bool:
        if not await fleet_ready(platform.kube, names):
            return False
        return await platform.operator.call(_queue_empty(platform.operator))

    await eventually(settled, seconds=seconds, what="the fleet to converge")
    return time.monotonic() - started


async def settle(platform: Platform) -> None:
    """Until the operator has nothing queued, running or scheduled (a tenant's usage comes later)."""
    await eventually(
        lambda: platform.operator.call(_queue_empty(platform.operator)), what="the operator to settle"
    )


async def _queue_empty(operator: Operator) -> bool:
    assert operator.runtime is not None
    assert operator.runtime.context is not None
    return len(operator.runtime.queue) == 0


def _normal(obj: Body, uids: dict[str, str]) -> Body:
    """An object without what the server sets; owner uids replaced by the owner's kind and name."""
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    for key in SERVER_SET:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    # The applied-hash is a digest of the desired object, owner uid included: compared through the rest.
    annotations.pop(HASH_ANNOTATION, None)
    if not annotations:
        meta.pop("annotations", None)
    for ref in meta.get("ownerReferences") or []:
        ref["uid"] = uids.get(ref.get("uid", ""), "unknown-owner")
    return obj


def _status_view(obj: Body) -> Body:
    status = dict(obj.get("status") or {})
    status["conditions"] = sorted(
        (c.get("type"), c.get("status"), c.get("reason")) for c in status.get("conditions") or []
    )
    return status


async def snapshot(kube: Kube) -> dict[tuple[str, str, str], Body]:
    """Every custom resource (with its status conditions' types, statuses and reasons) and every
    object in the tenants' namespaces and the namespaces themselves, normalised for comparison."""
    custom = {ref: await kube.list(ref) for ref in CUSTOM_KINDS}
    uids = {
        o["metadata"]["uid"]: f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
        for objs in custom.values()
        for o in objs
    }
    result: dict[tuple[str, str, str], Body] = {}
    for objs in custom.values():
        for obj in objs:
            view = _normal(obj, uids)
            view["status"] = _status_view(obj)
            result[obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]] = view
    for ref in CHILD_KINDS:
        for obj in await kube.list(ref):
            meta = obj["metadata"]
            namespace = meta.get("namespace") or ""
            if namespace in BOOTSTRAP_NAMESPACES or meta["name"] in BOOTSTRAP_NAMESPACES:
                continue
            view = _normal(obj, uids)
            view.pop("status", None)
            result[obj["kind"], namespace, meta["name"]] = view
    return result


def differences(expected: dict[Any, Body], actual: dict[Any, Body]) -> list[str]:
    """What differs between two snapshots, one line per object (empty when identical)."""
    lines = [f"missing: {key}" for key in sorted(expected.keys() - actual.keys())]
    lines += [f"unexpected: {key}" for key in sorted(actual.keys() - expected.keys())]
    lines += [
        f"differs: {key}: expected {expected[key]} got {actual[key]}"
        for key in sorted(expected.keys() & actual.keys())
        if expected[key] != actual[key]
    ]
    return lines


def schema_validator(obj: dict[str, Any]) -> list[str]:
    """The API server's CRD schema validation (types, patterns, CEL, unknown fields), as the dev
    cluster's ``validator`` hook; other objects pass."""
    if not str(obj.get("apiVersion", "")).startswith("greenshift.io/"):
        return []
    return [str(p) for p in validate_schema(obj) if p.severity == "error"]
