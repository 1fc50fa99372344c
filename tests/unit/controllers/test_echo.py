"""The echo of the operator's own write is ignored, unless it carries a change nobody reconciled."""

from typing import Any

import kopf

from greenshift.config import PlatformConfig
from greenshift.controllers.context import Context
from greenshift.controllers.events import EventPoster
from greenshift.controllers.indexes import ClusterView
from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.lifecycle import write_status
from greenshift.controllers.watches import is_echo
from greenshift.kube import KubeClient
from greenshift.runtime.store import Change

KEY = ObjectKey("DocumentSource", "wallet-bosa", "identity")


def context() -> Context:
    client = KubeClient(kopf.ConnectionInfo(server="http://127.0.0.1:9"))  # never called
    return Context(
        client=client,
        config=PlatformConfig(),
        settings=kopf.OperatorSettings(),
        view=ClusterView(),
        events=EventPoster(client),
    )


def event(version: str, generation: int, observed: int | None, **meta: Any) -> dict[str, Any]:
    status = {} if observed is None else {"observedGeneration": observed}
    return {
        "metadata": {"name": KEY.name, "resourceVersion": version, "generation": generation, **meta},
        "status": status,
    }


def test_the_echo_of_an_own_status_write_is_ignored() -> None:
    ctx = context()
    ctx.own_versions[KEY] = {"11"}
    assert is_echo(ctx, KEY, event("11", 1, 1))
    assert KEY not in ctx.own_versions  # remembered until its echo only
    assert not is_echo(ctx, KEY, event("11", 1, 1))


def test_a_spec_change_the_own_write_followed_at_once_is_not_an_echo() -> None:
    """After a re-list the user's change (generation 2) arrives as the echo of the status write
    that observed generation 1 (the change's own event was not delivered): still reconciled."""
    ctx = context()
    ctx.own_versions[KEY] = {"11"}
    assert not is_echo(ctx, KEY, event("11", 2, 1))


def test_a_deletion_the_own_write_followed_is_not_an_echo() -> None:
    ctx = context()
    ctx.own_versions[KEY] = {"11"}
    assert not is_echo(ctx, KEY, event("11", 1, 1, deletionTimestamp="2026-11-28T00:00:00Z"))


def test_the_echo_of_a_write_before_any_status_is_ignored() -> None:
    ctx = context()
    ctx.own_versions[KEY] = {"5"}
    assert is_echo(ctx, KEY, event("5", 1, None))
    assert not is_echo(ctx, KEY, event("6", 1, None))  # someone else's write


async def test_an_event_that_overtakes_the_answer_to_an_own_write_waits_for_it() -> None:
    """The watch event of a status write can arrive before the write's answer: it is held (as the
    reflector's handler does while ``ctx.writing`` has the resource) and handled once the answer
    is known, when it is recognised as the echo."""
    ctx = context()
    replayed: list[tuple[str, bool]] = []

    def replay(change: Change) -> None:
        body = change.body
        replayed.append((body["metadata"]["resourceVersion"], is_echo(ctx, KEY, body)))

    ctx.replay = replay
    body = {"apiVersion": "greenshift.io/v1alpha1", "kind": "DocumentSource", **event("10", 1, None)}
    body["metadata"]["namespace"] = KEY.namespace
    answer = {
        **body,
        "metadata": {**body["metadata"], "resourceVersion": "11"},
        "status": {"observedGeneration": 1},
    }

    async def merge_patch(*_: Any, **__: Any) -> dict[str, Any]:
        ctx.writing[KEY].append(Change(answer, None))  # the echo overtakes the answer
        assert replayed == []
        return answer

    ctx.client.merge_patch = merge_patch  # type: ignore[method-assign]
    assert await write_status(ctx, body, {"observedGeneration": 1})
    assert replayed == [("11", True)]
    assert KEY not in ctx.writing
