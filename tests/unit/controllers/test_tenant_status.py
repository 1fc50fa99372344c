"""A tenant is Ready only once its quota is in force (quota admission refuses before that)."""

import datetime
from typing import Any

from greenshift.controllers.tenant import QUOTA_GRACE_SECONDS, quota_grace, quota_in_force, tenant_status

NS = "wallet-acme"
TENANT: dict[str, Any] = {"metadata": {"name": "acme", "generation": 1}, "spec": {}}
HARD = {"pods": "40", "count/documentsources.greenshift.io": "10"}


def _live(quota_status: dict[str, Any] | None) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    quota: dict[str, Any] = {"kind": "ResourceQuota", "spec": {"hard": HARD}}
    if quota_status is not None:
        quota["status"] = quota_status
    return {
        ("v1", "Namespace", "", NS): {"kind": "Namespace", "status": {"phase": "Active"}},
        ("v1", "ResourceQuota", NS, "greenshift-quota"): quota,
    }


def _ready(status: dict[str, Any]) -> tuple[str, str]:
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    return ready["status"], ready["reason"]


def test_quota_not_yet_taken_up_keeps_the_tenant_pending() -> None:
    status = tenant_status(TENANT, NS, _live(None), {"documentSources": 0})
    assert _ready(status) == ("False", "QuotaPending")
    applied = next(c for c in status["conditions"] if c["type"] == "PoliciesApplied")
    assert applied["status"] == "False"


def test_quota_taken_up_partly_or_stale_is_not_in_force() -> None:
    used = dict.fromkeys(HARD, "0")
    assert not quota_in_force({"spec": {"hard": HARD}, "status": {"hard": {"pods": "40"}, "used": used}})
    assert not quota_in_force(
        {"spec": {"hard": HARD}, "status": {"hard": {**HARD, "pods": "20"}, "used": used}}
    )


def test_quota_whose_usage_lacks_a_resource_is_not_in_force() -> None:
    """A resource the quota controller has not discovered yet: limit taken up, usage not counted."""
    quota = {"spec": {"hard": HARD}, "status": {"hard": HARD, "used": {"pods": "0"}}}
    assert not quota_in_force(quota)


def test_quota_in_force_makes_the_tenant_ready() -> None:
    status = tenant_status(
        TENANT, NS, _live({"hard": HARD, "used": dict.fromkeys(HARD, "0")}), {"documentSources": 0}
    )
    assert _ready(status) == ("True", "Ready")


def test_a_new_quota_not_yet_taken_up_is_waited_for_before_quota_pending_is_reported() -> None:
    """The quota controller's status write wakes the tenant; QuotaPending is written only if it
    takes longer than the grace period (one status write fewer per tenant)."""
    created = {"metadata": {"creationTimestamp": "2026-12-02T10:00:00Z"}, "spec": {"hard": HARD}}
    start = datetime.datetime(2026, 12, 2, 10, 0, 0, tzinfo=datetime.UTC).timestamp()
    assert quota_grace(created, start + 1) == QUOTA_GRACE_SECONDS - 1
    assert quota_grace(created, start + QUOTA_GRACE_SECONDS + 1) == 0
    in_force = {**created, "status": {"hard": HARD, "used": dict.fromkeys(HARD, "0")}}
    assert quota_grace(in_force, start + 1) == 0
    assert quota_grace(None, start) == 0
