"""Object writes over HTTP: metadata, optimistic concurrency, patch formats, namespaces."""

import copy
import re
import uuid
from typing import Any

import aiohttp

from greenshift.devcluster import DevCluster

from .conftest import CRD, WIDGETS, request

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


async def test_create_sets_server_metadata(client: aiohttp.ClientSession) -> None:
    status, first = await request(client, "POST", CONFIGMAPS, {"metadata": {"name": "a"}, "data": {"k": "v"}})
    assert status == 201
    _, second = await request(client, "POST", CONFIGMAPS, {"metadata": {"name": "b"}})
    meta = first["metadata"]
    assert uuid.UUID(meta["uid"]).version == 4
    assert meta["generation"] == 1
    assert meta["namespace"] == "default"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert int(second["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    assert meta["managedFields"][0]["manager"] == "Python"  # from the User-Agent, as kubernetes does
    assert meta["managedFields"][0]["operation"] == "Update"
    assert first["kind"] == "ConfigMap"
    assert first["apiVersion"] == "v1"

    status, fetched = await request(client, "GET", f"{CONFIGMAPS}/a")
    assert status == 200
    assert fetched == first


async def test_create_conflicts_and_absences(client: aiohttp.ClientSession) -> None:
    await request(client, "POST", CONFIGMAPS, {"metadata": {"name": "a"}})
    status, answer = await request(client, "POST", CONFIGMAPS, {"metadata": {"name": "a"}})
    assert (status, answer["kind"], answer["reason"]) == (409, "Status", "AlreadyExists")

    status, answer = await request(client, "GET", f"{CONFIGMAPS}/absent")
    assert (status, answer["reason"]) == (404, "NotFound")

    status, answer = await request(
        client, "POST", "/api/v1/namespaces/nowhere/configmaps", {"metadata": {"name": "a"}}
    )
    assert (status, answer["reason"], answer["details"]["name"]) == (404, "NotFound", "nowhere")

    status, _ = await request(client, "GET", "/apis/example.com/v1/widgets")
    assert status == 404  # no such resource until its CRD exists


async def test_stale_resource_version_conflicts(client: aiohttp.ClientSession) -> None:
    _, obj = await request(client, "POST", CONFIGMAPS, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    stale = obj["metadata"]["resourceVersion"]
    status, updated = await request(client, "PUT", f"{CONFIGMAPS}/a", {**obj, "data": {"k": "2"}})
    assert status == 200
    assert updated["data"] == {"k": "2"}

    status, answer = await request(client, "PUT", f"{CONFIGMAPS}/a", {**obj, "data": {"k": "3"}})
    assert (status, answer["reason"]) == (409, "Conflict")
    patch = {"metadata": {"resourceVersion": stale}, "data": {"k": "4"}}
    status, answer = await request(client, "PATCH", f"{CONFIGMAPS}/a", patch, MERGE)
    assert (status, answer["reason"]) == (409, "Conflict")

    # Without a resourceVersion, a PUT is unconditional; server-set metadata survives it.
    body = {"metadata": {"name": "a", "labels": {"x": "y"}}, "data": {"k": "5"}}
    status, replaced = await request(client, "PUT", f"{CONFIGMAPS}/a", body)
    assert status == 200
    assert replaced["metadata"]["uid"] == obj["metadata"]["uid"]
    assert replaced["metadata"]["creationTimestamp"] == obj["metadata"]["creationTimestamp"]
    assert replaced["metadata"]["labels"] == {"x": "y"}
    assert replaced["data"] == {"k": "5"}


async def test_patch_formats(client: aiohttp.ClientSession) -> None:
    body = {"metadata": {"name": "a", "labels": {"keep": "1", "drop": "1"}}, "data": {"k": "v", "x": "y"}}
    await request(client, "POST", CONFIGMAPS, body)

    merge = {"metadata": {"labels": {"drop": None, "new": "1"}}, "data": {"x": None}}
    status, obj = await request(client, "PATCH", f"{CONFIGMAPS}/a", merge, MERGE)
    assert status == 200
    assert obj["metadata"]["labels"] == {"keep": "1", "new": "1"}
    assert obj["data"] == {"k": "v"}

    status, obj = await request(
        client, "PATCH", f"{CONFIGMAPS}/a", {"data": {"z": "1"}}, "application/strategic-merge-patch+json"
    )
    assert status == 200
    assert obj["data"] == {"k": "v", "z": "1"}

    rv = obj["metadata"]["resourceVersion"]
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["a/b"]},
        {"op": "add", "path": "/metadata/finalizers/-", "value": "c/d"},
        {"op": "replace", "path": "/data/k", "value": "w"},
        {"op": "remove", "path": "/data/z"},
        {"op": "copy", "from": "/data/k", "path": "/data/copied"},
        {"op": "move", "from": "/data/copied", "path": "/data/moved"},
    ]
    status, obj = await request(client, "PATCH", f"{CONFIGMAPS}/a", ops, JSON_PATCH)
    assert status == 200
    assert obj["metadata"]["finalizers"] == ["a/b", "c/d"]
    assert obj["data"] == {"k": "w", "moved": "w"}

    # A failed test (kopf's optimistic finalizer patches) is 422, which kopf expects.
    status, answer = await request(client, "PATCH", f"{CONFIGMAPS}/a", ops[:1], JSON_PATCH)
    assert (status, answer["reason"]) == (422, "Invalid")
    status, _ = await request(client, "PATCH", f"{CONFIGMAPS}/a", {"data": {}}, "text/plain")
    assert status == 415


async def test_no_op_writes_keep_the_resource_version(client: aiohttp.ClientSession) -> None:
    _, obj = await request(client, "POST", CONFIGMAPS, {"metadata": {"name": "a"}, "data": {"k": "v"}})
    status, same = await request(client, "PATCH", f"{CONFIGMAPS}/a", {"data": {"k": "v"}}, MERGE)
    assert status == 200
    assert same["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


async def test_generation(client: aiohttp.ClientSession, crd: dict[str, Any]) -> None:
    _, obj = await request(client, "POST", WIDGETS, {"metadata": {"name": "w"}, "spec": {"color": "red"}})
    assert obj["spec"] == {"color": "red", "size": 3}  # defaulted from the CRD schema
    _, obj = await request(client, "PATCH", f"{WIDGETS}/w", {"metadata": {"labels": {"a": "b"}}}, MERGE)
    assert obj["metadata"]["generation"] == 1
    _, obj = await request(client, "PATCH", f"{WIDGETS}/w/status", {"status": {"ready": True}}, MERGE)
    assert obj["metadata"]["generation"] == 1
    _, obj = await request(client, "PATCH", f"{WIDGETS}/w", {"spec": {"color": "blue"}}, MERGE)
    assert obj["metadata"]["generation"] == 2

    # Without a status subresource (a ConfigMap here), everything outside metadata counts.
    _, cm = await request(client, "POST", CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"k": "v"}})
    _, cm = await request(client, "PATCH", f"{CONFIGMAPS}/c", {"data": {"k": "w"}}, MERGE)
    assert cm["metadata"]["generation"] == 2


