"""The shared forwarder in the operator: its key, its wake rules, what it is watched with, its reconcile."""

from typing import Any

import kopf

from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.controllers import watches
from greenshift.controllers.context import Context
from greenshift.controllers.indexes import ClusterView, child_store
from greenshift.controllers.keys import ObjectKey, log_forwarder_key, owner_of
from greenshift.controllers.logforwarder import logged_tenants, reconcile_log_forwarder
from greenshift.controllers.wiring import (
    FORWARDERS,
    RECONCILERS,
    Runtime,
    child_namespaces,
    child_resources,
)
from greenshift.kube import KubeClient, PermanentApiError, ref_of_kind
from greenshift.render.logging import LoggedTenant
from greenshift.runtime.events import EventPoster
from greenshift.runtime.packing import pack
from greenshift.runtime.queue import Requeue
from greenshift.runtime.store import Change

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
ON = parse_platform_config({"logging": {"flavor": "openshift-logging", "namespace": "platform-logs"}})
KEY = ObjectKey("ClusterLogForwarder", "platform-logs", "greenshift-tenants")
CONFIGMAPS = ref_of_kind("v1", "ConfigMap")


class Server:
    """A stand-in API server for applies and deletes: keeps what it was sent."""

    def __init__(self, refuse: bool = False) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.version = 0
        self.refuse = refuse

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        if self.refuse:
            raise PermanentApiError(404, "NotFound", "the server could not find the requested resource")
        self.version += 1
        stored = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self.version)}}
        self.objects[obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]] = stored
        return stored

    async def delete(self, ref: Any, namespace: str | None, name: str) -> bool:
        return self.objects.pop((ref.kind, namespace or "", name), None) is not None


def context(config: PlatformConfig = ON, server: Server | None = None) -> Context:
    client = server or KubeClient(kopf.ConnectionInfo(server="http://127.0.0.1:9"))  # never called
    view = ClusterView()
    for ref in child_resources(config):
        view.children.setdefault(ref, child_store())
    return Context(
        client=client,  # type: ignore[arg-type]
        config=config,
        settings=kopf.OperatorSettings(),
        view=view,
        events=EventPoster(KubeClient(kopf.ConnectionInfo(server="http://127.0.0.1:9"))),
    )


def tenant(name: str, *, deleting: bool = False, **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{name}", "generation": 1}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    return {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "WalletTenant",
        "metadata": meta,
        "spec": {"agency": name.upper(), "tier": "standard", **spec},
    }


def namespace(name: str, tenant: str | None) -> dict[str, Any]:
    labels = {"greenshift.io/tenant": tenant} if tenant is not None else {}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def onboarded(ctx: Context, *tenants: dict[str, Any]) -> None:
    """Tenants in the view, each with the Namespace the operator made for it."""
    for body in tenants:
        ctx.view.resources["WalletTenant"].upsert(body)
        ns = (body["spec"].get("namespace")) or f"wallet-{body['metadata']['name']}"
        ctx.view.namespaces.upsert(namespace(ns, body["metadata"]["name"]))


def watched(ctx: Context, server: Server) -> None:
    """What the reflectors would hold of the server's objects (they carry the managed-by label)."""
    for (kind, _, _), obj in server.objects.items():
        store = ctx.view.child_store(obj["apiVersion"], kind)
        assert store is not None
        store.upsert(obj)


def test_the_key_is_the_owner_its_children_name() -> None:
    assert log_forwarder_key(ON) == KEY
    assert log_forwarder_key(PlatformConfig()) is None
    child = {
        "metadata": {
            "name": "greenshift-tenants",
            "namespace": "platform-logs",
            "annotations": {"greenshift.io/owner": "ClusterLogForwarder/platform-logs/greenshift-tenants"},
        }
    }
    assert owner_of(child) == KEY
    forged = {"metadata": {**child["metadata"], "namespace": "wallet-evil"}}
    assert owner_of(forged) is None  # a claim from a tenant's namespace is no child of it
    assert RECONCILERS["ClusterLogForwarder"] is reconcile_log_forwarder


def test_forwarders_are_watched_only_in_the_logging_namespace_and_service_accounts_not_at_all() -> None:
    kinds = child_resources(ON)
    assert FORWARDERS in kinds
    assert "ServiceAccount" not in {ref.kind for ref in kinds}
    assert child_namespaces(FORWARDERS, ON) == ["platform-logs"]
    assert child_namespaces(CONFIGMAPS, ON) == [None]
    assert FORWARDERS not in child_resources(PlatformConfig())


def test_every_resync_queues_the_forwarder() -> None:
    runtime = Runtime(config=ON, connection=kopf.ConnectionInfo(server="http://127.0.0.1:9"))
    runtime.view.resources["WalletTenant"].upsert(tenant("a"))
    assert runtime.view.resource_keys() == [ObjectKey("WalletTenant", "", "a"), KEY]
    off = Runtime(config=PlatformConfig(), connection=kopf.ConnectionInfo(server="http://127.0.0.1:9"))
    assert off.view.resource_keys() == []


def change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> Change:
    return Change(new, pack(old) if old is not None else None)


