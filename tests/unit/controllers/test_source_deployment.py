"""A source's status reads its Deployment as applied, or as watched when the watch already has a
newer state (the Deployment controller's status often arrives with the answer to the apply)."""

from typing import Any

from test_echo import context

from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.lifecycle import newest_child

SOURCE = ObjectKey("DocumentSource", "wallet-bosa", "identity")


def deployment(version: int, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "identity",
            "namespace": "wallet-bosa",
            "resourceVersion": str(version),
            "annotations": {"greenshift.io/owner": SOURCE.annotation},
        },
        "status": status,
    }


def test_the_newer_watched_state_wins_over_the_apply_answer() -> None:
    ctx = context()
    ctx.child_cache.upsert(deployment(8, readyReplicas=1))
    assert newest_child(ctx, SOURCE, deployment(7))["status"] == {"readyReplicas": 1}


def test_the_apply_answer_wins_over_an_older_or_missing_watched_state() -> None:
    ctx = context()
    assert newest_child(ctx, SOURCE, deployment(7))["metadata"]["resourceVersion"] == "7"
    ctx.child_cache.upsert(deployment(6, readyReplicas=1))
    assert newest_child(ctx, SOURCE, deployment(7))["status"] == {}
