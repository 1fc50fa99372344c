"""PrometheusClient and CatalogAnalytics against a stand-in HTTP server: the bearer token, the
answers that are failures, the timeout and the cache (the real Prometheus: tests/integration/prometheus)."""

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from greenshift.analytics.prometheus import CatalogAnalytics, PrometheusClient, PrometheusError

VECTOR = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [{"metric": {"tenant": "bosa", "route": "identity-v1"}, "value": [1, "2.5"]}],
    },
}


class Stand:
    def __init__(self) -> None:
        self.answer: tuple[int, Any] = (200, VECTOR)
        self.delay = 0.0
        self.headers: list[str | None] = []
        self.queries: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.headers.append(request.headers.get("Authorization"))
        self.queries.append(request.query["query"])
        await asyncio.sleep(self.delay)
        status, body = self.answer
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)


async def serve(stand: Stand) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/api/v1/query", stand.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def test_bearer_token_read_at_every_query_and_failures(tmp_path: Path) -> None:
    async def scenario() -> None:
        stand = Stand()
        runner, url = await serve(stand)
        token = tmp_path / "token"
        token.write_text("first\n")
        client = PrometheusClient(url, 0.5, token_file=str(token))
        try:
            async with aiohttp.ClientSession() as session:
                assert await client.query(session, "up") == [
                    ({"tenant": "bosa", "route": "identity-v1"}, 2.5)
                ]
                token.write_text("rotated")
                await client.query(session, "up")
                assert stand.headers == ["Bearer first", "Bearer rotated"]
                for answer, message in [
                    ((500, "<html>oops</html>"), "HTTP 500, not a Prometheus answer"),
                    ((400, {"status": "error", "error": "parse error"}), "HTTP 400: parse error"),
                    ((200, {"status": "success", "data": {"resultType": "matrix"}}), "expected a vector"),
                ]:
                    stand.answer = answer
                    with pytest.raises(PrometheusError, match=message):
                        await client.query(session, "up")
                stand.answer, stand.delay = (200, VECTOR), 2.0
                with pytest.raises(PrometheusError, match=r"no answer within 0\.5 s"):
                    await client.query(session, "up")
                token.unlink()
                with pytest.raises(PrometheusError, match="cannot read the token file"):
                    await client.query(session, "up")
        finally:
            await runner.cleanup()

    asyncio.run(scenario())


def test_one_refresh_per_ttl_however_many_page_views() -> None:
    async def scenario() -> None:
        stand = Stand()
        runner, url = await serve(stand)
        now = [0.0]
        registry = CollectorRegistry()
        analytics = CatalogAnalytics(url, registry, ttl=30.0, clock=lambda: now[0])
        try:
            views = await asyncio.gather(*(analytics.traffic() for _ in range(20)))  # concurrent views
            assert all(v is views[0] for v in views)
            assert len(stand.queries) == 3  # requests, 5xx, p95
            now[0] = 29.0
            await analytics.traffic()
            assert len(stand.queries) == 3
            now[0] = 30.5
            traffic = await analytics.traffic()
            assert len(stand.queries) == 6
            assert traffic.routes[("bosa", "identity-v1")].requestsPerSecond == 2.5
        finally:
            await runner.cleanup()
        text = generate_latest(registry).decode()
        assert "greenshift_prometheus_queries_total 6.0" in text

    asyncio.run(scenario())