def test_a_tenant_wakes_the_forwarder_when_what_it_says_of_it_changes() -> None:
    ctx = context()
    a = tenant("a")
    wakes = [KEY]
    assert list(watches.log_forwarder_of_tenant(ctx, change(None, a))) == wakes  # added
    assert list(watches.log_forwarder_of_tenant(ctx, change(a, None))) == wakes  # deleted
    assert list(watches.log_forwarder_of_tenant(ctx, change(a, tenant("a", deleting=True)))) == wakes
    for edit in ({"tier": "critical"}, {"agency": "OTHER"}, {"namespace": "a-prod"}):
        assert list(watches.log_forwarder_of_tenant(ctx, change(a, tenant("a", **edit)))) == wakes
    status = {**a, "status": {"observedGeneration": 1}}
    assert list(watches.log_forwarder_of_tenant(ctx, change(a, status))) == []
    suspended = tenant("a", suspended=True)
    assert list(watches.log_forwarder_of_tenant(ctx, change(a, suspended))) == []  # keeps its entries
    assert list(watches.log_forwarder_of_tenant(context(PlatformConfig()), change(None, a))) == []


def test_a_namespace_that_becomes_or_stops_being_a_tenants_wakes_the_forwarder() -> None:
    ctx = context()
    made = namespace("wallet-a", "a")
    assert list(watches.log_forwarder_of_namespace(ctx, change(None, made))) == [KEY]
    assert list(watches.log_forwarder_of_namespace(ctx, Change(made, None, echo=True))) == [KEY]
    assert list(watches.log_forwarder_of_namespace(ctx, change(made, None))) == [KEY]
    assert list(watches.log_forwarder_of_namespace(ctx, change(made, namespace("wallet-a", None)))) == [KEY]
    other = namespace("team-x", None)
    assert list(watches.log_forwarder_of_namespace(ctx, change(None, other))) == []
    phase = {**made, "status": {"phase": "Active"}}
    assert list(watches.log_forwarder_of_namespace(ctx, change(made, phase))) == []


def test_the_rules_are_wired_only_with_logging() -> None:
    def names(rules: list[Any]) -> set[str]:
        return {rule.map.func.__name__ for rule in rules}

    assert "log_forwarder_of_tenant" in names(watches.resource_rules(context())["WalletTenant"])
    assert "log_forwarder_of_namespace" in names(watches.namespace_rules(context()))
    off = context(PlatformConfig())
    assert "log_forwarder_of_tenant" not in names(watches.resource_rules(off)["WalletTenant"])
    assert "log_forwarder_of_namespace" not in names(watches.namespace_rules(off))
    delays = {r.map.func.__name__: r.delay for r in watches.namespace_rules(context())}
    assert delays["log_forwarder_of_namespace"] == watches.LOG_FORWARDER_DELAY_SECONDS > 0
    assert delays["owner"] == 0  # drift of the forwarder: repaired at once


def test_only_tenants_holding_their_namespace_are_shipped() -> None:
    """Not a tenant being deleted, nor one whose namespace the operator did not make for it (a
    reserved one, another tenant's, a foreign one): its logs would go out labelled as its own."""
    ctx = context()
    onboarded(
        ctx, tenant("a"), tenant("b", tier="critical", namespace="b-prod"), tenant("gone", deleting=True)
    )
    ctx.view.resources["WalletTenant"].upsert(tenant("late"))  # its Namespace is not made yet
    ctx.view.resources["WalletTenant"].upsert(tenant("thief", namespace="b-prod"))  # b's
    ctx.view.resources["WalletTenant"].upsert(tenant("foreign", namespace="team-x"))
    ctx.view.namespaces.upsert(namespace("team-x", None))
    assert sorted(logged_tenants(ctx)) == [
        LoggedTenant("a", "A", "standard", "wallet-a"),
        LoggedTenant("b", "B", "critical", "b-prod"),
    ]


async def test_the_reconcile_applies_the_forwarder_then_deletes_it_with_the_last_tenant() -> None:
    server = Server()
    config = parse_platform_config(
        {
            "logging": {
                "flavor": "openshift-logging",
                "namespace": "platform-logs",
                "output": {"tls": {"caBundle": CA}},
            }
        }
    )
    ctx = context(config, server)
    onboarded(ctx, tenant("b"), tenant("a"))
    await reconcile_log_forwarder(ctx, KEY)
    assert sorted(server.objects) == [
        ("ClusterLogForwarder", "platform-logs", "greenshift-tenants"),
        ("ConfigMap", "platform-logs", "greenshift-logging-ca"),
    ]
    forwarder = server.objects["ClusterLogForwarder", "platform-logs", "greenshift-tenants"]
    assert [p["name"] for p in forwarder["spec"]["pipelines"]] == ["tenant-a", "tenant-b"]
    assert owner_of(forwarder) == KEY
    assert "ownerReferences" not in forwarder["metadata"]
    watched(ctx, server)
    version = server.version
    await reconcile_log_forwarder(ctx, KEY)  # nothing changed: nothing written
    assert server.version == version
    for name in ("a", "b"):
        ctx.view.resources["WalletTenant"].upsert(tenant(name, deleting=True))
    await reconcile_log_forwarder(ctx, KEY)
    assert server.objects == {}


async def test_nothing_is_written_in_a_tenants_namespace() -> None:
    server = Server()
    ctx = context(ON, server)
    onboarded(ctx, tenant("a"))
    ctx.view.namespaces.upsert(namespace("platform-logs", "a"))  # a tenant had it before logging was on
    await reconcile_log_forwarder(ctx, KEY)
    assert server.objects == {}


async def test_a_refused_forwarder_is_retried_slowly() -> None:
    ctx = context(ON, Server(refuse=True))
    onboarded(ctx, tenant("a"))
    retry = await reconcile_log_forwarder(ctx, KEY)
    assert isinstance(retry, Requeue)
    assert retry.delay == 60.0
