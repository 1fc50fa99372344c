"""A reflector resumes from its LIST and lists again when the server says its version is too old."""

import asyncio
from typing import Any

import kopf

from greenshift.devcluster import DevCluster
from greenshift.kube import KubeClient, ref_of_kind
from greenshift.runtime.reflector import Reflector
from greenshift.runtime.store import Change, Store

CONFIGMAPS = ref_of_kind("v1", "ConfigMap")
SELECTOR = "app.kubernetes.io/managed-by=greenshift-operator"


def configmap(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"app.kubernetes.io/managed-by": "greenshift-operator"},
        },
        "data": {"k": name},
    }


async def test_a_watch_too_old_to_resume_is_replaced_by_a_list_that_reports_what_changed() -> None:
    async with (
        DevCluster(watch_history=3) as cluster,
        KubeClient(kopf.ConnectionInfo(server=cluster.url, insecure=True)) as client,
    ):
        store = Store()
        changes: list[str] = []

        def record(change: Change) -> None:
            changes.append(("-" if change.new is None else "+") + change.body["metadata"]["name"])

        reflector = Reflector(client, CONFIGMAPS, store, record, selector=SELECTOR, watch_timeout=5)
        await client.apply(configmap("seed"))
        await client.apply(configmap("doomed"))
        await reflector.sync()
        assert sorted(changes) == ["+doomed", "+seed"]
        changes.clear()
        await client.delete(CONFIGMAPS, "default", "doomed")
        for index in range(10):  # more changes than the server remembers
            await client.apply(configmap(f"cm-{index}"))
        reflector.start()
        try:
            for _ in range(100):
                if len(store) == 11:
                    break
                await asyncio.sleep(0.05)
            assert sorted(name for _, name in store) == sorted(["seed"] + [f"cm-{i}" for i in range(10)])
            assert sorted(changes) == sorted(["-doomed"] + [f"+cm-{i}" for i in range(10)])  # seed: unchanged
            await client.apply(configmap("after"))  # and the new watch carries on from the LIST
            for _ in range(100):
                if "+after" in changes:
                    break
                await asyncio.sleep(0.05)
            assert "+after" in changes
            assert reflector.down == {}
        finally:
            await reflector.stop()
