"""``greenshift run --leader-election``: of two operators on one cluster only the Lease holder
reconciles; the other keeps its view current and takes over as soon as the leader stops. On the
real API server (coordination.k8s.io/v1 Leases)."""

import uuid

import pytest

from greenshift.config import parse_platform_config
from greenshift.envtest import ControlPlane
from greenshift.runner import OperatorOptions
from greenshift.runtime.leader import LEASES, LeaseOptions

from .conftest import RESYNC_SECONDS, TENANTS, Kube, Operator, clean_up, eventually, onboard, tenant, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _options(identity: str) -> OperatorOptions:
    lease = LeaseOptions(
        "default", "greenshift-test", identity, lease_seconds=3, renew_deadline_seconds=2, retry_seconds=0.2
    )
    return OperatorOptions(resync_seconds=RESYNC_SECONDS, leader_election=lease)


async def test_only_the_lease_holder_reconciles_and_the_other_takes_over_when_it_stops(
    cluster: ControlPlane, kube: Kube
) -> None:
    first, second = f"first-{uuid.uuid4().hex[:6]}", f"second-{uuid.uuid4().hex[:6]}"
    by_first, by_second = unique("led-by-first"), unique("led-by-second")
    leader = Operator(cluster, parse_platform_config({}), _options(first))
    standby = Operator(cluster, leader.config, _options(second))
    await leader.start()
    try:
        await onboard(kube, by_first)
        lease = await kube.get(LEASES, "default", "greenshift-test")
        assert lease is not None
        assert lease["spec"]["holderIdentity"] == first
        await standby.start()
        assert standby.runtime is not None
        assert standby.runtime.loaded  # its webhook and catalog answer from a full view
        assert not standby.runtime.leading
        assert leader.runtime is not None
        assert leader.runtime.leading
        assert _leader_metric(standby) == 0
        assert _leader_metric(leader) == 1
        await leader.stop()  # releases the Lease
        await eventually(lambda: _leading(standby), what="the standby to take over")
        await onboard(kube, by_second)  # reconciled by the new leader
        await kube.apply(tenant(by_first, displayName="Changed after the handover"))
        await kube.wait(
            TENANTS,
            None,
            by_first,
            lambda t: t["status"]["observedGeneration"] == t["metadata"]["generation"],
        )
        lease = await kube.get(LEASES, "default", "greenshift-test")
        assert lease is not None
        assert lease["spec"]["holderIdentity"] == second
        assert _leader_metric(standby) == 1
    finally:
        try:
            if standby.runtime is not None:
                await clean_up(kube)  # the leader releases the tenants' finalizer
        finally:
            await standby.stop()
            await leader.stop()


async def _leading(operator: Operator) -> bool:
    return operator.runtime is not None and operator.runtime.leading


def _leader_metric(operator: Operator) -> float | None:
    assert operator.runtime is not None
    return operator.runtime.metrics.registry.get_sample_value("greenshift_leader")
