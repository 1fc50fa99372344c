"""Leader election over HTTP against the dev cluster: two candidates for one Lease.

Timings are short (lease 1 s, renew deadline 0.6 s, retry 0.1 s); the tests wait for conditions
with generous bounds and check orders of events, never elapsed times. A loaded machine may make
a leader miss its renew deadline and hand over; what must hold even then is that two candidates
never lead at once, and that leaseTransitions counts the changes of leader.
"""

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import kopf
import pytest

from greenshift.devcluster import DevCluster, Fault, WriteRequest
from greenshift.kube import KubeClient, TemporaryApiError
from greenshift.runtime.leader import LEASES, LeaderElection

NAMESPACE = "default"
NAME = "greenshift-operator"
LEASE = f"{NAMESPACE}/{NAME}"
FAST = {"lease_seconds": 1.0, "renew_deadline_seconds": 0.6, "retry_seconds": 0.1}
WAIT_SECONDS = 10.0
Event = tuple[str, str]  # ("started" | "stopped", identity)


class RecordingClient(KubeClient):
    """A client that remembers its requests, to tell what one candidate asked of the server."""

    def __init__(self, url: str) -> None:
        super().__init__(kopf.ConnectionInfo(server=url, insecure=True))
        self.calls: list[tuple[str, str]] = []

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any] | None:
        self.calls.append((method, path))
        return await super().request(method, path, params=params, body=body, content_type=content_type)


class Candidate:
    def __init__(
        self, url: str, identity: str, events: list[Event], namespace: str, timings: Mapping[str, float]
    ) -> None:
        self.identity = identity
        self.client = RecordingClient(url)
        self.election = LeaderElection(
            self.client,
            namespace,
            NAME,
            identity,
            lease_seconds=timings["lease_seconds"],
            renew_deadline_seconds=timings["renew_deadline_seconds"],
            retry_seconds=timings["retry_seconds"],
        )
        self.events = events
        self.task: asyncio.Task[None] | None = None

    async def _started(self) -> None:
        self.events.append(("started", self.identity))

    async def _stopped(self) -> None:
        self.events.append(("stopped", self.identity))

    def start(self) -> None:
        self.task = asyncio.create_task(self.election.run(self._started, self._stopped))

    async def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    @property
    def starts(self) -> int:
        return self.events.count(("started", self.identity))

    @property
    def stops(self) -> int:
        return self.events.count(("stopped", self.identity))


class Candidates:
    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[Event] = []
        self.all: list[Candidate] = []

    def add(self, identity: str, namespace: str = NAMESPACE, **timings: float) -> Candidate:
        candidate = Candidate(self.url, identity, self.events, namespace, FAST | timings)
        self.all.append(candidate)
        return candidate

    def leaders(self) -> list[str]:
        return [c.identity for c in self.all if c.election.is_leader]

    async def close(self) -> None:
        for candidate in self.all:
            await candidate.cancel()
            await candidate.client.close()


@pytest.fixture
async def candidates(cluster: DevCluster) -> AsyncIterator[Candidates]:
    group = Candidates(cluster.url)
    yield group
    await group.close()


@pytest.fixture
async def kube(cluster: DevCluster) -> AsyncIterator[KubeClient]:
    async with KubeClient(kopf.ConnectionInfo(server=cluster.url, insecure=True)) as client:
        yield client


async def eventually(condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"Not within {WAIT_SECONDS}s: {what}")
        await asyncio.sleep(0.02)


async def watch_leaders(group: Candidates, seconds: float) -> set[str]:
    """Sample who leads for ``seconds``; never two at once. Returns everyone seen leading."""
    seen: set[str] = set()
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        leaders = group.leaders()
        assert len(leaders) <= 1, leaders
        seen.update(leaders)
        await asyncio.sleep(0.01)
    return seen


def assert_one_at_a_time(events: list[Event]) -> None:
    """Each start follows the previous leader's stop."""
    leading: str | None = None
    for kind, identity in events:
        if kind == "started":
            assert leading is None, events
            leading = identity
        else:
            assert leading == identity, events
            leading = None


def holder_changes(events: list[Event]) -> int:
    """How many times a start was another candidate's than the previous start: leaseTransitions."""
    starters = [identity for kind, identity in events if kind == "started"]
    return sum(1 for before, after in itertools.pairwise(starters) if before != after)


async def read_lease(kube: KubeClient) -> dict[str, Any]:
    lease = await kube.get(LEASES, NAMESPACE, NAME)
    assert lease is not None
    spec: dict[str, Any] = lease["spec"]
    return spec


