"""A child's owner annotation is input: what it may claim (issue 16, item 2)."""

from typing import Any

from test_echo import context

from greenshift.controllers.keys import OWNER_ANNOTATION, ObjectKey, owner_of
from greenshift.kube import ref_of_kind
from greenshift.runtime.store import Store

CONFIGMAPS = ref_of_kind("v1", "ConfigMap")


def child(namespace: str, owner: str, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": namespace, "annotations": {OWNER_ANNOTATION: owner}, **meta},
    }


def test_a_namespaced_owner_is_claimed_only_from_its_own_namespace() -> None:
    assert owner_of(child("wallet-a", "DocumentSource/wallet-a/src")) == ObjectKey(
        "DocumentSource", "wallet-a", "src"
    )
    assert owner_of(child("wallet-evil", "DocumentSource/wallet-a/src")) is None
    assert owner_of(child("wallet-evil", "WalletTenant//a")) == ObjectKey("WalletTenant", "", "a")


def test_a_store_with_a_filter_holds_nothing_it_refuses_and_drops_what_becomes_refused() -> None:
    store = Store(keep=lambda body: owner_of(body) is not None)
    assert store.upsert(child("wallet-evil", "DocumentSource/wallet-a/src", resourceVersion="1")) is None
    assert len(store) == 0
    assert store.upsert(child("wallet-a", "DocumentSource/wallet-a/src", resourceVersion="2")) is not None
    dropped = store.upsert(child("wallet-a", "DocumentSource/wallet-b/src", resourceVersion="3"))
    assert dropped is not None
    assert dropped.new is None
    assert len(store) == 0


def test_a_tenants_children_are_in_its_namespace_and_reference_its_uid() -> None:
    ctx = context()
    tenant = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "WalletTenant",
        "metadata": {"name": "a", "uid": "uid-a", "resourceVersion": "1"},
        "spec": {},
    }
    ctx.view.resources["WalletTenant"].upsert(tenant)
    store = ctx.view.children.setdefault(CONFIGMAPS, Store({"owner": lambda b: [owner_of(b)]}))
    mine = child("wallet-a", "WalletTenant//a", resourceVersion="2", ownerReferences=[{"uid": "uid-a"}])
    elsewhere = {**child("wallet-evil", "WalletTenant//a", resourceVersion="3")}
    elsewhere["metadata"]["name"] = "d"
    wrong_uid = child("wallet-a", "WalletTenant//a", resourceVersion="4", ownerReferences=[{"uid": "other"}])
    wrong_uid["metadata"]["name"] = "e"
    for body in (mine, elsewhere, wrong_uid):
        store.upsert(body)
    names = [c["metadata"]["name"] for c in ctx.children(ObjectKey("WalletTenant", "", "a"))]
    assert names == ["c"]
