"""A source's status reads its Deployment as applied, or as watched when the watch already has a
newer state (the Deployment controller's status often arrives with the answer to the apply)."""

from typing import Any

from test_echo import context

from greenshift.controllers.context import Context
from greenshift.controllers.indexes import owners
from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.lifecycle import newest_child
from greenshift.kube import ref_of_kind
from greenshift.runtime.store import Store

SOURCE = ObjectKey("DocumentSource", "wallet-bosa", "identity")
DEPLOYMENTS = ref_of_kind("apps/v1", "Deployment")


def watch(ctx: Context, body: dict[str, Any]) -> None:
    ctx.view.children.setdefault(DEPLOYMENTS, Store({"owner": owners})).upsert(body)


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
    watch(ctx, deployment(8, readyReplicas=1))
    assert newest_child(ctx, SOURCE, deployment(7))["status"] == {"readyReplicas": 1}


def test_the_apply_answer_wins_over_an_older_or_missing_watched_state() -> None:
    ctx = context()
    assert newest_child(ctx, SOURCE, deployment(7))["metadata"]["resourceVersion"] == "7"
    watch(ctx, deployment(6, readyReplicas=1))
    assert newest_child(ctx, SOURCE, deployment(7))["status"] == {}
