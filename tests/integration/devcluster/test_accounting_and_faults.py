"""Request accounting for benchmarks, and the fault hook for reliability tests."""

import aiohttp

from greenshift.devcluster import DevCluster, Fault, WriteRequest

from .conftest import request

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
MERGE = "application/merge-patch+json"


async def test_request_counts(cluster: DevCluster, client: aiohttp.ClientSession) -> None:
    await request(client, "POST", "/_devcluster/requests/reset")
    await request(client, "POST", CONFIGMAPS, {"metadata": {"name": "a"}})
    await request(client, "GET", CONFIGMAPS)
    await request(client, "GET", f"{CONFIGMAPS}/a")
    await request(client, "PATCH", f"{CONFIGMAPS}/a", {"data": {}}, MERGE)
    await request(client, "PATCH", f"{CONFIGMAPS}/a", "{}", "application/apply-patch+yaml", fieldManager="x")
    await request(client, "PUT", f"{CONFIGMAPS}/a", {"metadata": {"name": "a"}})
    await request(client, "POST", DEPLOYMENTS, {"metadata": {"name": "d"}})
    await request(client, "PATCH", f"{DEPLOYMENTS}/d/status", {"status": {}}, MERGE)
    await request(client, "DELETE", f"{CONFIGMAPS}/a")
    await request(client, "GET", "/apis")
    async with client.get(CONFIGMAPS, params={"watch": "true", "timeoutSeconds": "0"}) as watch:
        await watch.read()

    assert cluster.request_counts == {
        ("create", "configmaps"): 1,
        ("list", "configmaps"): 1,
        ("get", "configmaps"): 1,
        ("patch", "configmaps"): 1,
        ("apply", "configmaps"): 1,
        ("update", "configmaps"): 1,
        ("delete", "configmaps"): 1,
        ("watch", "configmaps"): 1,
        ("create", "deployments.apps"): 1,
        ("patch-status", "deployments.apps"): 1,
        ("get", "discovery"): 1,
    }
    status, counts = await request(client, "GET", "/_devcluster/requests")
    assert status == 200
    assert counts["total"] == 11
    assert {"verb": "patch-status", "resource": "deployments.apps", "count": 1} in counts["requests"]

    _, counts = await request(client, "POST", "/_devcluster/requests/reset")
    assert counts == {"total": 0, "requests": []}
    assert not cluster.request_counts


async def test_fault_hook(cluster: DevCluster, client: aiohttp.ClientSession) -> None:
    seen: list[WriteRequest] = []

    def fail_status_writes(write: WriteRequest) -> Fault | None:
        seen.append(write)
        return Fault(503, "try later", retry_after=2) if write.verb == "patch-status" else None

    cluster.faults = fail_status_writes
    status, _ = await request(client, "POST", DEPLOYMENTS, {"metadata": {"name": "d"}})
    assert status == 201
    async with client.patch(
        f"{DEPLOYMENTS}/d/status", json={"status": {"replicas": 1}}, headers={"Content-Type": MERGE}
    ) as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "2"
        answer = await response.json()
    assert answer["reason"] == "ServiceUnavailable"
    assert answer["message"] == "try later"
    assert answer["details"] == {"retryAfterSeconds": 2}
    _, obj = await request(client, "GET", f"{DEPLOYMENTS}/d")
    assert "status" not in obj  # the failed write changed nothing

    assert [(w.verb, w.resource, w.namespace, w.name) for w in seen] == [
        ("create", "deployments.apps", "default", None),
        ("patch-status", "deployments.apps", "default", "d"),
    ]
    assert seen[1].body == {"status": {"replicas": 1}}
    assert cluster.request_counts["get", "deployments.apps"] == 1  # reads never reach the hook
