"""Only WalletTenants carry the finalizer; Events tell what changed existing children, not creation."""

import pytest

from greenshift.constants import FINALIZER
from greenshift.kube import ref_of_kind
from greenshift.runtime.events import COMPONENT

from .conftest import (
    DEPLOYMENTS,
    ROUTES,
    SOURCES,
    Body,
    Kube,
    Operator,
    apply_when_possible,
    eventually,
    onboard,
    route,
    source,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
EVENTS = ref_of_kind("v1", "Event")


def finalizers(obj: Body) -> list[str]:
    return list(obj["metadata"].get("finalizers") or [])


async def events_about(kube: Kube, namespace: str, name: str) -> list[Body]:
    """The operator's Events about ``name`` (the cluster's controllers post their own too)."""
    return [
        e
        for e in await kube.list(EVENTS, namespace)
        if e["involvedObject"]["name"] == name and (e.get("source") or {}).get("component") == COMPONENT
    ]


async def test_only_tenants_carry_the_finalizer(kube: Kube, operator: Operator) -> None:
    name = unique("fin")
    ns = f"wallet-{name}"
    host = f"{name}.wallet.example.be"
    tenant = await onboard(kube, name, allowedHosts=[host])
    assert finalizers(tenant) == [FINALIZER]  # its deletion policy needs the operator
    await apply_when_possible(kube, source(ns, "api"))
    await kube.apply(route(ns, "pub", host, "/v1", {"documentSource": {"name": "api"}}))
    assert finalizers(await kube.wait_ready(SOURCES, ns, "api")) == []  # garbage collection suffices
    assert finalizers(await kube.wait_ready(ROUTES, ns, "pub")) == []


async def test_a_finalizer_left_by_an_earlier_version_is_removed(kube: Kube, operator: Operator) -> None:
    name = unique("oldfin")
    ns = f"wallet-{name}"
    await onboard(kube, name)
    earlier = source(ns, "api")
    earlier["metadata"]["finalizers"] = [FINALIZER]
    await apply_when_possible(kube, earlier)
    await kube.wait(SOURCES, ns, "api", lambda s: not finalizers(s))
    await kube.delete(SOURCES, ns, "api")
    await kube.wait_gone(SOURCES, ns, "api")
    await kube.wait_gone(DEPLOYMENTS, ns, "api")


async def test_events_report_changes_of_existing_children_only(kube: Kube, operator: Operator) -> None:
    name = unique("ev")
    ns = f"wallet-{name}"
    await onboard(kube, name)
    await apply_when_possible(kube, source(ns, "api"))
    await kube.wait_ready(SOURCES, ns, "api")
    assert await events_about(kube, ns, "api") == []  # the status records creation
    await kube.apply(source(ns, "api", connector={"replicas": 2}))

    async def posted() -> list[Body]:
        return await events_about(kube, ns, "api")

    [event] = await eventually(posted, what="an Event about the change")
    assert (event["reason"], event["type"]) == ("Applied", "Normal")
    assert event["message"].startswith("Applied 2 children (Deployment, PodDisruptionBudget)")


async def test_a_route_published_once_its_backend_appears_posts_no_event(
    kube: Kube, operator: Operator
) -> None:
    name = unique("evr")
    ns = f"wallet-{name}"
    host = f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await apply_when_possible(kube, route(ns, "pub", host, "/v1", {"documentSource": {"name": "api"}}))
    await kube.wait(ROUTES, ns, "pub", lambda r: bool(r.get("status", {}).get("observedGeneration")))
    await kube.apply(source(ns, "api"))
    await kube.wait_ready(ROUTES, ns, "pub")
    assert await events_about(kube, ns, "pub") == []  # its first children: the status tells
