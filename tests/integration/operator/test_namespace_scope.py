"""``greenshift run -n NS``: DocumentSources, GatewayRoutes and Services are watched in those
namespaces only (tenants are cluster-scoped and always watched). On the real API server."""

import asyncio

import pytest

from greenshift.config import parse_platform_config
from greenshift.envtest import ControlPlane
from greenshift.runner import OperatorOptions

from .conftest import (
    DEPLOYMENTS,
    RESYNC_SECONDS,
    SOURCES,
    TENANTS,
    Kube,
    Operator,
    apply_when_possible,
    clean_up,
    onboard,
    source,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_sources_outside_the_watched_namespaces_are_left_alone(
    cluster: ControlPlane, kube: Kube
) -> None:
    inside, outside = unique("scoped-in"), unique("scoped-out")
    ns_in, ns_out = f"wallet-{inside}", f"wallet-{outside}"
    options = OperatorOptions(namespaces=(ns_in,), resync_seconds=RESYNC_SECONDS)
    operator = Operator(cluster, parse_platform_config({}), options)
    await operator.start()
    try:
        await onboard(kube, inside)
        await onboard(kube, outside)  # tenants are watched everywhere
        await apply_when_possible(kube, source(ns_in, "docs"))
        await apply_when_possible(kube, source(ns_out, "docs"))
        await kube.wait_ready(SOURCES, ns_in, "docs")
        await kube.wait(DEPLOYMENTS, ns_in, "docs")
        await asyncio.sleep(1.0)  # time enough for a watched source to be acted on
        ignored = await kube.get(SOURCES, ns_out, "docs")
        assert ignored is not None
        assert "status" not in ignored
        assert await kube.get(DEPLOYMENTS, ns_out, "docs") is None
        assert (await kube.get(TENANTS, None, outside) or {}).get("status")
    finally:
        try:
            await clean_up(kube)
        finally:
            await operator.stop()
