"""The one record of the operator's own writes: reads prefer its answers until the watch catches up,
echoes are marked, and a change that overtakes the answer to a write waits for it."""

import asyncio
from typing import Any

from greenshift.runtime.own_writes import OwnWrites
from greenshift.runtime.packing import pack
from greenshift.runtime.store import Change

OWNER = "DocumentSource/wallet-bosa/identity"
KEY = ("v1", "ConfigMap", "wallet-bosa", "a")


def owner_of(body: Any) -> str | None:
    owner = (body["metadata"].get("annotations") or {}).get("owner")
    return str(owner) if owner else None


def child(name: str, version: int, owner: str | None = OWNER) -> dict[str, Any]:
    annotations = {"owner": owner} if owner else {}
    meta = {
        "name": name,
        "namespace": "wallet-bosa",
        "resourceVersion": str(version),
        "annotations": annotations,
    }
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


async def answer(body: dict[str, Any]) -> dict[str, Any]:
    return body


async def answer_after(event: asyncio.Event, body: dict[str, Any]) -> dict[str, Any]:
    await event.wait()
    return body


def changed(body: dict[str, Any] | None, old: dict[str, Any] | None = None) -> Change:
    return Change(body, pack(old) if old is not None else None)


def deliver(own: OwnWrites, change: Change) -> list[Change]:
    delivered: list[Change] = []
    own.route(change, delivered.append)
    return delivered


async def test_an_own_write_wins_over_older_watched_state_until_the_watch_catches_up() -> None:
    own = OwnWrites(owner_of)
    await own.write(child("a", 3), answer(child("a", 5)))
    assert own.children(OWNER, [child("a", 3)])[0]["metadata"]["resourceVersion"] == "5"
    assert [c.echo for c in deliver(own, changed(child("a", 5)))] == [True]
    assert len(own) == 0
    assert [c.echo for c in deliver(own, changed(child("a", 5)))] == [False]  # an echo only once


async def test_a_created_child_is_seen_before_its_watch_event() -> None:
    own = OwnWrites(owner_of)
    await own.write(child("new", 0), answer(child("new", 7)))
    assert [c["metadata"]["name"] for c in own.children(OWNER, [])] == ["new"]
    assert own.wrote(OWNER, ("v1", "ConfigMap", "wallet-bosa", "new"))


def test_a_pruned_child_is_not_seen_while_the_store_still_has_it_nor_once_recreated_by_another() -> None:
    own = OwnWrites(owner_of)
    own.deleted(child("old", 4))
    assert own.children(OWNER, [child("old", 4)]) == []
    assert [c["metadata"]["name"] for c in own.children(OWNER, [child("old", 9)])] == ["old"]
    assert deliver(own, changed(None, child("old", 4)))[0].echo is False  # a deletion is never an echo
    assert len(own) == 0


async def test_a_custom_resource_prefers_the_newer_answer_and_is_forgotten_on_deletion() -> None:
    own = OwnWrites(owner_of)
    mine = child("identity", 8, owner=None)
    key = ("v1", "ConfigMap", "wallet-bosa", "identity")
    await own.write(mine, answer(mine))
    assert own.newest(child("identity", 2, owner=None), key) == mine
    deliver(own, changed(None, mine))
    assert own.newest(None, key) is None


async def test_a_change_that_overtakes_the_answer_waits_and_is_marked_then() -> None:
    for event, echo in ((child("a", 9), True), (child("a", 8), False)):
        own = OwnWrites(owner_of)
        release = asyncio.Event()

        write = asyncio.create_task(own.write(child("a", 1), answer_after(release, child("a", 9))))
        await asyncio.sleep(0)
        delivered = deliver(own, changed(event))
        assert delivered == []  # held: it cannot be told from the echo before the answer
        release.set()
        await write
        assert [c.echo for c in delivered] == [echo]


async def test_a_failed_write_delivers_what_it_held_as_no_echo() -> None:
    own = OwnWrites(owner_of)

    async def refused() -> dict[str, Any]:
        await asyncio.sleep(0.01)
        raise RuntimeError("refused")

    write = asyncio.create_task(own.write(child("a", 1), refused()))
    await asyncio.sleep(0)
    delivered = deliver(own, changed(child("a", 6)))
    await asyncio.gather(write, return_exceptions=True)
    assert [c.echo for c in delivered] == [False]
