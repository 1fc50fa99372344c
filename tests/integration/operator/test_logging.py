"""Centralized logging per tenant on the real API server with OpenShift Logging's published CRD.

The forwarder the operator renders is accepted by the real API server (server-side apply with
``fieldValidation=Strict``) for each kind of central store; the running operator makes it for a
tenant, keeps it through suspension and repairs it when someone edits or deletes it; a tenant's
owner (``greenshift-tenant-admin`` from deploy/, bound as the operator binds it) can read it but
neither edit, delete nor replace it, nor bind the collection role for another forwarder.
"""

import asyncio
import copy
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml

from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.envtest import ControlPlane
from greenshift.kube import ApiError, KubeClient, ref_of_kind
from greenshift.render.logging import BINDING_NAME, CA_CONFIGMAP, FORWARDER_NAME, SERVICE_ACCOUNT
from greenshift.render.tenant import render_tenant

from .conftest import (
    BINDINGS,
    CONFIGMAPS,
    TENANTS,
    Body,
    Kube,
    Operator,
    eventually,
    onboard,
    tenant,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

FORWARDERS = ref_of_kind("observability.openshift.io/v1", "ClusterLogForwarder")
ACCOUNTS = ref_of_kind("v1", "ServiceAccount")
TENANT_ADMIN = Path(__file__).resolve().parents[3] / "deploy" / "tenant-admin-clusterrole.yaml"
CA = "-----BEGIN CERTIFICATE-----\nMIIBdemo\n-----END CERTIFICATE-----\n"
OUTPUTS: dict[str, dict[str, Any]] = {
    "lokiStack": {"type": "lokiStack", "lokiStack": {"name": "central", "namespace": "openshift-logging"}},
    "http": {"type": "http", "url": "https://logs.platform.example.be/ingest"},
    "syslog": {"type": "syslog", "url": "tls://syslog.platform.example.be:6514", "syslogRFC": "RFC5424"},
}


def logging_config(output: dict[str, Any]) -> PlatformConfig:
    return parse_platform_config(
        {"logging": {"flavor": "openshift-logging", "output": output | {"tls": {"caBundle": CA}}}}
    )


@pytest.fixture(scope="module")
def platform_config(addon_crd_folder: Path) -> PlatformConfig:
    """The module's operator ships logs to a LokiStack (needs the published CRD: skips without)."""
    return logging_config(OUTPUTS["lokiStack"])


def _forwarder(children: list[Body]) -> Body:
    return next(c for c in children if c["kind"] == "ClusterLogForwarder")


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
    name = unique(f"log{output.lower()}")
    children = render_tenant(tenant(name), logging_config(OUTPUTS[output]))
    logging = [c for c in children if c["kind"] in ("Namespace", "ServiceAccount", "ClusterLogForwarder")]
    logging += [c for c in children if c["metadata"]["name"] in (BINDING_NAME, CA_CONFIGMAP)]
    for child in logging:
        stored = await _strict_apply(kube, child)
        if child["kind"] == "ClusterLogForwarder":
            assert stored["spec"]["outputs"] == child["spec"]["outputs"]
            assert stored["spec"]["inputs"] == [
                {"name": "tenant-application", "type": "application",
                 "application": {"includes": [{"namespace": f"wallet-{name}"}]}},
            ]  # fmt: skip
    # Strict really is strict: a field the CRD does not declare is refused
    wrong = copy.deepcopy(_forwarder(children))
    wrong["spec"]["outputs"][0]["tls"]["insecure"] = True
    with pytest.raises(ApiError) as refused:
        await _strict_apply(kube, wrong)
    assert "insecure" in str(refused.value)


async def test_the_operator_makes_keeps_and_repairs_the_forwarder(
    kube: Kube, operator: Operator, platform_config: PlatformConfig
) -> None:
    name = unique("logs")
    ns = f"wallet-{name}"
    body = await onboard(kube, name)
    expected = _forwarder(render_tenant(body, platform_config, defaulted=True))["spec"]
    forwarder = await kube.wait(FORWARDERS, ns, FORWARDER_NAME, lambda o: True)
    assert forwarder["spec"] == expected
    assert forwarder["spec"]["filters"][0]["openshiftLabels"] == {
        "tenant": name,
        "agency": "TEST",
        "tier": "standard",
    }
    assert forwarder["metadata"]["ownerReferences"][0]["kind"] == "WalletTenant"
    await kube.must_get(ACCOUNTS, ns, SERVICE_ACCOUNT)
    binding = await kube.must_get(BINDINGS, ns, BINDING_NAME)
    assert binding["roleRef"]["name"] == "collect-application-logs"
    assert (await kube.must_get(CONFIGMAPS, ns, CA_CONFIGMAP))["data"] == {"ca-bundle.crt": CA}

    # pointed elsewhere by someone else: put back
    elsewhere = copy.deepcopy(forwarder["spec"]["outputs"])
    elsewhere[0]["lokiStack"]["target"] = {"name": "attacker", "namespace": ns}
    await kube.patch(FORWARDERS, ns, FORWARDER_NAME, {"spec": {"outputs": elsewhere}})
    await kube.wait(FORWARDERS, ns, FORWARDER_NAME, lambda o: o["spec"]["outputs"] == expected["outputs"])
    # deleted: made again
    uid = forwarder["metadata"]["uid"]
    await kube.delete(FORWARDERS, ns, FORWARDER_NAME)
    again = await kube.wait(FORWARDERS, ns, FORWARDER_NAME, lambda o: o["metadata"]["uid"] != uid)
    assert again["spec"] == expected

    # suspension keeps it
    await kube.apply(tenant(name, suspended=True))
    await kube.wait(
        TENANTS,
        None,
        name,
        lambda o: o["metadata"]["generation"] == o.get("status", {}).get("observedGeneration"),
    )
    await asyncio.sleep(0.5)
    assert (await kube.must_get(FORWARDERS, ns, FORWARDER_NAME))["spec"] == expected


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
    await kube.create(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "owner", "namespace": ns}}
    )
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


async def test_a_tenant_can_read_but_not_edit_or_replace_its_forwarder(
    kube: Kube, operator: Operator, cluster: ControlPlane
) -> None:
    name = unique("logrbac")
    ns = f"wallet-{name}"
    await onboard(kube, name)
    await kube.wait(FORWARDERS, ns, FORWARDER_NAME, lambda o: True)
    owner = await _owner(kube, cluster, ns)
    path = FORWARDERS.path(ns, FORWARDER_NAME)
    async with KubeClient(owner) as client:

        async def can_read() -> bool:  # RBAC takes a moment to see a new binding
            return await _status(client.request("GET", path)) == 200

        await eventually(can_read, what="the owner's RoleBinding to take effect")
        merge = "application/merge-patch+json"
        elsewhere = {
            "spec": {
                "outputs": [
                    {"name": "central-store", "type": "http", "http": {"url": "https://evil.example"}}
                ]
            }
        }
        assert await _status(client.request("PATCH", path, body=elsewhere, content_type=merge)) == 403
        assert await _status(client.request("DELETE", path)) == 403
        own = copy.deepcopy(await kube.must_get(FORWARDERS, ns, FORWARDER_NAME))
        own["metadata"] = {"name": "mine", "namespace": ns}
        assert await _status(client.request("POST", FORWARDERS.path(ns), body=own)) == 403
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
        binding = BINDINGS.path(ns, BINDING_NAME)
        assert (
            await _status(client.request("PATCH", binding, body={"subjects": []}, content_type=merge)) == 403
        )
