"""A work queue in the manner of client-go's: coalescing, one worker per key at a time, backoff.

The wake rules put object keys in here (never the reconcilers). A key queued
twice is reconciled once; a key that changes while being reconciled is reconciled again
afterwards. A reconcile returns ``Requeue`` to be called again later (as controller-runtime's
``Result{RequeueAfter}``); one that raises comes back after an exponential backoff. A
Retry-After is a hold: the key is not reconciled before it ends, even when an event queues it
again meanwhile.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Requeue:
    """What a reconcile returns to be called again after ``delay`` seconds (None: backoff).

    ``hold``: not before ``delay`` either, even if the key is queued again meanwhile (the
    server's Retry-After); otherwise an event queues the key at once. ``error``: the failure
    behind it, if the reconcile failed (a temporary API error, a child the server refused).
    """

    reason: str
    delay: float | None = None
    hold: bool = False
    error: Exception | None = None


@dataclass
class _Backoff:
    base: float = 0.2
    cap: float = 60.0
    failures: dict[Hashable, int] = field(default_factory=dict)

    def next(self, key: Hashable) -> float:
        count = self.failures.get(key, 0)
        self.failures[key] = count + 1
        return float(min(self.cap, self.base * (2**count)))

    def forget(self, key: Hashable) -> None:
        self.failures.pop(key, None)


class WorkQueue(Generic[K]):
    def __init__(self, handler: Callable[[K], Awaitable[Requeue | None]], *, workers: int = 16) -> None:
        self._handler = handler
        self._workers = workers
        self._queue: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._active: set[K] = set()
        self._dirty: set[K] = set()
        self._timers: dict[K, asyncio.TimerHandle] = {}
        self._holds: dict[K, float] = {}  # loop time before which a key must not run
        self._backoff = _Backoff()
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, key: K) -> None:
        """Queue ``key`` now, unless it is queued already or held (then its timer queues it)."""
        if key in self._holds:
            return
        if key in self._active:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._idle.clear()
            self._queue.put_nowait(key)

    def add_after(self, key: K, delay: float) -> None:
        """Queue ``key`` in ``delay`` seconds; an earlier pending schedule wins, a hold is kept."""
        if key in self._holds:
            return  # its hold's timer queues it, not earlier
        loop = asyncio.get_running_loop()
        existing = self._timers.get(key)
        when = loop.time() + delay
        if existing is not None and existing.when() <= when:
            return
        if existing is not None:
            existing.cancel()
        self._idle.clear()
        self._timers[key] = loop.call_at(when, self._fire, key)

    def hold(self, key: K, delay: float) -> None:
        """Queue ``key`` in ``delay`` seconds and not before, whatever queues it meanwhile."""
        existing = self._timers.pop(key, None)
        if existing is not None:
            existing.cancel()
        self._queued.discard(key)  # a copy still in the asyncio queue is skipped by the workers
        self._dirty.discard(key)
        loop = asyncio.get_running_loop()
        self._holds[key] = loop.time() + delay
        self._idle.clear()
        self._timers[key] = loop.call_at(self._holds[key], self._fire, key)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self._holds.pop(key, None)
        self.add(key)

    def __len__(self) -> int:
        return len(self._queued) + len(self._active) + len(self._timers)

    async def wait_idle(self) -> None:
        """Until nothing is queued, running or scheduled (used by tests and the benchmark)."""
        await self._idle.wait()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"greenshift-worker-{i}") for i in range(self._workers)
        ]

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._holds.clear()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            if key not in self._queued:  # held after it was queued: its timer queues it again
                continue
            self._queued.discard(key)
            self._active.add(key)
            started = time.monotonic()
            try:
                again = await self._handler(key)
            except asyncio.CancelledError:
                raise
            except Exception:
                delay = self._backoff.next(key)
                logger.exception("Failed to reconcile %s; retrying in %.1fs.", key, delay)
                self.add_after(key, delay)
            else:
                if again is None:
                    self._backoff.forget(key)
                else:
                    delay = again.delay if again.delay is not None else self._backoff.next(key)
                    if again.hold and again.delay is not None:
                        self.hold(key, max(delay, 0.0))
                    else:
                        self.add_after(key, max(delay, 0.0))
            finally:
                self._active.discard(key)
                logger.debug("Reconciled %s in %.3fs.", key, time.monotonic() - started)
                if key in self._dirty:
                    self._dirty.discard(key)
                    self.add(key)
                if not self._queued and not self._active and not self._timers:
                    self._idle.set()
