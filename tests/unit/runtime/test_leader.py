"""The leader election's decisions, without an API server: what to write, and when a Lease expired."""

import re
import socket
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import kopf
import pytest

from greenshift.kube import KubeClient
from greenshift.runtime import leader
from greenshift.runtime.leader import LeaderElection, Observed, decide, micro_time, observe, released

T0 = "2026-11-28T17:43:57.123456Z"
T1 = "2026-11-28T17:44:07.654321Z"


def lease(version: str = "7", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "greenshift-operator", "namespace": "greenshift", "resourceVersion": version},
        "spec": spec,
    }


def held_by(holder: str, version: str = "7", **spec: Any) -> dict[str, Any]:
    record = {
        "holderIdentity": holder,
        "leaseDurationSeconds": 15,
        "acquireTime": T0,
        "renewTime": T0,
        "leaseTransitions": 3,
    }
    return lease(version, **(record | spec))


def test_an_absent_lease_is_created_with_us_as_holder_and_no_transition() -> None:
    assert decide(None, "pod-a", 100.0, 100.0, lease_seconds=15, timestamp=T1) == {
        "holderIdentity": "pod-a",
        "leaseDurationSeconds": 15,
        "acquireTime": T1,
        "renewTime": T1,
        "leaseTransitions": 0,
    }


def test_our_lease_is_renewed_keeping_its_acquire_time_and_transitions() -> None:
    """Even when first seen just now: a restarted replica of the same name takes its Lease back."""
    spec = decide(held_by("pod-a"), "pod-a", 100.0, 100.0, lease_seconds=15, timestamp=T1)
    assert spec == {
        "holderIdentity": "pod-a",
        "leaseDurationSeconds": 15,
        "acquireTime": T0,
        "renewTime": T1,
        "leaseTransitions": 3,
    }


def test_another_holders_live_lease_is_left_alone() -> None:
    assert decide(held_by("pod-b"), "pod-a", 100.0, 114.9, lease_seconds=15, timestamp=T1) is None


def test_another_holders_lease_expires_after_its_own_duration_on_our_clock() -> None:
    other = held_by("pod-b", leaseDurationSeconds=30)
    assert decide(other, "pod-a", 100.0, 129.9, lease_seconds=15, timestamp=T1) is None
    spec = decide(other, "pod-a", 100.0, 130.0, lease_seconds=15, timestamp=T1)
    assert spec is not None
    assert spec["holderIdentity"] == "pod-a"
    assert spec["leaseDurationSeconds"] == 15  # ours from now on


def test_expiry_ignores_the_remote_renew_time_even_in_the_future() -> None:
    """A holder whose clock runs ahead does not keep the Lease: only our observation counts."""
    ahead = held_by("pod-b", renewTime="2999-01-01T00:00:00.000000Z")
    assert decide(ahead, "pod-a", 100.0, 115.0, lease_seconds=15, timestamp=T1) is not None


def test_expiry_ignores_the_remote_renew_time_in_the_past() -> None:
    """A holder whose clock runs behind is not taken over before we saw it silent for its duration."""
    behind = held_by("pod-b", renewTime="2000-01-01T00:00:00.000000Z")
    assert decide(behind, "pod-a", 100.0, 101.0, lease_seconds=15, timestamp=T1) is None


def test_a_record_without_a_duration_lasts_ours() -> None:
    other = held_by("pod-b")
    del other["spec"]["leaseDurationSeconds"]
    assert decide(other, "pod-a", 100.0, 114.0, lease_seconds=15, timestamp=T1) is None
    assert decide(other, "pod-a", 100.0, 115.0, lease_seconds=15, timestamp=T1) is not None


def test_taking_over_an_expired_lease_counts_a_transition_and_a_new_acquire_time() -> None:
    spec = decide(held_by("pod-b"), "pod-a", 100.0, 200.0, lease_seconds=15, timestamp=T1)
    assert spec == {
        "holderIdentity": "pod-a",
        "leaseDurationSeconds": 15,
        "acquireTime": T1,
        "renewTime": T1,
        "leaseTransitions": 4,
    }


@pytest.mark.parametrize("holder", ["", None])
def test_a_lease_without_holder_is_taken_at_once(holder: str | None) -> None:
    spec = decide(held_by("", holderIdentity=holder), "pod-a", 100.0, 100.0, lease_seconds=15, timestamp=T1)
    assert spec is not None
    assert (spec["holderIdentity"], spec["acquireTime"], spec["leaseTransitions"]) == ("pod-a", T1, 4)


def test_a_lease_without_spec_is_taken_as_the_first_transition() -> None:
    bare = lease()
    del bare["spec"]
    spec = decide(bare, "pod-a", 100.0, 100.0, lease_seconds=15, timestamp=T1)
    assert spec is not None
    assert spec["leaseTransitions"] == 1


def test_transitions_count_changes_of_holder_only() -> None:
    record = held_by("pod-b", leaseTransitions=0)
    history = []
    for identity in ["pod-a", "pod-a", "pod-b", "pod-b", "pod-a"]:
        spec = decide(record, identity, 0.0, 1000.0, lease_seconds=15, timestamp=T1)
        assert spec is not None
        record = lease(**spec)
        history.append(spec["leaseTransitions"])
    assert history == [1, 1, 2, 2, 3]


