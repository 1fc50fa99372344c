"""The benchmark's view of the fleet: one watch per custom resource kind, readiness as it changes.

Watching (rather than polling lists) keeps the measurer's load on the API server small and
constant, so that it does not compete with the operator it measures.
"""

import asyncio
import collections
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from client import BenchClient
from greenshift.kube import ref_of_kind
from procs import BenchError

KINDS = ("WalletTenant", "DocumentSource", "GatewayRoute")
Key = tuple[str, str, str]  # kind, namespace, name


@dataclass
class State:
    generation: int
    observed: int
    ready: bool

    @property
    def settled(self) -> bool:
        """Ready, for the latest spec: what "Ready" means for the benchmark."""
        return self.ready and self.observed >= self.generation


def state_of(obj: Mapping[str, Any]) -> State:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    return State(int(meta.get("generation") or 0), int(status.get("observedGeneration") or 0), ready)


class FleetWatch:
    def __init__(self, client: BenchClient) -> None:
        self.client = client
        self.states: dict[Key, State] = {}
        self.settled = 0  # how many states are settled, kept as they change (no O(N) scans per event)
        # How often each resource's status changed, as its watch events show: the operator writes
        # a status only when it changes, so this counts its status writes per custom resource.
        self.status_changes: collections.Counter[Key] = collections.Counter()
        self.status_history: dict[Key, list[Any]] = {}  # every status each resource had, in order
        self._statuses: dict[Key, Any] = {}
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        self.failure: BaseException | None = None

    async def start(self) -> None:
        for kind in KINDS:
            ref = ref_of_kind("greenshift.io/v1alpha1", kind)
            listing = await self.client.list(ref)
            for obj in listing.get("items", []):
                self._update(kind, obj)
            version = str(listing["metadata"]["resourceVersion"])
            self._tasks.append(asyncio.create_task(self._watch(kind, version), name=f"bench-watch-{kind}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    def _update(self, kind: str, obj: Mapping[str, Any], deleted: bool = False) -> None:
        meta = obj["metadata"]
        key = (kind, str(meta.get("namespace") or ""), str(meta["name"]))
        old = self.states.pop(key, None)
        if old is not None and old.settled:
            self.settled -= 1
        if not deleted:
            new = self.states[key] = state_of(obj)
            self.settled += new.settled
            status = obj.get("status") or None
            if status != self._statuses.get(key):
                self._statuses[key] = status
                self.status_changes[key] += 1
                self.status_history.setdefault(key, []).append(status)
        else:
            self._statuses.pop(key, None)

    def most_written(self, limit: int = 2) -> dict[str, list[Any]]:
        """The resources whose status changed more than ``limit`` times, with each status they had."""
        return {
            "/".join(key): list(self.status_history.get(key, []))  # a copy: the watch goes on
            for key, count in self.status_changes.items()
            if count > limit
        }

    async def _watch(self, kind: str, version: str) -> None:
        ref = ref_of_kind("greenshift.io/v1alpha1", kind)
        try:
            async for event in self.client.watch(ref, version):
                if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    self._update(kind, event["object"], event["type"] == "DELETED")
                    async with self._changed:
                        self._changed.notify_all()
                elif event["type"] == "ERROR":
                    raise BenchError(f"the {kind} watch failed: {event['object']}")
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.failure = exc
            async with self._changed:
                self._changed.notify_all()
            raise

    async def wait_for(self, predicate: Any, within: float, what: str) -> float:
        """Until ``predicate(states)`` holds; returns the monotonic time it first did."""
        deadline = time.monotonic() + within
        async with self._changed:
            while not predicate(self.states):
                if self.failure is not None:
                    raise BenchError(f"the benchmark's watch failed: {self.failure!r}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BenchError(f"timed out after {within:.0f}s waiting for {what}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
            return time.monotonic()

    async def wait_all_ready(self, expected: int, within: float) -> float:
        return await self.wait_for(
            lambda states: len(states) >= expected and self.settled == len(states),
            within,
            f"{expected} custom resources Ready",
        )

    async def wait_ready(self, key: Key, generation: int, within: float) -> float:
        def done(states: dict[Key, State]) -> bool:
            state = states.get(key)
            return state is not None and state.generation >= generation and state.settled

        return await self.wait_for(done, within, f"{key} Ready at generation {generation}")


class DeploymentWatch:
    """The plain client's run: when every Deployment it applied is available (the Pods the
    controller manager created, bound and Ready), for a figure comparable to the operator's Ready."""

    def __init__(self, client: BenchClient) -> None:
        self.client = client
        self.available: set[tuple[str, str]] = set()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ref = ref_of_kind("apps/v1", "Deployment")
        listing = await self.client.list(ref)
        for obj in listing.get("items", []):
            self._update(obj)
        version = str(listing["metadata"]["resourceVersion"])
        self._task = asyncio.create_task(self._watch(ref, version), name="bench-watch-deployments")

    async def _watch(self, ref: Any, version: str) -> None:
        async for event in self.client.watch(ref, version):
            if event["type"] in ("ADDED", "MODIFIED"):
                self._update(event["object"])
                self._changed.set()

    def _update(self, obj: Mapping[str, Any]) -> None:
        meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
        if int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0) and int(
            status.get("availableReplicas") or 0
        ) >= int(spec.get("replicas", 1)):
            self.available.add((str(meta.get("namespace")), str(meta["name"])))

    async def wait_available(self, expected: int, within: float) -> float:
        deadline = time.monotonic() + within
        while len(self.available) < expected:
            if self._task is not None and self._task.done():
                raise BenchError(f"the Deployment watch ended: {self._task!r}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(
                    f"{expected - len(self.available)} Deployments not available after {within:.0f}s"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
        return time.monotonic()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
