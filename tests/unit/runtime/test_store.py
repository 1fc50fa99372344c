from typing import Any

from greenshift.runtime.store import Store


def obj(name: str, version: int, namespace: str = "ns", **labels: str) -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace, "resourceVersion": str(version), "labels": labels}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def by_team(body: Any) -> list[str]:
    team = body["metadata"]["labels"].get("team")
    return [team] if team else []


def test_an_older_version_is_no_news() -> None:
    store = Store()
    assert store.upsert(obj("a", 5)) is not None
    assert store.upsert(obj("a", 4)) is None
    assert store.upsert(obj("a", 5)) is None
    change = store.upsert(obj("a", 6))
    assert change is not None
    assert change.old is not None
    assert change.old["metadata"]["resourceVersion"] == "5"


def test_a_deletion_before_a_stale_list_page_is_not_undone() -> None:
    store = Store()
    store.upsert(obj("a", 5))
    deleted = store.delete(obj("a", 7))
    assert deleted is not None
    assert deleted.new is None
    assert deleted.body["metadata"]["name"] == "a"
    assert store.upsert(obj("a", 5)) is None  # a LIST page older than the deletion
    assert store.get(("ns", "a")) is None
    assert store.upsert(obj("a", 9)) is not None  # created again, later


def test_a_list_deletes_what_it_no_longer_holds_unless_newer() -> None:
    store = Store()
    store.upsert(obj("a", 5))
    store.upsert(obj("b", 12))
    store.upsert(obj("c", 3, namespace="other"))
    gone = store.replace("ns", set(), 10)
    assert [c.body["metadata"]["name"] for c in gone] == ["a"]
    assert sorted(store) == [("ns", "b"), ("other", "c")]


def test_indexes_follow_the_objects() -> None:
    store = Store({"team": by_team})
    store.upsert(obj("a", 1, team="red"))
    store.upsert(obj("b", 1, team="red"))
    assert store.index("team", "red") == {("ns", "a"), ("ns", "b")}
    store.upsert(obj("a", 2, team="blue"))
    assert store.index("team", "red") == {("ns", "b")}
    store.delete(obj("b", 3))
    assert store.index("team", "red") == frozenset()
    assert store.index_values("team") == ["blue"]
