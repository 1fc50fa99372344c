"""Lists and watches: collections, selectors, resourceVersions, 410 Gone, timeouts."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from greenshift.devcluster import DevCluster

from .conftest import request

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
MERGE = "application/merge-patch+json"


async def read_events(response: aiohttp.ClientResponse, count: int) -> list[tuple[str, str]]:
    """The next events of a watch stream as (type, name); a bookmark's name is its resourceVersion."""
    events: list[tuple[str, str]] = []
    async with asyncio.timeout(5):
        while len(events) < count:
            event = json.loads(await response.content.readline())
            meta = event["object"].get("metadata", {})
            events.append(
                (event["type"], meta.get("name") or meta.get("resourceVersion") or event["object"]["code"])
            )
    return events


async def create(
    client: aiohttp.ClientSession, name: str, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    status, obj = await request(
        client, "POST", CONFIGMAPS, {"metadata": {"name": name, "labels": labels or {}}}
    )
    assert status == 201
    return obj


async def test_list_is_a_real_collection(client: aiohttp.ClientSession) -> None:
    await create(client, "b", {"app": "web", "tier": "front"})
    last = await create(client, "a", {"app": "db"})
    await request(client, "POST", "/api/v1/namespaces", {"metadata": {"name": "other"}})
    await request(client, "POST", "/api/v1/namespaces/other/configmaps", {"metadata": {"name": "c"}})

    _, listing = await request(client, "GET", CONFIGMAPS)
    assert listing["kind"] == "ConfigMapList"
    assert listing["apiVersion"] == "v1"
    assert int(listing["metadata"]["resourceVersion"]) > int(last["metadata"]["resourceVersion"])
    assert [item["metadata"]["name"] for item in listing["items"]] == ["a", "b"]
    _, everywhere = await request(client, "GET", "/api/v1/configmaps")
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in everywhere["items"]] == [
        ("default", "a"),
        ("default", "b"),
        ("other", "c"),
    ]


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("app=web", ["b"]),
        ("app==web", ["b"]),
        ("app!=web", ["a", "c"]),
        ("tier", ["b"]),
        ("!tier", ["a", "c"]),
        ("app in (web, db)", ["a", "b"]),
        ("app notin (web)", ["a", "c"]),
        ("app in (web,db),tier", ["b"]),
    ],
)
async def test_label_selectors(client: aiohttp.ClientSession, selector: str, names: list[str]) -> None:
    await create(client, "a", {"app": "db"})
    await create(client, "b", {"app": "web", "tier": "front"})
    await create(client, "c")
    _, listing = await request(client, "GET", CONFIGMAPS, labelSelector=selector)
    assert [item["metadata"]["name"] for item in listing["items"]] == names


async def test_field_selectors(client: aiohttp.ClientSession) -> None:
    await create(client, "a")
    await create(client, "b")
    _, listing = await request(client, "GET", "/api/v1/configmaps", fieldSelector="metadata.name=b")
    assert [item["metadata"]["name"] for item in listing["items"]] == ["b"]
    _, listing = await request(
        client, "GET", "/api/v1/configmaps", fieldSelector="metadata.namespace!=default"
    )
    assert listing["items"] == []
    status, answer = await request(client, "GET", CONFIGMAPS, fieldSelector="spec.x=1")
    assert (status, answer["reason"]) == (400, "BadRequest")


async def test_watch_without_version_starts_with_current_objects(client: aiohttp.ClientSession) -> None:
    await create(client, "a")
    async with client.get(CONFIGMAPS, params={"watch": "true"}) as watch:
        assert await read_events(watch, 1) == [("ADDED", "a")]
        await create(client, "b")
        await request(client, "PATCH", f"{CONFIGMAPS}/a", {"data": {"k": "v"}}, MERGE)
        await request(client, "DELETE", f"{CONFIGMAPS}/b")
        assert await read_events(watch, 3) == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]


async def test_watch_from_a_version_and_with_selectors(client: aiohttp.ClientSession) -> None:
    first = await create(client, "a", {"app": "web"})
    await create(client, "b", {"app": "web"})
    params = {
        "watch": "true",
        "resourceVersion": first["metadata"]["resourceVersion"],
        "labelSelector": "app=web",
    }
    async with client.get(CONFIGMAPS, params=params) as watch:
        assert await read_events(watch, 1) == [("ADDED", "b")]  # only what happened after the version
        await request(client, "PATCH", f"{CONFIGMAPS}/a", {"metadata": {"labels": {"app": "db"}}}, MERGE)
        await create(client, "c", {"app": "db"})
        await request(client, "PATCH", f"{CONFIGMAPS}/a", {"metadata": {"labels": {"app": "web"}}}, MERGE)
        # Leaving and re-entering the selector reads as deletion and addition, as on a real server.
        assert await read_events(watch, 2) == [("DELETED", "a"), ("ADDED", "a")]


async def test_watch_timeout_and_bookmarks(client: aiohttp.ClientSession, cluster: DevCluster) -> None:
    cluster.server.bookmark_interval = 0.1
    await create(client, "a")
    _, listing = await request(client, "GET", CONFIGMAPS)
    rv = listing["metadata"]["resourceVersion"]
    params = {"watch": "true", "resourceVersion": rv, "allowWatchBookmarks": "true", "timeoutSeconds": "1"}
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with client.get(CONFIGMAPS, params=params) as watch:
        assert await read_events(watch, 1) == [("BOOKMARK", rv)]
        await watch.read()  # the server ends the stream after timeoutSeconds
    assert 0.9 < loop.time() - started < 3


async def test_initial_events_end_with_a_bookmark(client: aiohttp.ClientSession) -> None:
    await create(client, "a")
    params = {"watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"}
    async with client.get(CONFIGMAPS, params=params) as watch:
        events = [json.loads(await watch.content.readline()) for _ in range(2)]
    assert events[0]["type"] == "ADDED"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


@pytest.fixture
async def short_history() -> AsyncIterator[aiohttp.ClientSession]:
    async with DevCluster(watch_history=2) as cluster, aiohttp.ClientSession(cluster.url) as session:
        yield session


async def test_too_old_version_is_gone(short_history: aiohttp.ClientSession) -> None:
    first = await create(short_history, "a")
    for name in "bcdefg":
        await create(short_history, name)
    params = {"watch": "true", "resourceVersion": first["metadata"]["resourceVersion"]}
    async with short_history.get(CONFIGMAPS, params=params) as watch:
        assert watch.status == 200
        event = json.loads(await watch.content.readline())
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"


async def test_the_history_is_kept_per_resource(short_history: aiohttp.ClientSession) -> None:
    """Writes of other resources do not push a resource's events out (one watch cache each)."""
    first = await create(short_history, "a")
    for name in "bcdefg":
        status, _ = await request(
            short_history, "POST", "/api/v1/namespaces/default/secrets", {"metadata": {"name": name}}
        )
        assert status == 201
    await create(short_history, "h")
    params = {"watch": "true", "resourceVersion": first["metadata"]["resourceVersion"]}
    async with short_history.get(CONFIGMAPS, params=params) as watch:
        event = json.loads(await watch.content.readline())
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "h")
