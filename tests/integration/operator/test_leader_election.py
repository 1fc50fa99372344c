"""``greenshift run --leader-election``: of two operators on one cluster only the Lease holder
reconciles; the other keeps its view current and takes over as soon as the leader stops."""

import uuid

from greenshift.leader import LEASES, LeaseOptions
from greenshift.runner import OperatorOptions
from integration.reliability.conftest import platform

from .conftest import RESYNC_SECONDS, TENANTS, Operator, eventually, onboard, tenant


def _options(identity: str) -> OperatorOptions:
    lease = LeaseOptions(
        "default", "greenshift-test", identity, lease_seconds=3, renew_deadline_seconds=2, retry_seconds=0.2
    )
    return OperatorOptions(resync_seconds=RESYNC_SECONDS, leader_election=lease)


async def test_only_the_lease_holder_reconciles_and_the_other_takes_over_when_it_stops() -> None:
    first, second = f"first-{uuid.uuid4().hex[:6]}", f"second-{uuid.uuid4().hex[:6]}"
    async with platform(options=_options(first)) as p:
        await onboard(p.kube, "led-by-first")
        lease = await p.kube.get(LEASES, "default", "greenshift-test")
        assert lease is not None
        assert lease["spec"]["holderIdentity"] == first
        standby = Operator(p.cluster, p.operator.config, _options(second))
        await standby.start()
        try:
            assert standby.runtime is not None
            assert standby.runtime.loaded  # its webhook and catalog answer from a full view
            assert not standby.runtime.leading
            assert p.operator.runtime is not None
            assert p.operator.runtime.leading
            assert _leader_metric(standby) == 0
            assert _leader_metric(p.operator) == 1
            await p.operator.stop()  # releases the Lease
            await eventually(lambda: _leading(standby), what="the standby to take over")
            await onboard(p.kube, "led-by-second")  # reconciled by the new leader
            await p.kube.apply(tenant("led-by-first", displayName="Changed after the handover"))
            await p.kube.wait(
                TENANTS,
                None,
                "led-by-first",
                lambda t: t["status"]["observedGeneration"] == t["metadata"]["generation"],
            )
            lease = await p.kube.get(LEASES, "default", "greenshift-test")
            assert lease is not None
            assert lease["spec"]["holderIdentity"] == second
            assert _leader_metric(standby) == 1
        finally:
            await standby.stop()


async def _leading(operator: Operator) -> bool:
    return operator.runtime is not None and operator.runtime.leading


def _leader_metric(operator: Operator) -> float | None:
    assert operator.runtime is not None
    return operator.runtime.metrics.registry.get_sample_value("greenshift_leader")
