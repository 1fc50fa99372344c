"""The echo of the operator's own write wakes nothing, unless it carries a change nobody reconciled."""

from typing import Any

import kopf

from greenshift.config import PlatformConfig
from greenshift.controllers.context import Context
from greenshift.controllers.indexes import ClusterView
from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.lifecycle import write_status
from greenshift.controllers.watches import itself
from greenshift.kube import KubeClient
from greenshift.runtime.events import EventPoster
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
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "DocumentSource",
        "metadata": {
            "name": KEY.name,
            "namespace": KEY.namespace,
            "resourceVersion": version,
            "generation": generation,
            **meta,
        },
        "status": status,
    }


def wakes(body: dict[str, Any], *, echo: bool) -> bool:
    return list(itself(context(), Change(body, None, echo=echo))) == [KEY]


def test_the_echo_of_an_own_status_write_wakes_nothing_another_write_does() -> None:
    assert not wakes(event("11", 1, 1), echo=True)
    assert not wakes(event("5", 1, None), echo=True)  # a write before any status
    assert wakes(event("11", 1, 1), echo=False)


def test_a_spec_change_the_own_write_followed_at_once_is_reconciled() -> None:
    """After a re-list the user's change (generation 2) arrives as the echo of the status write
    that observed generation 1 (the change's own event was not delivered): still reconciled."""
    assert wakes(event("11", 2, 1), echo=True)


def test_a_deletion_the_own_write_followed_is_reconciled() -> None:
    assert wakes(event("11", 1, 1, deletionTimestamp="2026-11-28T00:00:00Z"), echo=True)


async def test_an_event_that_overtakes_the_answer_to_an_own_write_waits_for_it() -> None:
    """The watch event of a status write can arrive before the write's answer: it is held and
    delivered once the answer is known, marked as the echo."""
    ctx = context()
    body = event("10", 1, None)
    answer = {
        **body,
        "metadata": {**body["metadata"], "resourceVersion": "11"},
        "status": {"observedGeneration": 1},
    }
    delivered: list[Change] = []

    async def merge_patch(*_: Any, **__: Any) -> dict[str, Any]:
        ctx.own.route(Change(answer, None), delivered.append)  # the echo overtakes the answer
        assert delivered == []
        return answer

    ctx.client.merge_patch = merge_patch  # type: ignore[method-assign]
    assert await write_status(ctx, body, {"observedGeneration": 1})
    assert [(c.body["metadata"]["resourceVersion"], c.echo) for c in delivered] == [("11", True)]
    assert not list(itself(ctx, delivered[0]))
