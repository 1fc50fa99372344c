"""Watch failures on demand: dropped connections, stalled streams, refused watches."""

import asyncio
import json
import time

import aiohttp
import pytest

from greenshift.devcluster import DevCluster, Fault

from .conftest import request

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


async def _wait_open(cluster: DevCluster, count: int) -> None:
    for _ in range(200):
        if cluster.open_watches == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{cluster.open_watches} open watches, expected {count}")


async def test_dropped_watches_end_with_a_broken_connection(
    cluster: DevCluster, client: aiohttp.ClientSession
) -> None:
    async with client.get(CONFIGMAPS, params={"watch": "true"}) as watch:
        await _wait_open(cluster, 1)
        assert cluster.drop_watches() == 1
        with pytest.raises(aiohttp.ClientPayloadError):
            await watch.read()
    await _wait_open(cluster, 0)


async def test_stalled_watches_send_nothing_not_even_their_end(
    cluster: DevCluster, client: aiohttp.ClientSession
) -> None:
    async with client.get(CONFIGMAPS, params={"watch": "true", "timeoutSeconds": "0.3"}) as watch:
        await _wait_open(cluster, 1)
        started = time.monotonic()
        assert cluster.stall_watches(1.0) == 1
        await request(client, "POST", CONFIGMAPS, {"metadata": {"name": "during-stall"}})
        line = await watch.content.readline()
        assert time.monotonic() - started >= 0.9  # held back, past its own timeoutSeconds
        assert json.loads(line)["object"]["metadata"]["name"] == "during-stall"
    # a watch opened after the stall is served at once
    async with client.get(CONFIGMAPS, params={"watch": "true", "timeoutSeconds": "0"}) as fresh:
        started = time.monotonic()
        assert b"during-stall" in await fresh.read()
        assert time.monotonic() - started < 0.5


async def test_watch_fault_refuses_watches_only(cluster: DevCluster, client: aiohttp.ClientSession) -> None:
    cluster.watch_fault = Fault(503, retry_after=1)
    async with client.get(CONFIGMAPS, params={"watch": "true"}) as refused:
        assert refused.status == 503
        assert refused.headers["Retry-After"] == "1"
    await request(client, "GET", CONFIGMAPS)  # lists still work
    cluster.watch_fault = None
    async with client.get(CONFIGMAPS, params={"watch": "true", "timeoutSeconds": "0"}) as watch:
        assert watch.status == 200
    assert cluster.request_counts["watch", "configmaps"] == 2
