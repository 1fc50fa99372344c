"""The API client against a scripted HTTP server: credentials read again after a 401, and watch
events of any size."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import kopf
import orjson
import pytest
from aiohttp import web

from greenshift.kube import KubeClient, PermanentApiError, ref_of_kind

CONFIGMAPS = ref_of_kind("v1", "ConfigMap")


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def token_app(valid: str, seen: list[str]) -> web.Application:
    async def get(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") != f"Bearer {valid}":
            return web.json_response({"kind": "Status", "reason": "Unauthorized"}, status=401)
        return web.json_response({"kind": "ConfigMap", "metadata": {"name": "x"}})

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/ns/configmaps/x", get)
    return app


async def test_a_401_reads_the_credentials_again_and_retries_once() -> None:
    seen: list[str] = []
    async with serve(token_app("rotated", seen)) as url:
        logins = iter(["rotated"])
        client = KubeClient(
            kopf.ConnectionInfo(server=url, token="expired"),
            login=lambda: kopf.ConnectionInfo(server=url, token=next(logins)),
        )
        async with client:
            assert await client.get(CONFIGMAPS, "ns", "x") == {"kind": "ConfigMap", "metadata": {"name": "x"}}
            assert await client.get(CONFIGMAPS, "ns", "x") is not None  # the new token is kept
    assert seen == ["Bearer expired", "Bearer rotated", "Bearer rotated"]


async def test_a_401_with_the_same_credentials_is_not_retried() -> None:
    seen: list[str] = []
    async with serve(token_app("other", seen)) as url:
        info = kopf.ConnectionInfo(server=url, token="revoked")
        async with KubeClient(info, login=lambda: info) as client:
            with pytest.raises(PermanentApiError) as raised:
                await client.get(CONFIGMAPS, "ns", "x")
    assert raised.value.status == 401
    assert seen == ["Bearer revoked"]


async def test_a_watch_event_over_aiohttps_line_limit() -> None:
    big = {
        "type": "ADDED",
        "object": {"kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"k": "v" * 600_000}},
    }
    small = {"type": "ADDED", "object": {"kind": "ConfigMap", "metadata": {"name": "small"}}}

    async def watch(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        payload = orjson.dumps(big) + b"\n\n" + orjson.dumps(small) + b"\n"
        for start in range(0, len(payload), 7000):  # split across chunks, as the network does
            await response.write(payload[start : start + 7000])
        return response

    app = web.Application()
    app.router.add_get("/api/v1/configmaps", watch)
    async with serve(app) as url, KubeClient(kopf.ConnectionInfo(server=url)) as client:
        events = [e async for e in client.watch(CONFIGMAPS, resource_version="1", timeout_seconds=5)]
    assert [e["object"]["metadata"]["name"] for e in events] == ["big", "small"]
    assert len(events[0]["object"]["data"]["k"]) == 600_000


async def test_watches_do_not_take_the_connections_of_requests_nor_of_each_other() -> None:
    """With one connection for requests, five open watches and a GET all proceed."""
    opened = asyncio.Semaphore(0)
    done = asyncio.Event()

    async def watch(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        opened.release()
        await done.wait()  # a quiet watch holds its connection
        return response

    async def get(_: web.Request) -> web.Response:
        return web.json_response({"kind": "ConfigMap", "metadata": {"name": "x"}})

    app = web.Application()
    app.router.add_get("/api/v1/configmaps", watch)
    app.router.add_get("/api/v1/namespaces/ns/configmaps/x", get)
    async with serve(app) as url, KubeClient(kopf.ConnectionInfo(server=url), limit=1) as client:

        async def drain() -> None:
            async for _ in client.watch(CONFIGMAPS, resource_version="1", timeout_seconds=30):
                pass

        watches = [asyncio.create_task(drain()) for _ in range(5)]
        try:
            for _ in range(5):
                await asyncio.wait_for(opened.acquire(), 5)
            assert await asyncio.wait_for(client.get(CONFIGMAPS, "ns", "x"), 5) is not None
        finally:
            done.set()
            for task in watches:
                task.cancel()
            await asyncio.gather(*watches, return_exceptions=True)
