from typing import Any

from greenshift.controllers.child_cache import ChildCache
from greenshift.controllers.keys import ObjectKey
from greenshift.controllers.recent import RecentWrites

OWNER = ObjectKey("DocumentSource", "ns", "src")


def child(
    name: str, version: int, kind: str = "ConfigMap", owner: ObjectKey | None = OWNER
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "ns",
        "resourceVersion": str(version),
        "managedFields": [{}],
    }
    if owner is not None:
        meta["annotations"] = {"greenshift.io/owner": owner.annotation}
    return {"apiVersion": "v1", "kind": kind, "metadata": meta}


def names(bodies: list[Any]) -> list[str]:
    return sorted(b["metadata"]["name"] for b in bodies)


def test_children_are_kept_by_owner_without_managed_fields_and_never_go_back_in_time() -> None:
    cache = ChildCache()
    cache.upsert(child("a", 5))
    cache.upsert(child("a", 3))  # a late event of an older version
    (only,) = cache.children(OWNER)
    assert only["metadata"]["resourceVersion"] == "5"
    assert "managedFields" not in only["metadata"]
    cache.upsert(child("b", 1, owner=None))  # not the operator's
    assert len(cache) == 1
    cache.remove(child("a", 6))
    assert cache.children(OWNER) == []


def test_relist_replaces_one_kind_and_heals_missed_deletions() -> None:
    cache = ChildCache()
    cache.upsert(child("kept", 1))
    cache.upsert(child("missed-deletion", 2))
    cache.upsert(child("other-kind", 3, kind="Service"))
    for item in (child("kept", 4), child("new", 5)):  # a fresh listing, as the watcher feeds it
        cache.upsert(item)
    cache.keep_only("v1", "ConfigMap", {("v1", "ConfigMap", "ns", "kept"), ("v1", "ConfigMap", "ns", "new")})
    assert names(cache.children(OWNER)) == ["kept", "new", "other-kind"]


def test_a_listing_of_one_namespace_leaves_the_other_namespaces_alone() -> None:
    cache = ChildCache()
    cache.upsert(child("here", 1))
    elsewhere = child("elsewhere", 2)
    elsewhere["metadata"]["namespace"] = "other"
    cache.upsert(elsewhere)
    cache.keep_only("v1", "ConfigMap", set(), namespace="ns")
    assert names(cache.children(OWNER)) == ["elsewhere"]


def test_an_echo_of_the_operators_own_write_is_recognised_and_then_forgotten() -> None:
    recent = RecentWrites()
    recent.wrote(child("a", 7))
    assert recent.is_echo(child("a", 7))
    assert not recent.is_echo(child("a", 8))
    recent.observed(child("a", 7), deleted=False)
    assert recent.children(OWNER, []) == []  # the cache now speaks for it
    recent.wrote(child("b", 9))
    recent.observed(child("b", 9), deleted=True)
    assert recent.children(OWNER, []) == []


def test_the_owners_of_a_kind_are_known_without_unpacking() -> None:
    cache = ChildCache()
    cache.upsert(child("a", 1))
    cache.upsert(child("s", 2, kind="Service"))
    assert cache.owners_of_kind("v1", "ConfigMap") == {OWNER}
    assert cache.owners_of_kind("v1", "Secret") == set()


def test_one_child_is_read_without_its_siblings() -> None:
    cache = ChildCache()
    cache.upsert(child("a", 1))
    cache.upsert(child("b", 2))
    found = cache.get(OWNER, ("v1", "ConfigMap", "ns", "b"))
    assert found is not None
    assert found["metadata"]["resourceVersion"] == "2"
    assert cache.get(OWNER, ("v1", "ConfigMap", "ns", "c")) is None
