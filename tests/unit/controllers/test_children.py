import asyncio
from typing import Any

from greenshift.controllers.children import HASH_ANNOTATION, stamp, sync_children
from greenshift.controllers.keys import OWNER_ANNOTATION, ObjectKey, owner_of
from greenshift.runtime.apply import foreign_additions, is_subset, needs_apply
from greenshift.runtime.own_writes import OwnWrites
from greenshift.runtime.store import Change

OWNER = ObjectKey("WalletTenant", "", "bosa")


def quota(cpu: str = "4") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "greenshift-quota", "namespace": "wallet-bosa", "labels": {"a": "b"}},
        "spec": {"hard": {"requests.cpu": cpu}},
    }


def test_stamp_adds_owner_and_a_hash_that_follows_the_desired_state() -> None:
    first, same, other = stamp(quota(), OWNER), stamp(quota(), OWNER), stamp(quota("8"), OWNER)
    assert owner_of(first) == OWNER
    assert first["metadata"]["annotations"][OWNER_ANNOTATION] == "WalletTenant//bosa"
    assert (
        first["metadata"]["annotations"][HASH_ANNOTATION] == same["metadata"]["annotations"][HASH_ANNOTATION]
    )
    assert (
        first["metadata"]["annotations"][HASH_ANNOTATION] != other["metadata"]["annotations"][HASH_ANNOTATION]
    )
    assert "annotations" not in quota()["metadata"]  # the input is not modified


def test_subset_tolerates_server_defaults_but_not_changes() -> None:
    want = {"spec": {"ports": [{"port": 80}], "type": "ClusterIP"}}
    assert is_subset(
        want, {"spec": {"ports": [{"port": 80, "protocol": "TCP"}], "type": "ClusterIP", "x": 1}}
    )
    assert not is_subset(want, {"spec": {"ports": [{"port": 81}], "type": "ClusterIP"}})
    assert not is_subset(want, {"spec": {"ports": [{"port": 80}, {"port": 81}], "type": "ClusterIP"}})
    assert is_subset({"replicas": 2}, {"replicas": 2})
    assert is_subset({"podSelector": {}}, {"podSelector": {}})
    assert not is_subset({"podSelector": {}}, {"podSelector": {"matchLabels": {"app": "x"}}})


def test_apply_is_needed_for_missing_drifted_or_changed_children_only() -> None:
    desired = stamp(quota(), OWNER)
    live = {**desired, "metadata": {**desired["metadata"], "resourceVersion": "3", "uid": "u"}, "status": {}}
    assert not needs_apply(desired, live, HASH_ANNOTATION)
    assert needs_apply(desired, None, HASH_ANNOTATION)
    drifted = {**live, "spec": {"hard": {"requests.cpu": "100"}}}
    assert needs_apply(desired, drifted, HASH_ANNOTATION)
    assert needs_apply(stamp(quota("8"), OWNER), live, HASH_ANNOTATION)
    deleting = {**live, "metadata": {**live["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    assert needs_apply(desired, deleting, HASH_ANNOTATION)


def test_foreign_additions_clear_only_what_was_added_under_empty_mappings() -> None:
    want = {"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}, "metadata": {"labels": {"a": "b"}}}
    have = {
        "spec": {"podSelector": {"matchLabels": {"x": "y"}}, "policyTypes": ["Ingress"], "extra": 1},
        "metadata": {"labels": {"a": "b", "c": "d"}},
    }
    assert foreign_additions(want, have) == {"spec": {"podSelector": {"matchLabels": None}}}
    assert foreign_additions(want, {"spec": {"podSelector": {}}}) == {}


class SlowSecondApply:
    """Answers the first apply at once and holds the second until released (a stand-in server)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.version = 0

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        if obj["metadata"]["name"] == "slow":
            await self.release.wait()
        self.version += 1
        return {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self.version)}}


async def test_each_apply_is_remembered_as_it_answers_not_when_all_siblings_are_done() -> None:
    """A child's watch event arrives before its siblings' applies are done: it must be an echo."""
    client, own = SlowSecondApply(), OwnWrites(owner_of)
    fast, slow = stamp(quota(), OWNER), stamp(quota(), OWNER)
    slow["metadata"] = {**slow["metadata"], "name": "slow"}
    sync = asyncio.create_task(sync_children(client, [fast, slow], [], own))  # type: ignore[arg-type]
    for _ in range(5):
        await asyncio.sleep(0)
    event = {**fast, "metadata": {**fast["metadata"], "resourceVersion": "1"}}
    delivered: list[Change] = []
    own.route(Change(event, None), delivered.append)
    assert [c.echo for c in delivered] == [True]
    client.release.set()
    assert len((await sync).applied) == 2
