"""The generic lifecycle under the reconcilers: reflectors, the work queue, the resync timer, leadership.

As controller-runtime's manager: :meth:`Manager.start` lists every reflector's streams (so the
stores are whole before anything reads them), starts their watches, and then reconciles, at
once when standalone, or while holding a Lease. A replica that does not lead keeps its stores
current and queues keys, but reconciles nothing. Every ``resync_seconds`` every key is queued
as a safety net, unless the queue is still busy.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

from greenshift.runtime.leader import LeaderElection
from greenshift.runtime.queue import Requeue, WorkQueue
from greenshift.runtime.reflector import Reflector

K = TypeVar("K", bound=Hashable)


class Manager(Generic[K]):
    def __init__(
        self,
        reconcile: Callable[[K], Awaitable[Requeue | None]],
        keys: Callable[[], Iterable[K]],
        *,
        workers: int,
        resync_seconds: float,
    ) -> None:
        self.queue: WorkQueue[K] = WorkQueue(reconcile, workers=workers)
        self.reflectors: list[Reflector] = []
        self.loaded = False
        """Whether the start-up LISTs have filled the stores."""
        self._keys = keys
        self._resync_seconds = resync_seconds
        self._resync: asyncio.Task[None] | None = None
        self._election: LeaderElection | None = None
        self._electing: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        """Whether this replica reconciles: standalone once started, or holding its Lease."""
        if self._election is not None:
            return self._election.is_leader
        return self._resync is not None

    def down(self) -> dict[str, str]:
        """The watch streams that failed and have not listed again since, with their errors."""
        return {name: error for reflector in self.reflectors for name, error in reflector.down.items()}

    async def start(self, election: LeaderElection | None = None) -> None:
        """List, watch, then reconcile (standalone: ``election`` None)."""
        for reflector in self.reflectors:  # in order: what others' reads depend on first
            await reflector.sync()
        self.loaded = True
        for reflector in self.reflectors:
            reflector.start()
        if election is None:
            await self._lead()
        else:
            self._election = election
            self._electing = asyncio.create_task(
                election.run(self._lead, self._follow), name="greenshift-leader-election"
            )

    async def stop(self) -> None:
        if self._electing is not None and self._election is not None:
            self._electing.cancel()  # stops reconciling (``_follow``) if it led
            await asyncio.gather(self._electing, return_exceptions=True)
            await self._election.release()  # another replica takes over at once
        else:
            await self._follow()
        for reflector in self.reflectors:
            await reflector.stop()

    def resync(self) -> None:
        """Queue every key (the safety net)."""
        for key in self._keys():
            self.queue.add(key)

    async def _lead(self) -> None:
        """Every key once (as a watch's initial listing would), then as changes come."""
        self.resync()
        self.queue.start()
        self._resync = asyncio.create_task(self._resync_loop(), name="greenshift-resync")

    async def _follow(self) -> None:
        if self._resync is not None:
            self._resync.cancel()
            await asyncio.gather(self._resync, return_exceptions=True)
            self._resync = None
        await self.queue.stop()

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self._resync_seconds)
            if not len(self.queue):  # still busy with the last pass or with changes: no safety net now
                self.resync()
