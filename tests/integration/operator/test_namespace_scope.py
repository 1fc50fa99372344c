"""``greenshift run -n NS``: DocumentSources, GatewayRoutes and Services are watched in those
namespaces only (tenants are cluster-scoped and always watched)."""

import asyncio

from greenshift.runner import OperatorOptions
from integration.reliability.conftest import platform

from .conftest import DEPLOYMENTS, RESYNC_SECONDS, SOURCES, TENANTS, apply_when_possible, onboard, source


async def test_sources_outside_the_watched_namespaces_are_left_alone() -> None:
    options = OperatorOptions(namespaces=("wallet-scoped-in",), resync_seconds=RESYNC_SECONDS)
    async with platform(options=options) as p:
        await onboard(p.kube, "scoped-in")
        await onboard(p.kube, "scoped-out")  # tenants are watched everywhere
        await apply_when_possible(p.kube, source("wallet-scoped-in", "docs"))
        await apply_when_possible(p.kube, source("wallet-scoped-out", "docs"))
        await p.kube.wait_ready(SOURCES, "wallet-scoped-in", "docs")
        await p.kube.wait(DEPLOYMENTS, "wallet-scoped-in", "docs")
        await asyncio.sleep(1.0)  # time enough for a watched source to be acted on
        ignored = await p.kube.get(SOURCES, "wallet-scoped-out", "docs")
        assert ignored is not None
        assert "status" not in ignored
        assert await p.kube.get(DEPLOYMENTS, "wallet-scoped-out", "docs") is None
        assert (await p.kube.get(TENANTS, None, "scoped-out") or {}).get("status")
