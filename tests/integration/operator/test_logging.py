"""Centralized logging on the real API server with OpenShift Logging's published CRD: one shared
forwarder in the logging namespace (docs/logging.md).

The forwarder the operator renders is accepted by the real API server (server-side apply with
``fieldValidation=Strict``) for each kind of central store, with tenant names at the CRD's edges;
the running operator keeps one forwarder for every tenant (a tenant added adds its entries, one
deleted removes them), undoes edits, makes it again when deleted, keeps a suspended tenant's
entries, and prunes the per-tenant children of the earlier design; a tenant's owner
(``greenshift-tenant-admin`` from deploy/, bound as the operator binds it) can neither read nor
touch forwarders in the logging namespace nor create one in its own.
"""

import asyncio
import copy
from pathlib import Path
from typing import Any

import kopf
import pytest
import pytest_asyncio
import yaml

from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.controllers.children import stamp
from greenshift.controllers.keys import ObjectKey
from greenshift.envtest import ControlPlane
from greenshift.kube import ApiError, KubeClient, ResourceRef, ref_of_kind
from greenshift.render.common import labels, metadata
from greenshift.render.logging import CA_CONFIGMAP, FORWARDER_NAME, LoggedTenant, render_log_forwarder

from .conftest import (
    BINDINGS,
    CONFIGMAPS,
    NAMESPACES,
    TENANTS,
    Body,
    Kube,
    Operator,
    eventually,
    observed,
    onboard,
    tenant,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

FORWARDERS = ref_of_kind("observability.openshift.io/v1", "ClusterLogForwarder")
ACCOUNTS = ResourceRef("", "v1", "serviceaccounts", "ServiceAccount", True)  # no child kind any more
TENANT_ADMIN = Path(__file__).resolve().parents[3] / "deploy" / "tenant-admin-clusterrole.yaml"
LOGS = "platform-logs"
CA = "-----BEGIN CERTIFICATE-----\nMIIBdemo\n-----END CERTIFICATE-----\n"
OUTPUTS: dict[str, dict[str, Any]] = {
    "lokiStack": {"type": "lokiStack", "lokiStack": {"name": "central", "namespace": "openshift-logging"}},
    "http": {"type": "http", "url": "https://logs.platform.example.be/ingest"},
    "syslog": {"type": "syslog", "url": "tls://syslog.platform.example.be:6514", "syslogRFC": "RFC5424"},
}
LEFTOVERS = ",".join(
    [
        "app.kubernetes.io/managed-by=greenshift-operator",
        "app.kubernetes.io/component=logging",
        "greenshift.io/tenant",
    ]
)
"""docs/logging.md's selector of the per-tenant ServiceAccounts and forwarders an upgrade leaves."""


def logging_config(output: dict[str, Any], namespace: str = LOGS) -> PlatformConfig:
    return parse_platform_config(
        {
            "logging": {
                "flavor": "openshift-logging",
                "namespace": namespace,
                "output": output | {"tls": {"caBundle": CA}},
            }
        }
    )


def namespace(name: str) -> Body:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def platform_config(addon_crd_folder: Path, kube: Kube) -> PlatformConfig:
    """The module's operator ships logs to a LokiStack from the logging namespace ``LOGS``, which
    the platform team makes (needs the published CRD: skips without)."""
    await kube.create(namespace(LOGS))
    return logging_config(OUTPUTS["lokiStack"])


def logged(name: str, **spec: Any) -> LoggedTenant:
    """What the forwarder should say of the conftest's ``tenant(name, **spec)``."""
    return LoggedTenant(name, "TEST", spec.get("tier", "standard"), spec.get("namespace", f"wallet-{name}"))


def entries(forwarder: Body, name: str) -> list[Body]:
    """The input, filter and pipeline of tenant ``name`` in the forwarder (whichever exist)."""
    spec = forwarder["spec"]
    return [
        entry
        for field, prefix in (("inputs", "tenant-"), ("filters", "labels-"), ("pipelines", "tenant-"))
        for entry in spec.get(field) or []
        if entry["name"] == f"{prefix}{name}"
    ]


def expected_entries(config: PlatformConfig, *tenants: LoggedTenant) -> dict[str, list[Body]]:
    rendered = render_log_forwarder(tenants, config)[-1]
    return {t.name: entries(rendered, t.name) for t in tenants}


async def _strict_apply(kube: Kube, obj: Body) -> Body:
    ref = ref_of_kind(obj["apiVersion"], obj["kind"])
    meta = obj["metadata"]
    result = await kube.client.request(
        "PATCH",
        ref.path(meta.get("namespace"), meta["name"]),
        params={"fieldManager": "logging-test", "force": "true", "fieldValidation": "Strict"},
        body=obj,
        content_type="application/apply-patch+yaml",
    )
    return result or {}


@pytest.mark.parametrize("output", sorted(OUTPUTS))
async def test_the_rendered_forwarder_is_accepted_strictly(kube: Kube, output: str) -> None:
    """Two tenants, one with a name of 63 characters, one with dots (spec.namespace): the CRD
    takes every entry name, and strict validation finds no field it does not declare."""
    where = unique(f"strict-{output.lower()}")
    await kube.create(namespace(where))
    config = logging_config(OUTPUTS[output], where)
    tenants = [
        LoggedTenant("a" * 63, "BOSA", "critical", "wallet-long"),
        LoggedTenant("fod.fin", "FOD-FIN", "standard", "fodfin-prod"),
    ]
    children = render_log_forwarder(tenants, config)
    assert [c["kind"] for c in children] == ["ConfigMap", "ClusterLogForwarder"]
    for child in children:
        stored = await _strict_apply(
            kube, stamp(child, ObjectKey("ClusterLogForwarder", where, FORWARDER_NAME))
        )
        if child["kind"] == "ClusterLogForwarder":
            for field in ("inputs", "filters", "pipelines", "outputs", "serviceAccount"):
                assert stored["spec"][field] == child["spec"][field], field
    # Strict really is strict: a field the CRD does not declare is refused
    wrong = copy.deepcopy(children[-1])
    wrong["spec"]["outputs"][0]["tls"]["insecure"] = True
    with pytest.raises(ApiError) as refused:
        await _strict_apply(kube, wrong)
    assert "insecure" in str(refused.value)
    # and a name the CRD's pattern refuses is refused (what entry_suffix avoids)
    dotted = copy.deepcopy(children[-1])
    dotted["spec"]["inputs"][0]["name"] = "tenant-fod.fin"
    with pytest.raises(ApiError):
        await _strict_apply(kube, dotted)


async def _forwarder(kube: Kube, check: Any = lambda o: True) -> Body:
    return await kube.wait(FORWARDERS, LOGS, FORWARDER_NAME, check)


async def test_one_forwarder_follows_the_tenants(
    kube: Kube, operator: Operator, platform_config: PlatformConfig
) -> None:
    first, second, third = unique("loga"), unique("logb"), unique("logc")
    await onboard(kube, first)
    await onboard(kube, second, tier="critical")
    two = expected_entries(platform_config, logged(first), logged(second, tier="critical"))
    forwarder = await _forwarder(
        kube, lambda o: all(entries(o, name) == two[name] for name in (first, second))
    )
    assert forwarder["spec"]["serviceAccount"] == {"name": "greenshift-log-collector"}
    assert "ownerReferences" not in forwarder["metadata"]
    assert forwarder["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "greenshift-operator"
    assert entries(forwarder, first)[0]["application"] == {"includes": [{"namespace": f"wallet-{first}"}]}
    assert entries(forwarder, second)[1]["openshiftLabels"] == {
        "tenant": second,
        "agency": "TEST",
        "tier": "critical",
    }
    assert (
        forwarder["spec"]["outputs"]
        == render_log_forwarder([logged(first)], platform_config)[-1]["spec"]["outputs"]
    )
    assert (await kube.must_get(CONFIGMAPS, LOGS, CA_CONFIGMAP))["data"] == {"ca-bundle.crt": CA}
    names = [p["name"] for p in forwarder["spec"]["pipelines"]]
    assert names == sorted(names)

    # a third tenant adds its entries, the others' stay
    await onboard(kube, third)
    three = expected_entries(platform_config, logged(third))
    forwarder = await _forwarder(kube, lambda o: entries(o, third) == three[third])
    assert all(entries(forwarder, name) == two[name] for name in (first, second))

    # deleting a tenant removes its entries
    await kube.delete(TENANTS, None, second)
    forwarder = await _forwarder(kube, lambda o: entries(o, second) == [])
    assert entries(forwarder, first) == two[first]
    assert entries(forwarder, third) == three[third]


async def test_edits_are_undone_and_a_deleted_forwarder_is_made_again(
    kube: Kube, operator: Operator, platform_config: PlatformConfig
) -> None:
    name = unique("logedit")
    await onboard(kube, name)
    own = expected_entries(platform_config, logged(name))[name]
    forwarder = await _forwarder(kube, lambda o: entries(o, name) == own)

    # another namespace slipped into the tenant's input: taken out again
    inputs = copy.deepcopy(forwarder["spec"]["inputs"])
    mine = next(i for i in inputs if i["name"] == f"tenant-{name}")
    mine["application"]["includes"].append({"namespace": "kube-system"})
    await kube.patch(FORWARDERS, LOGS, FORWARDER_NAME, {"spec": {"inputs": inputs}})
    await _forwarder(kube, lambda o: entries(o, name) == own)
    # pointed at another store: put back
    outputs = copy.deepcopy(forwarder["spec"]["outputs"])
    outputs[0]["lokiStack"]["target"] = {"name": "attacker", "namespace": f"wallet-{name}"}
    await kube.patch(FORWARDERS, LOGS, FORWARDER_NAME, {"spec": {"outputs": outputs}})
    await _forwarder(kube, lambda o: o["spec"]["outputs"] == forwarder["spec"]["outputs"])

    # deleted: made again, with every tenant's entries
    uid = forwarder["metadata"]["uid"]
    await kube.delete(FORWARDERS, LOGS, FORWARDER_NAME)
    again = await _forwarder(kube, lambda o: o["metadata"]["uid"] != uid)
    assert entries(again, name) == own
    assert [p["name"] for p in again["spec"]["pipelines"]] == [
        p["name"] for p in forwarder["spec"]["pipelines"]
    ]
    # and the CA ConfigMap too
    await kube.delete(CONFIGMAPS, LOGS, CA_CONFIGMAP)
    await kube.wait(CONFIGMAPS, LOGS, CA_CONFIGMAP)


async def test_suspension_keeps_the_entries(
    kube: Kube, operator: Operator, platform_config: PlatformConfig
) -> None:
    name = unique("logsusp")
    await onboard(kube, name)
    own = expected_entries(platform_config, logged(name))[name]
    await _forwarder(kube, lambda o: entries(o, name) == own)
    await kube.apply(tenant(name, suspended=True))
    await kube.wait(TENANTS, None, name, lambda o: o["spec"].get("suspended") is True and observed(o))
    await operator.idle()
    await asyncio.sleep(0.5)
    assert entries(await kube.must_get(FORWARDERS, LOGS, FORWARDER_NAME), name) == own


def _legacy_children(body: Body) -> list[Body]:
    """The logging children the earlier design gave each tenant in its namespace, as it rendered
    and stamped them (its ServiceAccount, RoleBinding, CA ConfigMap and forwarder)."""
    name = body["metadata"]["name"]
    ns = f"wallet-{name}"
    meta = metadata(
        "",
        namespace=ns,
        labels=labels(body, name="greenshift-tenant", instance=name, component="logging"),
        owner=body,
    )

    def named(child: str) -> dict[str, Any]:
        return {**copy.deepcopy(meta), "name": child}

    account = "greenshift-log-collector"
    objects = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": named(account),
         "automountServiceAccountToken": False},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": named(account),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "collect-application-logs",
            },
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": ns}],
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": named(CA_CONFIGMAP),
         "data": {"ca-bundle.crt": CA}},
        {
            "apiVersion": "observability.openshift.io/v1",
            "kind": "ClusterLogForwarder",
            "metadata": named("greenshift-logs"),
            "spec": {
                "serviceAccount": {"name": account},
                "inputs": [
                    {"name": "tenant-application", "type": "application",
                     "application": {"includes": [{"namespace": ns}]}},
                ],
                "outputs": [{"name": "central-store", "type": "http", "http": {"url": "https://x.example.be"}}],
                "pipelines": [
                    {"name": "tenant-to-central-store", "inputRefs": ["tenant-application"],
                     "outputRefs": ["central-store"]},
                ],
            },
        },
    ]  # fmt: skip
    return [stamp(obj, ObjectKey("WalletTenant", "", name)) for obj in objects]


