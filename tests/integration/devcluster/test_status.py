"""The status subresource, for custom and built-in resources, and the available_deployments switch."""

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from greenshift.devcluster import DevCluster

from .conftest import WIDGETS, request

MERGE = "application/merge-patch+json"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
DEPLOYMENT = {"metadata": {"name": "web"}, "spec": {"replicas": 3, "template": {"spec": {"containers": []}}}}


async def test_status_subresource_splits_writes(client: aiohttp.ClientSession, crd: dict[str, Any]) -> None:
    body = {"metadata": {"name": "w"}, "spec": {"color": "red"}, "status": {"phase": "ignored"}}
    _, obj = await request(client, "POST", WIDGETS, body)
    assert "status" not in obj  # a create cannot set the status

    _, obj = await request(
        client, "PATCH", f"{WIDGETS}/w", {"spec": {"color": "blue"}, "status": {"x": 1}}, MERGE
    )
    assert obj["spec"]["color"] == "blue"
    assert "status" not in obj

    patch = {"spec": {"color": "green"}, "metadata": {"labels": {"a": "b"}}, "status": {"x": 1}}
    _, obj = await request(client, "PATCH", f"{WIDGETS}/w/status", patch, MERGE)
    assert obj["status"] == {"x": 1}
    assert obj["spec"]["color"] == "blue"
    assert "labels" not in obj["metadata"]

    status, got = await request(client, "GET", f"{WIDGETS}/w/status")
    assert status == 200
    assert got == obj

    replaced = {**obj, "status": {"y": 2}}
    del replaced["metadata"]["resourceVersion"]
    status, obj = await request(client, "PUT", f"{WIDGETS}/w/status", replaced)
    assert status == 200
    assert obj["status"] == {"y": 2}

    status, _ = await request(client, "GET", "/api/v1/namespaces/default/configmaps/x/status")
    assert status == 404  # ConfigMaps have no status subresource


async def test_deployments_have_a_status_subresource(client: aiohttp.ClientSession) -> None:
    _, obj = await request(client, "POST", DEPLOYMENTS, DEPLOYMENT)
    assert "status" not in obj  # nothing runs Deployments unless asked to
    _, obj = await request(client, "PATCH", f"{DEPLOYMENTS}/web/status", {"status": {"replicas": 3}}, MERGE)
    assert obj["status"] == {"replicas": 3}
    _, obj = await request(client, "PATCH", f"{DEPLOYMENTS}/web", {"status": {"replicas": 0}}, MERGE)
    assert obj["status"] == {"replicas": 3}


@pytest.fixture
async def available() -> AsyncIterator[aiohttp.ClientSession]:
    async with (
        DevCluster(available_deployments=True) as cluster,
        aiohttp.ClientSession(cluster.url) as session,
    ):
        yield session


async def test_available_deployments(available: aiohttp.ClientSession) -> None:
    async with available.get(DEPLOYMENTS, params={"watch": "true", "timeoutSeconds": "1"}) as watch:
        _, created = await request(available, "POST", DEPLOYMENTS, DEPLOYMENT)
        _, obj = await request(available, "GET", f"{DEPLOYMENTS}/web")
        status = obj["status"]
        assert status["observedGeneration"] == 1
        assert status["replicas"] == status["readyReplicas"] == status["availableReplicas"] == 3
        assert status["updatedReplicas"] == 3
        conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
        assert conditions == {
            "Available": ("True", "MinimumReplicasAvailable"),
            "Progressing": ("True", "NewReplicaSetAvailable"),
        }
        events = [line async for line in watch.content]
    assert [b'"ADDED"' in events[0], b'"MODIFIED"' in events[1]] == [True, True]
    assert int(obj["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])

    _, obj = await request(available, "PATCH", f"{DEPLOYMENTS}/web", {"spec": {"replicas": 5}}, MERGE)
    _, obj = await request(available, "GET", f"{DEPLOYMENTS}/web")
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"] == 2
    assert obj["status"]["availableReplicas"] == 5