def test_other_spec_fields_are_kept() -> None:
    record = held_by("pod-a", preferredHolder="pod-c", strategy="OldestEmulationVersion")
    spec = decide(record, "pod-a", 0.0, 0.0, lease_seconds=15, timestamp=T1)
    assert spec is not None
    assert (spec["preferredHolder"], spec["strategy"]) == ("pod-c", "OldestEmulationVersion")


def test_decide_does_not_change_the_lease_it_read() -> None:
    record = held_by("pod-b")
    before = repr(record)
    decide(record, "pod-a", 0.0, 1000.0, lease_seconds=15, timestamp=T1)
    assert repr(record) == before


def test_an_unchanged_record_keeps_its_first_observation_time() -> None:
    first = observe(None, held_by("pod-b"), 100.0)
    assert first == Observed("7", held_by("pod-b")["spec"], 100.0)
    assert observe(first, held_by("pod-b"), 110.0) is first


def test_a_renewed_record_is_observed_anew() -> None:
    first = observe(None, held_by("pod-b"), 100.0)
    assert observe(first, held_by("pod-b", version="8", renewTime=T1), 110.0).at == 110.0


def test_a_changed_spec_under_the_same_version_is_observed_anew() -> None:
    first = observe(None, held_by("pod-b"), 100.0)
    assert observe(first, held_by("pod-b", renewTime=T1), 110.0).at == 110.0


def test_a_new_version_with_the_same_spec_is_observed_anew() -> None:
    first = observe(None, held_by("pod-b"), 100.0)
    assert observe(first, held_by("pod-b", version="8"), 110.0).at == 110.0


def test_an_observation_does_not_share_the_lease_it_read() -> None:
    record = held_by("pod-b")
    seen = observe(None, record, 100.0)
    record["spec"]["renewTime"] = T1
    assert seen.spec["renewTime"] == T0


def test_the_release_empties_the_holder_and_keeps_the_rest_of_the_record() -> None:
    assert released(held_by("pod-a")["spec"], T1) == {
        "holderIdentity": "",
        "leaseDurationSeconds": 1,
        "acquireTime": T0,
        "renewTime": T1,
        "leaseTransitions": 3,
    }


def test_a_released_lease_is_taken_at_once_by_another() -> None:
    record = lease("8", **released(held_by("pod-a")["spec"], T1))
    spec = decide(record, "pod-b", 100.0, 100.0, lease_seconds=15, timestamp=T1)
    assert spec is not None
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("pod-b", 4)


def test_micro_time_is_rfc3339_utc_with_microseconds() -> None:
    brussels = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 28, 18, 43, 57, 123456, tzinfo=brussels)
    assert micro_time(moment) == T0
    assert micro_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000Z"


@pytest.mark.parametrize(
    ("lease_seconds", "renew_deadline_seconds", "retry_seconds"),
    [(10.0, 10.0, 2.0), (15.0, 10.0, 10.0), (15.0, 10.0, 0.0), (5.0, 10.0, 2.0)],
)
def test_timings_must_be_ordered(
    lease_seconds: float, renew_deadline_seconds: float, retry_seconds: float
) -> None:
    client = KubeClient(kopf.ConnectionInfo(server="http://127.0.0.1:1"))
    with pytest.raises(ValueError, match="retry_seconds < renew_deadline_seconds < lease_seconds"):
        LeaderElection(
            client,
            "greenshift",
            "greenshift-operator",
            "pod-a",
            lease_seconds=lease_seconds,
            renew_deadline_seconds=renew_deadline_seconds,
            retry_seconds=retry_seconds,
        )


def test_the_identity_must_not_be_empty() -> None:
    client = KubeClient(kopf.ConnectionInfo(server="http://127.0.0.1:1"))
    with pytest.raises(ValueError, match="identity"):
        LeaderElection(client, "greenshift", "greenshift-operator", "")


def test_the_identity_is_the_pod_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "greenshift-operator-7d9f-abcde")
    assert leader.default_identity() == "greenshift-operator-7d9f-abcde"


def test_out_of_a_pod_the_identity_is_the_host_name_and_a_random_suffix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("POD_NAME", raising=False)
    monkeypatch.setattr(socket, "gethostname", lambda: "laptop")
    first, second = leader.default_identity(), leader.default_identity()
    assert re.fullmatch(r"laptop_[0-9a-f]{8}", first)
    assert first != second


def test_the_namespace_is_the_pods(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POD_NAMESPACE", "greenshift")
    monkeypatch.setattr(leader, "SERVICE_ACCOUNT_NAMESPACE", tmp_path / "namespace")
    (tmp_path / "namespace").write_text("other")
    assert leader.default_namespace() == "greenshift"


def test_else_the_namespace_is_the_service_accounts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("POD_NAMESPACE", raising=False)
    monkeypatch.setattr(leader, "SERVICE_ACCOUNT_NAMESPACE", tmp_path / "namespace")
    (tmp_path / "namespace").write_text("greenshift-system\n")
    assert leader.default_namespace() == "greenshift-system"


def test_else_the_namespace_is_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("POD_NAMESPACE", raising=False)
    monkeypatch.setattr(leader, "SERVICE_ACCOUNT_NAMESPACE", tmp_path / "absent")
    assert leader.default_namespace() == "default"
