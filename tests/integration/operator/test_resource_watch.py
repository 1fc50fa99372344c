"""The custom resources' informer: it resumes from its LIST, and after a gap it re-lists,
hands on what was deleted meanwhile as DELETED (with its last known state) and wakes the rest."""

import asyncio
from collections.abc import Callable
from typing import Any

import kopf

from greenshift.constants import API_VERSION
from greenshift.controllers import indexes
from greenshift.controllers.fact_index import FactIndex
from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.resource_watch import ResourceWatcher
from greenshift.devcluster import DevCluster
from greenshift.kube import KubeClient, ref_of_kind
from greenshift.schemas import load_crds

from .conftest import tenant

TENANTS = ref_of_kind(API_VERSION, "WalletTenant")


async def _until(check: Callable[[], bool]) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the informer did not get there within 10 s")


async def test_after_a_gap_the_deleted_are_handed_on_as_deleted_and_the_rest_woken() -> None:
    async with (
        DevCluster(watch_history=3) as cluster,
        KubeClient(kopf.ConnectionInfo(server=cluster.url, insecure=True)) as client,
    ):
        for crd in load_crds():
            await client.apply(crd)
        facts = FactIndex()
        events: list[tuple[str, str]] = []
        woken: list[set[ObjectKey]] = []

        def on_event(body: Any, kind: str) -> None:
            events.append((kind, body["metadata"]["name"]))

        watcher = ResourceWatcher(client, [(TENANTS, None)], facts, on_event, woken.append, timeout_seconds=5)
        await client.apply(tenant("gone"))
        await client.apply(tenant("kept"))
        await watcher.relist_all()
        assert (indexes.RESOURCE, ObjectKey("WalletTenant", "", "gone")) in facts
        assert events == []
        assert woken == []
        await client.delete(TENANTS, None, "gone")
        for index in range(10):  # more changes than the server remembers: the watch cannot resume
            await client.apply(tenant(f"new-{index}"))
        watcher.start()
        try:
            await _until(lambda: bool(woken))
            assert ("DELETED", "gone") in events
            assert (indexes.RESOURCE, ObjectKey("WalletTenant", "", "gone")) not in facts
            assert ObjectKey("WalletTenant", "", "kept") in woken[0]
            assert len(woken[0]) == 11
            await client.apply(tenant("after"))  # and the new watch carries on from the relist
            await _until(lambda: ("ADDED", "after") in events)
        finally:
            await watcher.stop()
