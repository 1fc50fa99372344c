from typing import Any

from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.recent import RecentWrites

OWNER = ObjectKey("DocumentSource", "wallet-bosa", "identity")


def child(name: str, version: int, owner: ObjectKey | None = OWNER) -> dict[str, Any]:
    annotations = {"greenshift.io/owner": owner.annotation} if owner else {}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "wallet-bosa",
            "resourceVersion": str(version),
            "annotations": annotations,
        },
    }


def test_own_write_wins_over_an_older_index_entry_until_the_index_catches_up() -> None:
    recent = RecentWrites()
    recent.wrote(child("a", 5))
    assert recent.children(OWNER, [child("a", 3)])[0]["metadata"]["resourceVersion"] == "5"
    assert recent.children(OWNER, [child("a", 5)])[0]["metadata"]["resourceVersion"] == "5"
    assert len(recent) == 0


def test_a_created_child_is_seen_before_its_watch_event() -> None:
    recent = RecentWrites()
    recent.wrote(child("new", 7))
    assert [c["metadata"]["name"] for c in recent.children(OWNER, [])] == ["new"]


def test_a_pruned_child_is_not_seen_while_the_index_still_has_it() -> None:
    recent = RecentWrites()
    recent.deleted(OWNER, child("old", 4))
    assert recent.children(OWNER, [child("old", 4)]) == []
    assert recent.children(OWNER, []) == []
    assert len(recent) == 0


def test_a_child_recreated_by_someone_else_after_pruning_is_seen() -> None:
    recent = RecentWrites()
    recent.deleted(OWNER, child("old", 4))
    assert [c["metadata"]["name"] for c in recent.children(OWNER, [child("old", 9)])] == ["old"]


def test_custom_resources_prefer_the_newer_body_and_are_forgotten_on_deletion() -> None:
    recent = RecentWrites()
    mine = child("identity", 8, owner=None)
    key = ("v1", "ConfigMap", "wallet-bosa", "identity")
    recent.wrote(mine)
    assert recent.newest(child("identity", 2, owner=None), key) == mine
    recent.forget(mine)
    assert recent.newest(None, key) is None


KEY = ("v1", "ConfigMap", "wallet-bosa", "a")


def test_an_event_that_overtakes_the_answer_to_its_own_write_wakes_nothing() -> None:
    recent = RecentWrites()
    woken: list[ObjectKey] = []
    recent.on_foreign = woken.append
    recent.writing(OWNER, KEY)
    assert recent.hold(child("a", 9), deleted=False)  # the echo, before the answer
    recent.wrote(child("a", 9))
    recent.written(KEY, {9})
    assert woken == []
    assert not recent.hold(child("a", 10), deleted=False)  # nothing in flight any more


def test_another_change_or_a_deletion_held_during_a_write_wakes_the_owner_once_answered() -> None:
    for event, deleted in ((child("a", 8), False), (child("a", 9), True)):
        recent = RecentWrites()
        woken: list[ObjectKey] = []
        recent.on_foreign = woken.append
        recent.writing(OWNER, KEY)
        assert recent.hold(event, deleted=deleted)
        assert woken == []  # not before the answer
        recent.written(KEY, {9})
        assert woken == [OWNER]


def test_a_failed_write_wakes_the_owner_for_what_it_held_and_other_owners_are_never_held() -> None:
    recent = RecentWrites()
    woken: list[ObjectKey] = []
    recent.on_foreign = woken.append
    recent.writing(OWNER, KEY)
    assert not recent.hold(
        child("a", 5, owner=ObjectKey("DocumentSource", "wallet-bosa", "other")), deleted=False
    )
    assert recent.hold(child("a", 6), deleted=False)
    recent.written(KEY, set())
    assert woken == [OWNER]
