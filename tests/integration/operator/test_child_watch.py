"""The child watcher resumes from its LIST and re-lists when the server says its version is too old."""

import asyncio
from typing import Any

import kopf

from greenshift.controllers.child_cache import ChildCache
from greenshift.controllers.child_watch import ChildWatcher
from greenshift.controllers.keys import ObjectKey
from greenshift.devcluster import DevCluster
from greenshift.kube import KubeClient, ref_of_kind

CONFIGMAPS = ref_of_kind("v1", "ConfigMap")
OWNER = ObjectKey("DocumentSource", "default", "src")


def configmap(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"app.kubernetes.io/managed-by": "greenshift-operator"},
            "annotations": {"greenshift.io/owner": OWNER.annotation},
        },
        "data": {"k": name},
    }


async def test_a_watch_too_old_to_resume_is_replaced_by_a_relist_that_wakes_the_owners() -> None:
    async with (
        DevCluster(watch_history=3) as cluster,
        KubeClient(kopf.ConnectionInfo(server=cluster.url, insecure=True)) as client,
    ):
        cache = ChildCache()
        events: list[tuple[str | None, str]] = []
        woken: list[set[ObjectKey]] = []
        watcher = ChildWatcher(
            client,
            [CONFIGMAPS],
            cache,
            lambda body, kind: events.append((kind, body["metadata"]["name"])),
            woken.append,
            timeout_seconds=5,
        )
        await client.apply(configmap("seed"))
        await watcher.relist_all()
        assert [c["metadata"]["name"] for c in cache.children(OWNER)] == ["seed"]
        for index in range(10):  # more changes than the server remembers
            await client.apply(configmap(f"cm-{index}"))
        watcher.start()
        try:
            for _ in range(100):
                if len(cache.children(OWNER)) == 11 and woken:
                    break
                await asyncio.sleep(0.05)
            assert len(cache.children(OWNER)) == 11
            assert woken == [{OWNER}]
            await client.apply(configmap("after"))  # and the new watch carries on from the relist
            for _ in range(100):
                if ("ADDED", "after") in events:
                    break
                await asyncio.sleep(0.05)
            assert ("ADDED", "after") in events
        finally:
            await watcher.stop()