async def test_the_devcluster_refuses_stale_updates_and_duplicate_creates(kube: KubeClient) -> None:
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {
            "holderIdentity": "pod-a",
            "leaseDurationSeconds": 15,
            "renewTime": "2026-11-28T17:43:57.123456Z",
        },
    }
    created = await kube.request("POST", LEASES.path(NAMESPACE), body=body)
    assert created is not None
    assert created["spec"] == body["spec"]  # MicroTime and integers stored as written
    with pytest.raises(TemporaryApiError) as duplicate:
        await kube.request("POST", LEASES.path(NAMESPACE), body=body)
    assert (duplicate.value.status, duplicate.value.reason) == (409, "AlreadyExists")

    renewed = {**created, "spec": {**created["spec"], "renewTime": "2026-11-28T17:43:59.000000Z"}}
    updated = await kube.request("PUT", LEASES.path(NAMESPACE, NAME), body=renewed)
    assert updated is not None
    assert updated["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    stale = {**created, "spec": {**created["spec"], "holderIdentity": "pod-b"}}
    with pytest.raises(TemporaryApiError) as conflict:
        await kube.request("PUT", LEASES.path(NAMESPACE, NAME), body=stale)
    assert (conflict.value.status, conflict.value.reason) == (409, "Conflict")
    assert (await read_lease(kube))["holderIdentity"] == "pod-a"


async def test_exactly_one_of_two_candidates_leads(
    candidates: Candidates, kube: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="greenshift")
    a, b = candidates.add("pod-a"), candidates.add("pod-b")
    a.start()
    b.start()
    await eventually(lambda: len(candidates.leaders()) == 1, "one leader")
    await watch_leaders(candidates, 1.5)  # longer than the lease: nobody takes over a live leader
    await eventually(lambda: len(candidates.leaders()) == 1, "one leader")
    leader = candidates.leaders()[0]
    spec = await read_lease(kube)
    assert spec["holderIdentity"] == leader
    assert spec["leaseDurationSeconds"] == 1
    assert spec["leaseTransitions"] == holder_changes(candidates.events)
    assert_one_at_a_time(candidates.events)
    assert any(m.startswith(f"Acquired the Lease {LEASE} as pod-") for m in caplog.messages)
    assert any(m.startswith(f"Found the Lease {LEASE} held by pod-") for m in caplog.messages)


async def test_a_released_lease_is_taken_over_at_once(
    candidates: Candidates, kube: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """With a 30 s lease, a takeover within the wait proves the release, not an expiry, made it."""
    caplog.set_level(logging.INFO, logger="greenshift")
    a = candidates.add("pod-a", lease_seconds=30.0)
    b = candidates.add("pod-b", lease_seconds=30.0)
    a.start()
    await eventually(lambda: a.election.is_leader, "pod-a leads")
    b.start()
    await eventually(lambda: any(f"held by {a.identity}" in m for m in caplog.messages), "pod-b waits")
    with pytest.raises(RuntimeError, match="Cancel run"):
        await a.election.release()

    calls = len(a.client.calls)
    await a.cancel()
    assert candidates.events[-1] == ("stopped", "pod-a")  # on_stopped ran on cancellation
    assert not a.election.is_leader
    assert await a.election.release()
    assert a.client.calls[calls:] == [
        ("GET", LEASES.path(NAMESPACE, NAME)),
        ("PUT", LEASES.path(NAMESPACE, NAME)),
    ]
    assert f"Released the Lease {LEASE}." in caplog.messages

    await eventually(lambda: b.election.is_leader, "pod-b takes the released Lease over")
    assert_one_at_a_time(candidates.events)
    spec = await read_lease(kube)
    assert spec["holderIdentity"] == "pod-b"
    assert spec["leaseDurationSeconds"] == 30
    assert spec["leaseTransitions"] == holder_changes(candidates.events)
    assert not await a.election.release()  # pod-b's now: nothing to give up


async def test_a_silent_leader_is_taken_over_once_its_lease_expires(
    candidates: Candidates, kube: KubeClient
) -> None:
    a, b = candidates.add("pod-a"), candidates.add("pod-b")
    a.start()
    await eventually(lambda: a.election.is_leader, "pod-a leads")
    b.start()
    calls = len(a.client.calls)
    await a.cancel()  # as a killed pod: no release
    await eventually(lambda: b.election.is_leader, "pod-b takes the expired Lease over")
    assert len(a.client.calls) == calls  # cancelling made no API call
    assert_one_at_a_time(candidates.events)
    assert ("stopped", "pod-a") in candidates.events
    spec = await read_lease(kube)
    assert spec["holderIdentity"] == "pod-b"
    assert spec["leaseTransitions"] == holder_changes(candidates.events) >= 1


async def test_a_leader_whose_renewals_fail_stops_leading(
    cluster: DevCluster, candidates: Candidates, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="greenshift")
    a = candidates.add("pod-a")
    a.start()
    await eventually(lambda: a.election.is_leader, "pod-a leads")

    def refuse_lease_writes(write: WriteRequest) -> Fault | None:
        return Fault(503, "etcd is away") if write.resource == "leases.coordination.k8s.io" else None

    cluster.faults = refuse_lease_writes
    await eventually(lambda: a.stops >= 1, "pod-a stops leading")
    assert not a.election.is_leader
    assert any(
        m.startswith(f"Failed to renew the Lease {LEASE}: 503 ServiceUnavailable") for m in caplog.messages
    )
    assert f"Lost the Lease {LEASE}: no renewal succeeded for 0.6s." in caplog.messages

    cluster.faults = None
    await eventually(lambda: a.election.is_leader and a.starts == a.stops + 1, "pod-a leads again")
    assert_one_at_a_time(candidates.events)


async def test_an_absent_namespace_is_logged_once_and_retried(
    cluster: DevCluster, candidates: Candidates, kube: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A permanent error (here 404 for the namespace; 403 without RBAC) does not end the election."""
    caplog.set_level(logging.DEBUG, logger="greenshift")
    a = candidates.add("pod-a", namespace="greenshift")
    a.start()

    def failures() -> list[logging.LogRecord]:
        prefix = f"Failed to acquire the Lease greenshift/{NAME}: "
        return [r for r in caplog.records if r.getMessage().startswith(prefix)]

    await eventually(lambda: len(failures()) >= 3, "three failed attempts")
    assert [r.levelno for r in failures()[:3]] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    assert cluster.request_counts["create", "leases.coordination.k8s.io"] >= 3
    assert "404 NotFound" in failures()[0].getMessage()
    assert not a.election.is_leader

    await kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": "greenshift"}})
    await eventually(lambda: a.election.is_leader, "pod-a leads once the namespace exists")
    lease = await kube.get(LEASES, "greenshift", NAME)
    assert lease is not None
    assert lease["spec"]["holderIdentity"] == "pod-a"