async def test_an_upgrade_prunes_the_per_tenant_children(kube: Kube, operator: Operator) -> None:
    """The RoleBinding that granted collect-application-logs in the tenant's namespace and the CA
    ConfigMap there are pruned by the tenant's reconcile (kinds it still watches); the
    ServiceAccount and forwarder, kinds the operator no longer watches nor may delete, are what
    docs/logging.md's one command selects, and nothing else."""
    name = unique("logold")
    ns = f"wallet-{name}"
    body = await onboard(kube, name)
    legacy = _legacy_children(body)
    for obj in legacy:
        ref = ACCOUNTS if obj["kind"] == "ServiceAccount" else ref_of_kind(obj["apiVersion"], obj["kind"])
        await kube.client.request("POST", ref.path(ns), body=obj)
    await kube.wait_gone(BINDINGS, ns, "greenshift-log-collector")
    await kube.wait_gone(CONFIGMAPS, ns, CA_CONFIGMAP)
    await operator.idle()
    left = [
        (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])
        for ref in (ACCOUNTS, FORWARDERS)
        for obj in await kube.client.list(ref, None, label_selector=LEFTOVERS)
    ]
    assert sorted(left) == [
        ("ClusterLogForwarder", ns, "greenshift-logs"),
        ("ServiceAccount", ns, "greenshift-log-collector"),
    ]  # not the shared forwarder: it names no tenant
    await kube.delete(FORWARDERS, ns, "greenshift-logs")
    await kube.client.delete(ACCOUNTS, ns, "greenshift-log-collector")
    await operator.idle()
    assert await kube.get(FORWARDERS, LOGS, FORWARDER_NAME) is not None


