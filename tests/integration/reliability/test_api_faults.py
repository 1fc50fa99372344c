"""Issue 6.1: 10% of the operator's writes fail (500, 503, 429 with Retry-After, 409); a fleet of
30 tenants converges to exactly the state of a clean run, and Retry-After is honoured."""

import random
import time
from dataclasses import dataclass, field

from greenshift.devcluster import Fault, WriteRequest

from .conftest import apply_fleet, converge, differences, fleet_names, platform, snapshot

TENANT_COUNT = 30
FAULT_RATE = 0.10
SEED = 20260601
CUSTOM_RESOURCES = frozenset(
    {"wallettenants.greenshift.io", "documentsources.greenshift.io", "gatewayroutes.greenshift.io"}
)


@dataclass
class Write:
    at: float
    verb: str
    resource: str
    namespace: str | None
    name: str | None
    fault: Fault | None


@dataclass
class FlakyApi:
    """The fault hook: a seeded 10% of the operator's writes fail; every write is recorded.

    The tests' own applies of the custom resources are let through: they play the users.
    """

    rng: random.Random
    enabled: bool = False
    writes: list[Write] = field(default_factory=list)

    def __call__(self, write: WriteRequest) -> Fault | None:
        fault = None
        if not self.enabled:
            return None
        users = write.verb == "apply" and write.resource in CUSTOM_RESOURCES
        if not users and self.rng.random() < FAULT_RATE:
            fault = self.rng.choice(
                [
                    Fault(500, "injected: internal error"),
                    Fault(503, "injected: unavailable"),
                    Fault(429, "injected: slow down", retry_after=self.rng.choice([1, 2])),
                    Fault(409, "injected: conflict"),
                ]
            )
        self.writes.append(
            Write(time.monotonic(), write.verb, write.resource, write.namespace, write.name, fault)
        )
        return fault

    @property
    def faults(self) -> list[Write]:
        return [w for w in self.writes if w.fault is not None]


def early_retries(writes: list[Write]) -> list[str]:
    """Writes of an object that came sooner after a Retry-After fault on it than the server asked."""
    early = []
    for index, faulted in enumerate(writes):
        if faulted.fault is None or faulted.fault.retry_after is None or faulted.name is None:
            continue
        key = (faulted.resource, faulted.namespace, faulted.name)
        after = next(
            (
                w
                for w in writes[index + 1 :]
                if (w.resource, w.namespace, w.name) == key
                and not (w.verb == "apply" and w.resource in CUSTOM_RESOURCES)
            ),
            None,
        )
        if after is not None and after.at - faulted.at < faulted.fault.retry_after - 0.05:
            early.append(
                f"{faulted.verb} {key} faulted with Retry-After {faulted.fault.retry_after}s, "
                f"{after.verb} again after {after.at - faulted.at:.2f}s"
            )
    return early


async def test_a_fleet_converges_to_the_clean_state_despite_api_faults() -> None:
    names = fleet_names(TENANT_COUNT)
    async with platform() as clean:
        await apply_fleet(clean.kube, names)
        clean_seconds = await converge(clean, names)
        expected = await snapshot(clean.kube)

    flaky = FlakyApi(random.Random(SEED))
    async with platform(faults=flaky) as faulty:
        flaky.enabled = True
        await apply_fleet(faulty.kube, names)
        faulty_seconds = await converge(faulty, names, seconds=90)
        actual = await snapshot(faulty.kube)
        faulty.cluster.faults = None

    operator_writes = [w for w in flaky.writes if not (w.verb == "apply" and w.resource in CUSTOM_RESOURCES)]
    by_status: dict[int, int] = {}
    for write in flaky.faults:
        assert write.fault is not None
        by_status[write.fault.status] = by_status.get(write.fault.status, 0) + 1
    print(
        f"\nFIGURES api-faults: tenants={TENANT_COUNT} clean={clean_seconds:.1f}s "
        f"faulty={faulty_seconds:.1f}s operator_writes={len(operator_writes)} "
        f"faults={len(flaky.faults)} by_status={dict(sorted(by_status.items()))} objects={len(expected)}"
    )
    assert len(expected) >= TENANT_COUNT * 15  # every child of every tenant, source and route
    assert len(flaky.faults) >= 30, "too few faults to prove anything"
    assert {500, 503, 429, 409} <= by_status.keys()
    assert differences(expected, actual) == []
    assert early_retries(flaky.writes) == []
