import asyncio

from greenshift.runtime.queue import Requeue, WorkQueue


async def test_a_key_queued_many_times_is_handled_once() -> None:
    seen: list[str] = []

    async def handle(key: str) -> None:
        seen.append(key)

    queue: WorkQueue[str] = WorkQueue(handle, workers=2)
    for _ in range(5):
        queue.add("a")
    queue.add("b")
    queue.start()
    await asyncio.wait_for(queue.wait_idle(), 2)
    await queue.stop()
    assert sorted(seen) == ["a", "b"]


async def test_a_key_changed_while_running_runs_again_and_never_concurrently() -> None:
    running = 0
    peak = 0
    calls = 0
    release = asyncio.Event()

    async def handle(key: str) -> None:
        nonlocal running, peak, calls
        running += 1
        calls += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    queue: WorkQueue[str] = WorkQueue(handle, workers=4)
    queue.start()
    queue.add("a")
    await asyncio.sleep(0.05)
    queue.add("a")
    queue.add("a")
    release.set()
    await asyncio.wait_for(queue.wait_idle(), 2)
    await queue.stop()
    assert (calls, peak) == (2, 1)


async def test_a_returned_requeue_honours_its_delay_and_errors_back_off() -> None:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def handle(key: str) -> Requeue | None:
        times.append(loop.time())
        if len(times) == 1:
            return Requeue("throttled", 0.3)
        if len(times) == 2:
            raise RuntimeError("boom")
        return None

    queue: WorkQueue[str] = WorkQueue(handle, workers=1)
    queue.start()
    queue.add("a")
    await asyncio.wait_for(queue.wait_idle(), 3)
    await queue.stop()
    assert len(times) == 3
    assert times[1] - times[0] >= 0.29
    assert times[2] - times[1] >= 0.19  # the first backoff step


async def test_a_retry_after_holds_the_key_against_events_meanwhile() -> None:
    """The server said when to come back: an event queueing the key again must not retry it sooner."""
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def handle(key: str) -> Requeue | None:
        times.append(loop.time())
        return Requeue("429 Too Many Requests", 0.4, hold=True) if len(times) == 1 else None

    queue: WorkQueue[str] = WorkQueue(handle, workers=2)
    queue.start()
    queue.add("a")
    await asyncio.sleep(0.05)
    for _ in range(3):  # events of the key while it is held, now or a moment later
        queue.add("a")
        queue.add_after("a", 0.01)
        await asyncio.sleep(0.05)
    await asyncio.wait_for(queue.wait_idle(), 3)
    await queue.stop()
    assert len(times) == 2
    assert times[1] - times[0] >= 0.39


async def test_without_a_hold_an_event_runs_the_key_at_once() -> None:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def handle(key: str) -> Requeue | None:
        times.append(loop.time())
        return Requeue("refused child; retried slowly", 5.0) if len(times) == 1 else None

    queue: WorkQueue[str] = WorkQueue(handle, workers=1)
    queue.start()
    queue.add("a")
    await asyncio.sleep(0.05)
    queue.add("a")  # a change of the resource
    await asyncio.sleep(0.1)
    await queue.stop()
    assert len(times) == 2
    assert times[1] - times[0] < 1


async def test_a_requeue_without_delay_backs_off() -> None:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def handle(key: str) -> Requeue | None:
        times.append(loop.time())
        return Requeue("try again") if len(times) < 3 else None

    queue: WorkQueue[str] = WorkQueue(handle, workers=1)
    queue.start()
    queue.add("a")
    await asyncio.wait_for(queue.wait_idle(), 3)
    await queue.stop()
    assert len(times) == 3
    assert times[2] - times[1] >= 1.9 * (times[1] - times[0]) > 0.19  # 0.2 s, then 0.4 s