async def _owner(kube: Kube, cluster: ControlPlane, ns: str) -> kopf.ConnectionInfo:
    """A ServiceAccount bound to greenshift-tenant-admin in ``ns``, as the operator binds the owners."""
    for role in yaml.safe_load_all(TENANT_ADMIN.read_text()):
        await kube.client.request(
            "PATCH",
            f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role['metadata']['name']}",
            params={"fieldManager": "logging-test", "force": "true"},
            body=role,
            content_type="application/apply-patch+yaml",
        )
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "owner", "namespace": ns}}
    await kube.client.request("POST", ACCOUNTS.path(ns), body=account)
    await kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "test-owner", "namespace": ns},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "greenshift-tenant-admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "owner", "namespace": ns}],
        }
    )
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 600},
    }
    answer = await kube.client.request(
        "POST", f"/api/v1/namespaces/{ns}/serviceaccounts/owner/token", body=request
    )
    assert answer is not None
    return kopf.ConnectionInfo(
        server=cluster.url, ca_path=str(cluster.ca_path), token=answer["status"]["token"]
    )


async def _status(call: Any) -> int:
    try:
        await call
    except ApiError as exc:
        return exc.status
    return 200


async def test_a_tenant_owner_cannot_touch_any_forwarder(
    kube: Kube, operator: Operator, cluster: ControlPlane, platform_config: PlatformConfig
) -> None:
    name = unique("logrbac")
    ns = f"wallet-{name}"
    await onboard(kube, name)
    shared = await _forwarder(kube, lambda o: entries(o, name) != [])
    owner = await _owner(kube, cluster, ns)
    path = FORWARDERS.path(LOGS, FORWARDER_NAME)
    merge = "application/merge-patch+json"
    async with KubeClient(owner) as client:

        async def can_read_its_own() -> bool:  # RBAC takes a moment to see a new binding
            return await _status(client.request("GET", FORWARDERS.path(ns))) == 200

        await eventually(can_read_its_own, what="the owner's RoleBinding to take effect")
        # the logging namespace: no right at all
        assert await _status(client.request("GET", path)) == 403
        assert await _status(client.request("GET", FORWARDERS.path(LOGS))) == 403
        widen = {"spec": {"inputs": [{"name": f"tenant-{name}", "type": "application",
                                      "application": {"includes": [{"namespace": "*"}]}}]}}  # fmt: skip
        assert await _status(client.request("PATCH", path, body=widen, content_type=merge)) == 403
        assert await _status(client.request("DELETE", path)) == 403
        another = copy.deepcopy(shared)
        another["metadata"] = {"name": "mine", "namespace": LOGS}
        assert await _status(client.request("POST", FORWARDERS.path(LOGS), body=another)) == 403
        assert await _status(client.request("GET", CONFIGMAPS.path(LOGS, CA_CONFIGMAP))) == 403
        # its own namespace: no forwarder of its own (its collector would read every node's logs)
        own = copy.deepcopy(shared)
        own["metadata"] = {"name": "mine", "namespace": ns}
        assert await _status(client.request("POST", FORWARDERS.path(ns), body=own)) == 403
        # nor a binding of the collection role to an account of its own
        grant = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "mine", "namespace": ns},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "collect-application-logs",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "owner", "namespace": ns}],
        }
        assert await _status(client.request("POST", BINDINGS.path(ns), body=grant)) == 403
    assert (await kube.must_get(NAMESPACES, None, LOGS))["metadata"].get("labels", {}).get(
        "greenshift.io/tenant"
    ) is None
