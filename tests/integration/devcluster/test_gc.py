"""Deletion: finalizers, owner-reference garbage collection, propagation policies, namespaces."""

from typing import Any

import aiohttp

from .conftest import request

NS = "/api/v1/namespaces"
MERGE = "application/merge-patch+json"


def path(namespace: str, name: str = "") -> str:
    return f"{NS}/{namespace}/configmaps" + (f"/{name}" if name else "")


def owned_by(*owners: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": o["apiVersion"],
            "kind": o["kind"],
            "name": o["metadata"]["name"],
            "uid": o["metadata"]["uid"],
        }
        for o in owners
    ]


async def names(client: aiohttp.ClientSession, namespace: str = "default") -> list[str]:
    _, listing = await request(client, "GET", path(namespace))
    return [item["metadata"]["name"] for item in listing["items"]]


async def test_finalizers_hold_the_object(client: aiohttp.ClientSession) -> None:
    await request(client, "POST", path("default"), {"metadata": {"name": "a", "finalizers": ["x/y"]}})
    status, obj = await request(client, "DELETE", path("default", "a"))
    assert status == 200
    assert obj["metadata"]["deletionTimestamp"]
    status, answer = await request(
        client, "PATCH", path("default", "a"), {"metadata": {"finalizers": ["x/y", "new/one"]}}, MERGE
    )
    assert (status, answer["reason"]) == (422, "Invalid")
    async with client.get(path("default"), params={"watch": "true"}) as watch:
        await watch.content.readline()  # ADDED
        await request(client, "PATCH", path("default", "a"), {"metadata": {"finalizers": None}}, MERGE)
        modified = await watch.content.readline()
        deleted = await watch.content.readline()
    assert b'"MODIFIED"' in modified
    assert b'"DELETED"' in deleted
    status, _ = await request(client, "GET", path("default", "a"))
    assert status == 404


async def test_owner_deletion_collects_dependents_recursively(client: aiohttp.ClientSession) -> None:
    _, owner = await request(client, "POST", path("default"), {"metadata": {"name": "owner"}})
    _, child = await request(
        client, "POST", path("default"), {"metadata": {"name": "child", "ownerReferences": owned_by(owner)}}
    )
    _, other = await request(client, "POST", path("default"), {"metadata": {"name": "other"}})
    grandchild = {"metadata": {"name": "grandchild", "ownerReferences": owned_by(child)}}
    await request(client, "POST", path("default"), grandchild)
    shared = {"metadata": {"name": "shared", "ownerReferences": owned_by(owner, other)}}
    await request(client, "POST", path("default"), shared)
    held = {"metadata": {"name": "held", "finalizers": ["x/y"], "ownerReferences": owned_by(owner)}}
    await request(client, "POST", path("default"), held)

    status, _ = await request(client, "DELETE", path("default", "owner"))
    assert status == 200
    assert await names(client) == ["held", "other", "shared"]
    _, shared_now = await request(client, "GET", path("default", "shared"))
    assert shared_now["metadata"]["ownerReferences"] == owned_by(other)  # a living owner keeps it
    _, held_now = await request(client, "GET", path("default", "held"))
    assert held_now["metadata"]["deletionTimestamp"]


async def test_orphan_propagation_keeps_dependents(client: aiohttp.ClientSession) -> None:
    _, owner = await request(client, "POST", path("default"), {"metadata": {"name": "owner"}})
    await request(
        client, "POST", path("default"), {"metadata": {"name": "child", "ownerReferences": owned_by(owner)}}
    )
    status, _ = await request(client, "DELETE", path("default", "owner"), {"propagationPolicy": "Orphan"})
    assert status == 200
    _, child = await request(client, "GET", path("default", "child"))
    assert "ownerReferences" not in child["metadata"]


async def test_namespace_deletion(client: aiohttp.ClientSession) -> None:
    await request(client, "POST", NS, {"metadata": {"name": "team"}})
    await request(client, "POST", path("team"), {"metadata": {"name": "plain"}})
    await request(client, "POST", path("team"), {"metadata": {"name": "held", "finalizers": ["x/y"]}})

    status, namespace = await request(client, "DELETE", f"{NS}/team")
    assert status == 200
    assert namespace["status"]["phase"] == "Terminating"
    assert await names(client, "team") == ["held"]
    status, answer = await request(client, "POST", path("team"), {"metadata": {"name": "late"}})
    assert (status, answer["reason"]) == (403, "Forbidden")

    await request(client, "PATCH", path("team", "held"), {"metadata": {"finalizers": []}}, MERGE)
    status, _ = await request(client, "GET", f"{NS}/team")
    assert status == 404  # the namespace went with its last object


async def test_an_object_whose_owners_are_all_gone_is_collected(client: aiohttp.ClientSession) -> None:
    _, owner = await request(client, "POST", path("default"), {"metadata": {"name": "went"}})
    _, alive = await request(client, "POST", path("default"), {"metadata": {"name": "alive"}})
    await request(client, "DELETE", path("default", "went"))
    late = {"metadata": {"name": "late", "ownerReferences": owned_by(owner)}}
    status, _ = await request(client, "POST", path("default"), late)
    assert status == 201  # written, then collected: the owner went while it was being written
    both = {"metadata": {"name": "shared", "ownerReferences": owned_by(owner, alive)}}
    await request(client, "POST", path("default"), both)
    assert "late" not in await names(client)
    assert "shared" in await names(client)  # one owner still exists
