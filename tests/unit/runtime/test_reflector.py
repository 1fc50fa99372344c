"""The reflector against a scripted list-and-watch source: each failure ends in the right store and a
healthy stream, and the stream reports itself down meanwhile."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from greenshift.kube import ResourceRef, TemporaryApiError, ref_of_kind
from greenshift.runtime.reflector import Reflector, backoff
from greenshift.runtime.store import Change, Store

CONFIGMAPS = ref_of_kind("v1", "ConfigMap")
Body = dict[str, Any]


def obj(name: str, version: int) -> Body:
    meta = {"name": name, "namespace": "ns", "resourceVersion": str(version)}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def event(kind: str, name: str, version: int) -> Body:
    return {"type": kind, "object": obj(name, version)}


class Script:
    """LIST answers and watch streams, in order; a watch with nothing scripted waits forever."""

    def __init__(self, lists: list[tuple[list[Body], str]], watches: list[list[Body | Exception]]) -> None:
        self.lists = lists
        self.watches = watches
        self.listed = 0
        self.watched: list[str] = []
        self.idle = asyncio.Event()

    async def list_pages(
        self, ref: ResourceRef, namespace: str | None = None, *, label_selector: str | None = None
    ) -> AsyncIterator[tuple[list[Body], str]]:
        items, version = self.lists.pop(0)
        self.listed += 1
        yield [dict(i) for i in items], version

    async def watch(
        self,
        ref: ResourceRef,
        *,
        namespace: str | None = None,
        resource_version: str,
        label_selector: str | None = None,
        timeout_seconds: float,
    ) -> AsyncIterator[Body]:
        self.watched.append(resource_version)
        if not self.watches:
            self.idle.set()
            await asyncio.Event().wait()
        for item in self.watches.pop(0):
            if isinstance(item, Exception):
                raise item
            yield item


async def run(script: Script, on_change: Any = None) -> tuple[Reflector, list[Change]]:
    changes: list[Change] = []

    def record(change: Change) -> None:
        changes.append(change)
        if on_change is not None:
            on_change(change)

    reflector = Reflector(script, CONFIGMAPS, Store(), record, backoff_seconds=0.01)
    await reflector.sync()
    reflector.start()
    await asyncio.wait_for(script.idle.wait(), 5)
    await reflector.stop()
    return reflector, changes


def version(reflector: Reflector, name: str) -> str:
    found = reflector.store.get(("ns", name))
    assert found is not None
    return str(found["metadata"]["resourceVersion"])


def names(reflector: Reflector) -> list[str]:
    return sorted(name for _, name in reflector.store)


async def test_a_deleted_event_before_a_stale_list_page() -> None:
    broken = TemporaryApiError(0, "NetworkError", "reset")
    script = Script(
        [([obj("a", 5)], "5"), ([obj("a", 5)], "6")],  # the second LIST is served from a stale cache
        [[event("DELETED", "a", 7), broken]],
    )
    reflector, changes = await run(script)
    assert names(reflector) == []
    assert [c.new is None for c in changes] == [False, True]
    assert reflector.down == {}


async def test_a_410_during_a_resync_lists_again_at_once() -> None:
    gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old resource version"}}
    script = Script(
        [([obj("a", 5), obj("b", 6)], "6"), ([obj("b", 8), obj("c", 9)], "9")],
        [[event("MODIFIED", "a", 7), gone]],
    )
    reflector, _ = await run(script)
    assert names(reflector) == ["b", "c"]
    assert version(reflector, "b") == "8"
    assert script.watched == ["6", "9"]  # resumed from the new LIST
    assert reflector.down == {}


async def test_an_event_that_does_not_parse_marks_the_stream_down_then_relists() -> None:
    script = Script(
        [([obj("a", 5)], "5"), ([obj("a", 5), obj("big", 8)], "8")],
        [[ValueError("Line is too long")]],
    )
    reflector, _ = await run(script)
    assert names(reflector) == ["a", "big"]
    assert script.listed == 2
    assert reflector.down == {}


async def test_a_handler_exception_is_logged_and_the_stream_goes_on() -> None:
    def fail_on_b(change: Change) -> None:
        if change.body["metadata"]["name"] == "b":
            raise RuntimeError("a bug in one handler")

    script = Script([([], "1")], [[event("ADDED", "b", 2), event("ADDED", "c", 3)]])
    reflector, changes = await run(script, fail_on_b)
    assert names(reflector) == ["b", "c"]
    assert len(changes) == 2
    assert script.listed == 1
    assert reflector.down == {}


async def test_a_stalled_watch_is_down_until_listed_again() -> None:
    stalled = TemporaryApiError(0, "NetworkError", "WATCH /api/v1/configmaps: TimeoutError")
    seen_down: list[dict[str, str]] = []
    script = Script([([obj("a", 5)], "5"), ([obj("a", 6)], "6")], [[stalled]])
    reflector = Reflector(script, CONFIGMAPS, Store(), lambda _: None, backoff_seconds=0.2)
    await reflector.sync()
    reflector.start()
    await asyncio.sleep(0.1)
    seen_down.append(reflector.down)
    await asyncio.wait_for(script.idle.wait(), 5)
    await reflector.stop()
    assert seen_down == [
        {"configmaps": "TemporaryApiError: 0 NetworkError: WATCH /api/v1/configmaps: TimeoutError"}
    ]
    assert reflector.down == {}
    assert version(reflector, "a") == "6"


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    assert 0.8 <= backoff(1) <= 1.6
    assert 1.6 <= backoff(2) <= 3.2
    assert 10 <= backoff(20) <= 20
