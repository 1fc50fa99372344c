"""The HTTP endpoints decode from the stores only what they answer with: a health check nothing,
a metrics scrape the resources and the billed children (at a thousand tenants, decoding every
child on each request cost about 100 MB of memory at its peak)."""

from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from greenshift.metrics import ClusterState, OperatorMetrics
from greenshift.web import create_app

TENANT = {
    "kind": "WalletTenant",
    "metadata": {"name": "acme"},
    "spec": {"agency": "ACME", "namespace": "wallet-acme"},
    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
}


def _state(reads: list[str]) -> ClusterState:
    def read(name: str, value: list[Any]) -> Callable[[], list[Any]]:
        def decoded() -> list[Any]:
            reads.append(name)
            return value

        return decoded

    return ClusterState(
        read("tenants", [TENANT]), read("sources", []), read("routes", []), read("children", [])
    )


async def _get(path: str, reads: list[str]) -> tuple[int, str]:
    app = create_app(lambda: _state(reads), OperatorMetrics(lambda: _state(reads)))
    async with TestClient(TestServer(app)) as client:
        response = await client.get(path)
        return response.status, await response.text()


async def test_a_health_check_decodes_nothing() -> None:
    reads: list[str] = []
    assert await _get("/healthz", reads) == (200, "ok\n")
    assert reads == []


async def test_a_metrics_scrape_decodes_each_part_once() -> None:
    reads: list[str] = []
    status, text = await _get("/metrics", reads)
    assert status == 200
    assert "greenshift_tenants 1.0" in text
    assert sorted(reads) == ["children", "routes", "sources", "tenants"]
