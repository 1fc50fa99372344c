"""Releasing the finalizer of an object that is already gone is not an error (a late, repeated reconcile)."""

import kopf

from greenshift.config import PlatformConfig
from greenshift.constants import FINALIZER
from greenshift.controllers.context import Context
from greenshift.controllers.indexes import ClusterView
from greenshift.controllers.lifecycle import remove_finalizer
from greenshift.devcluster import DevCluster
from greenshift.kube import KubeClient, ref_of_kind
from greenshift.runtime.events import EventPoster
from greenshift.schemas import load_crds

TENANTS = ref_of_kind("greenshift.io/v1alpha1", "WalletTenant")


async def test_removing_the_finalizer_of_a_vanished_object_is_quiet() -> None:
    async with (
        DevCluster() as cluster,
        KubeClient(kopf.ConnectionInfo(server=cluster.url, insecure=True)) as client,
    ):
        for crd in load_crds():
            await client.apply(crd)
        tenant = {
            "apiVersion": "greenshift.io/v1alpha1",
            "kind": "WalletTenant",
            "metadata": {"name": "gone", "finalizers": [FINALIZER]},
            "spec": {"displayName": "Gone", "agency": "GONE", "owners": [{"kind": "User", "name": "a"}]},
        }
        stale = await client.apply(tenant)
        await client.delete(TENANTS, None, "gone")
        await client.merge_patch(TENANTS, None, "gone", {"metadata": {"finalizers": None}})
        assert await client.get(TENANTS, None, "gone") is None
        ctx = Context(
            client=client,
            config=PlatformConfig(),
            settings=kopf.OperatorSettings(),
            view=ClusterView(),
            events=EventPoster(client),
        )
        await remove_finalizer(ctx, stale)  # must not raise
