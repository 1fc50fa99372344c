"""Status as API.md has it: conditions, observedGeneration, lastTransitionTime, fields; no-op resyncs."""

import asyncio
import re
from typing import Any

import pytest

from greenshift.controllers.watches import USAGE_DELAY_SECONDS
from greenshift.envtest import OPERATOR, ControlPlane

from .conftest import (
    QUOTAS,
    ROUTES,
    SOURCES,
    TENANTS,
    Body,
    Kube,
    Operator,
    apply_when_possible,
    condition,
    next_second,
    onboard,
    route,
    source,
    tenant,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONDITIONS = {
    "WalletTenant": {"Ready", "NamespaceReady", "PoliciesApplied"},
    "DocumentSource": {"Ready", "Available", "Progressing"},
    "GatewayRoute": {"Ready", "Accepted"},
}
CAMEL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def assert_conditions(obj: Body) -> None:
    status = obj["status"]
    generation = obj["metadata"]["generation"]
    assert status["observedGeneration"] == generation
    conditions = status["conditions"]
    assert {c["type"] for c in conditions} == CONDITIONS[obj["kind"]]
    assert len(conditions) == len(CONDITIONS[obj["kind"]])
    for cond in conditions:
        assert cond["status"] in ("True", "False", "Unknown")
        assert CAMEL_CASE.match(cond["reason"]), cond
        assert cond["message"]
        assert cond["observedGeneration"] == generation
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", cond["lastTransitionTime"])


async def three_kinds(kube: Kube) -> tuple[str, str, str]:
    name = unique("status")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await apply_when_possible(kube, source(ns, "docs", connector={"replicas": 2}))
    await kube.apply(route(ns, "pub", host, "/docs", {"documentSource": {"name": "docs"}}))
    await kube.wait_ready(ROUTES, ns, "pub")
    await kube.wait_ready(SOURCES, ns, "docs")
    counted = {"documentSources": 1, "gatewayRoutes": 1}
    await kube.wait(TENANTS, None, name, lambda t: counted.items() <= t["status"].get("usage", {}).items())
    return name, ns, host


async def test_status_fields_and_conditions(kube: Kube, operator: Operator) -> None:
    name, ns, host = await three_kinds(kube)
    owner = await kube.wait(
        TENANTS, None, name, lambda t: t["status"].get("usage", {}).get("gatewayRoutes") == 1
    )
    assert owner["status"]["namespace"] == ns
    assert owner["status"]["usage"]["documentSources"] == 1
    docs = await kube.must_get(SOURCES, ns, "docs")
    assert docs["status"]["readyReplicas"] == 2
    assert docs["status"]["endpoint"] == f"http://docs.{ns}.svc.cluster.local"
    pub = await kube.must_get(ROUTES, ns, "pub")
    assert pub["status"]["url"] == f"https://{host}/docs"
    for obj in (owner, docs, pub):
        assert_conditions(obj)
        assert condition(obj, "Ready")["status"] == "True"


async def test_refusals_have_the_conditions_too(kube: Kube, operator: Operator) -> None:
    name = unique("refused")
    ns = f"wallet-{name}"
    await onboard(kube, name)
    await apply_when_possible(
        kube, route(ns, "nohost", "x.example.be", "/x", {"documentSource": {"name": "none"}})
    )
    refused = await kube.wait_reason(ROUTES, ns, "nohost", "False", "HostNotAllowed")
    assert_conditions(refused)
    assert "url" not in refused["status"]


async def test_generation_and_transition_times(kube: Kube, operator: Operator) -> None:
    name, ns, host = await three_kinds(kube)
    await operator.idle()  # the tenant's usage follows its Pods a few seconds later
    before = {
        "tenant": await kube.must_get(TENANTS, None, name),
        "source": await kube.must_get(SOURCES, ns, "docs"),
        "route": await kube.must_get(ROUTES, ns, "pub"),
    }
    latest = max(c["lastTransitionTime"] for o in before.values() for c in o["status"]["conditions"])
    await next_second(latest)

    # An unrelated label edit: the status does not change, so no time moves.
    label = {"metadata": {"labels": {"team": "blue"}}}
    await kube.patch(TENANTS, None, name, label)
    await kube.patch(SOURCES, ns, "docs", label)
    await kube.patch(ROUTES, ns, "pub", label)
    await operator.resync()
    after = {
        "tenant": await kube.must_get(TENANTS, None, name),
        "source": await kube.must_get(SOURCES, ns, "docs"),
        "route": await kube.must_get(ROUTES, ns, "pub"),
    }
    for kind, obj in after.items():
        assert obj["status"] == before[kind]["status"], kind

    # Spec changes: observedGeneration follows. Ready stays True with its transition time, but
    # for the source, whose new replica is rolled out first (Ready False meanwhile).
    await kube.apply(tenant(name, allowedHosts=[host], displayName="Renamed"))
    await kube.apply(source(ns, "docs", connector={"replicas": 3}))
    await kube.apply(route(ns, "pub", host, "/docs", {"documentSource": {"name": "docs"}}, timeoutSeconds=5))

    def current(obj: dict[str, Any]) -> bool:
        return bool(obj["metadata"]["generation"] == 2 and obj["status"]["observedGeneration"] == 2)

    changed = {
        "tenant": await kube.wait(TENANTS, None, name, current),
        "source": await kube.wait(
            SOURCES, ns, "docs", lambda o: current(o) and o["status"]["readyReplicas"] == 3
        ),
        "route": await kube.wait(ROUTES, ns, "pub", current),
    }
    for kind, obj in changed.items():
        assert_conditions(obj)
        ready = condition(obj, "Ready")
        assert ready["status"] == "True", kind
        if kind != "source":
            assert ready["lastTransitionTime"] == condition(before[kind], "Ready")["lastTransitionTime"], kind


async def test_resync_with_nothing_changed_writes_nothing(
    kube: Kube, operator: Operator, cluster: ControlPlane
) -> None:
    """Counted on the server: the API server's audit log of the operator's user."""
    await three_kinds(kube)
    await operator.idle()
    await operator.resync()  # settle anything still in flight (e.g. rollout status) first
    before = len(cluster.writes_by(OPERATOR))
    await operator.resync()
    writes = cluster.writes_by(OPERATOR)[before:]
    assert [(w["verb"], w["objectRef"]) for w in writes] == []


async def test_a_new_connector_is_reported_in_one_usage_update(
    kube: Kube, operator: Operator, cluster: ControlPlane
) -> None:
    """The quota counts a source when it is created and its Pods' requests when the ReplicaSet
    creates them, seconds later on a busy cluster (here: the controller manager held for longer
    than the tenant's usage delay): the tenant waits for the Pods, then writes its usage once."""
    name = unique("usage")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await operator.idle()
    before = len(cluster.writes_by(OPERATOR))
    with cluster.paused("kube-controller-manager"):
        await apply_when_possible(kube, source(ns, "docs", connector={"replicas": 2}))
        await kube.apply(route(ns, "pub", host, "/docs", {"documentSource": {"name": "docs"}}))
        await asyncio.sleep(USAGE_DELAY_SECONDS + 2)
    quota = await kube.wait(QUOTAS, ns, "greenshift-quota", lambda q: q["status"]["used"].get("pods") == "2")
    cpu = quota["status"]["used"]["requests.cpu"]
    expected = {"documentSources": 1, "gatewayRoutes": 1, "requests.cpu": cpu}
    await kube.wait(TENANTS, None, name, lambda t: expected.items() <= t["status"].get("usage", {}).items())
    await operator.idle()
    status_writes = [
        w["objectRef"]
        for w in cluster.writes_by(OPERATOR)[before:]
        if w["objectRef"].get("resource") == "wallettenants" and w["objectRef"].get("subresource") == "status"
    ]
    assert len(status_writes) == 1, status_writes
