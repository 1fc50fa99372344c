"""The operator's index of the custom resources' facts: what kopf's index gave, version-aware."""

from typing import Any

from greenshift.controllers import indexes
from greenshift.controllers.fact_index import FactIndex
from greenshift.controllers.keys import ObjectKey
from greenshift.runtime.packing import unpack

ROUTE = ObjectKey("GatewayRoute", "wallet-a", "pub")


def route(version: str, host: str = "a.example.be", name: str = "pub") -> dict[str, Any]:
    return {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "GatewayRoute",
        "metadata": {
            "name": name,
            "namespace": "wallet-a",
            "resourceVersion": version,
            "creationTimestamp": "2026-11-28T10:00:00Z",
        },
        "spec": {"host": host, "pathPrefix": "/v1", "backend": {"service": {"name": "api"}}},
    }


def indexed(index: FactIndex) -> int:
    """How many objects the index holds: one resource fact each."""
    return sum(1 for facet, _ in index if facet == indexes.RESOURCE)


def test_an_update_replaces_every_fact_of_the_object() -> None:
    index = FactIndex()
    index.update(route("5"))
    assert list(index[(indexes.ROUTE_CLAIM, ("a.example.be", "/v1"))]) == [
        ("2026-11-28T10:00:00Z", "wallet-a", "pub")
    ]
    index.update(route("6", host="b.example.be"))
    assert index.get((indexes.ROUTE_CLAIM, ("a.example.be", "/v1"))) is None  # the old claim is gone
    assert (indexes.ROUTE_CLAIM, ("b.example.be", "/v1")) in index
    assert unpack(next(iter(index[(indexes.RESOURCE, ROUTE)])))["spec"]["host"] == "b.example.be"
    assert indexed(index) == 1


def test_an_older_state_never_replaces_a_newer_one() -> None:
    index = FactIndex()
    index.update(route("7", host="new.example.be"))
    index.update(route("6", host="old.example.be"))  # e.g. a LIST that started before the event
    assert (indexes.ROUTE_CLAIM, ("new.example.be", "/v1")) in index
    assert (indexes.ROUTE_CLAIM, ("old.example.be", "/v1")) not in index


def test_objects_of_one_key_are_all_there_and_removal_takes_only_one() -> None:
    index = FactIndex()
    index.update(route("5"))
    index.update(route("6", name="other"))
    assert sorted(index[(indexes.IN_NAMESPACE, "wallet-a")]) == [
        ("GatewayRoute", "other"),
        ("GatewayRoute", "pub"),
    ]
    index.remove(route("7"))
    assert list(index[(indexes.IN_NAMESPACE, "wallet-a")]) == [("GatewayRoute", "other")]
    assert (indexes.RESOURCE, ROUTE) not in index


def test_a_listing_forgets_what_it_lacks_unless_an_event_since_brought_it() -> None:
    index = FactIndex()
    index.update(route("5", name="deleted-while-unwatched"))
    index.update(route("12", name="created-after-the-list"))
    index.update(route("6"))
    gone = index.keep_only("GatewayRoute", {ROUTE}, list_version=10)
    assert [body["metadata"]["name"] for body in gone] == ["deleted-while-unwatched"]  # its last state
    assert indexed(index) == 2
    assert (indexes.RESOURCE, ObjectKey("GatewayRoute", "wallet-a", "deleted-while-unwatched")) not in index
    assert (indexes.RESOURCE, ObjectKey("GatewayRoute", "wallet-a", "created-after-the-list")) in index
    index.keep_only("WalletTenant", set(), list_version=99)  # another kind: untouched
    index.keep_only("GatewayRoute", set(), list_version=99, namespace="wallet-b")  # another namespace
    assert indexed(index) == 2
