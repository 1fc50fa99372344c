"""A tenant reports a new connector's usage once its Pods exist, not once for the source and
again for its Pods (``USAGE_SETTLE_SECONDS``)."""

import datetime
from typing import Any

from greenshift.controllers.tenant import USAGE_SETTLE_SECONDS, connectors_starting, usage_only_change

NOW = 1_800_000_000.0


def _source(age: float) -> dict[str, Any]:
    created = datetime.datetime.fromtimestamp(NOW - age, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"metadata": {"name": "docs", "creationTimestamp": created}}


def _deployment(wanted: int, created: int, *, observed: int = 1, failure: bool = False) -> dict[str, Any]:
    status: dict[str, Any] = {"observedGeneration": observed, "replicas": created}
    if failure:
        status["conditions"] = [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate"}]
    return {"metadata": {"generation": 1}, "spec": {"replicas": wanted}, "status": status}


def test_a_new_source_without_its_deployment_waits_until_the_bound() -> None:
    assert connectors_starting([(_source(4), None)], NOW) == USAGE_SETTLE_SECONDS - 4


def test_a_new_connector_waits_until_its_pods_are_created() -> None:
    assert connectors_starting([(_source(10), _deployment(2, 1))], NOW) == USAGE_SETTLE_SECONDS - 10
    assert connectors_starting([(_source(10), _deployment(2, 2, observed=0))], NOW) > 0
    assert connectors_starting([(_source(10), _deployment(2, 2))], NOW) == 0


def test_pods_refused_by_a_full_quota_are_reported_at_once() -> None:
    assert connectors_starting([(_source(10), _deployment(3, 0, failure=True))], NOW) == 0


def test_after_the_bound_usage_is_reported_whatever_the_pods() -> None:
    assert connectors_starting([(_source(USAGE_SETTLE_SECONDS + 1), _deployment(3, 0))], NOW) == 0


def test_the_youngest_starting_connector_sets_the_wait() -> None:
    connectors = [(_source(25), None), (_source(5), _deployment(1, 0)), (_source(1), _deployment(1, 1))]
    assert connectors_starting(connectors, NOW) == USAGE_SETTLE_SECONDS - 5


def test_a_suspended_connector_scaled_to_zero_is_settled() -> None:
    assert connectors_starting([(_source(3), _deployment(0, 0))], NOW) == 0


def test_only_a_change_of_usage_alone_may_wait() -> None:
    tenant = {"status": {"observedGeneration": 1, "conditions": [{"type": "Ready"}], "usage": {"pods": "1"}}}
    assert usage_only_change(tenant, {**tenant["status"], "usage": {"pods": "2"}})
    assert not usage_only_change(tenant, dict(tenant["status"]))
    assert not usage_only_change(tenant, {**tenant["status"], "observedGeneration": 2, "usage": {}})
    assert not usage_only_change(tenant, {**tenant["status"], "conditions": [], "usage": {"pods": "2"}})
