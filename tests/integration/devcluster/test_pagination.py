"""Lists in pages: ``limit`` and ``continue`` serve one snapshot; an unknown token is 410 Expired."""

import aiohttp
import kopf

from greenshift.devcluster import DevCluster
from greenshift.kube import KubeClient, ref_of_kind

from .conftest import request

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


async def test_pages_serve_the_snapshot_taken_by_the_first(client: aiohttp.ClientSession) -> None:
    for i in range(5):
        await request(client, "POST", CONFIGMAPS, {"metadata": {"name": f"page-{i}"}})
    _, first = await request(client, "GET", CONFIGMAPS, limit="2")
    assert [i["metadata"]["name"] for i in first["items"]] == ["page-0", "page-1"]
    assert first["metadata"]["remainingItemCount"] == 3
    await request(client, "POST", CONFIGMAPS, {"metadata": {"name": "page-9"}})  # after the snapshot
    names: list[str] = []
    token = first["metadata"]["continue"]
    while token:
        _, page = await request(client, "GET", CONFIGMAPS, limit="2", **{"continue": token})
        assert page["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        names += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
    assert names == ["page-2", "page-3", "page-4"]
    status, answer = await request(client, "GET", CONFIGMAPS, limit="2", **{"continue": "unknown"})
    assert (status, answer["reason"]) == (410, "Expired")


async def test_the_client_reads_every_page() -> None:
    configmaps = ref_of_kind("v1", "ConfigMap")
    async with (
        DevCluster() as cluster,
        KubeClient(kopf.ConnectionInfo(server=cluster.url, insecure=True)) as client,
    ):
        for i in range(7):
            await client.apply(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"c{i}", "namespace": "default"},
                }
            )
        pages = [len(items) async for items, _ in client.list_pages(configmaps, "default", limit=3)]
        assert pages == [3, 3, 1]
        items, version = await client.list_with_version(configmaps, "default")
        assert len(items) == 7
        assert version