async def test_cluster_scoped_and_generated_names(client: aiohttp.ClientSession) -> None:
    status, ns = await request(client, "POST", "/api/v1/namespaces", {"metadata": {"generateName": "team-"}})
    assert status == 201
    assert re.fullmatch(r"team-[a-z0-9]{5}", ns["metadata"]["name"])
    assert "namespace" not in ns["metadata"]
    assert ns["status"] == {"phase": "Active"}
    status, _ = await request(client, "GET", f"/api/v1/namespaces/{ns['metadata']['name']}")
    assert status == 200


async def test_validator_rejects_writes() -> None:
    def small_widgets(obj: dict[str, Any]) -> list[str]:
        size = obj.get("spec", {}).get("size", 0)
        return [f"spec.size: Invalid value: {size}: must be at most 5"] if size > 5 else []

    async with DevCluster(validator=small_widgets) as cluster, aiohttp.ClientSession(cluster.url) as client:
        await request(client, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD)
        status, answer = await request(
            client, "POST", WIDGETS, {"metadata": {"name": "w"}, "spec": {"size": 9}}
        )
        assert (status, answer["reason"]) == (422, "Invalid")
        assert answer["details"]["causes"] == [
            {"reason": "FieldValueInvalid", "message": "spec.size: Invalid value: 9: must be at most 5"}
        ]
        status, _ = await request(client, "POST", WIDGETS, {"metadata": {"name": "w"}})
        assert status == 201  # size defaults to 3
        status, _ = await request(client, "PATCH", f"{WIDGETS}/w", {"spec": {"size": 6}}, MERGE)
        assert status == 422
        status, _ = await request(client, "POST", CONFIGMAPS, {"metadata": {"name": "x"}}, dryRun="All")
        assert status == 400  # dry runs are refused rather than written


async def test_custom_resource_versions_share_objects(client: aiohttp.ClientSession) -> None:
    crd = copy.deepcopy(CRD)
    v1 = crd["spec"]["versions"][0]
    crd["spec"]["versions"] = [{**v1, "name": "v1beta1", "storage": False}, v1]
    await request(client, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    await request(client, "POST", WIDGETS, {"metadata": {"name": "w"}})
    status, obj = await request(client, "GET", WIDGETS.replace("/v1/", "/v1beta1/") + "/w")
    assert status == 200
    assert obj["apiVersion"] == "example.com/v1beta1"
