"""End to end: install with greenshift install, apply examples/, tenant isolation, refusals at apply time."""

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import ROOT, Cluster

from greenshift.loader import is_cluster_object, load_documents

pytestmark = pytest.mark.e2e

NAMESPACE = "greenshift-system"
EXAMPLES = ROOT / "examples"
WAIT = "300s"


def _greenshift(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "greenshift.cli", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def _example_resources() -> list[Path]:
    """The example files a GitOps sync would apply (not the rate card, which is for `greenshift usage`)."""
    return sorted(
        p for p in EXAMPLES.glob("*/*.yaml") if all(is_cluster_object(d.body) for d in load_documents([p]))
    )


def _owner_group(tenant_file: Path) -> str:
    tenant: dict[str, Any] = yaml.safe_load(tenant_file.read_text(encoding="utf-8"))
    owners = [o for o in tenant["spec"]["owners"] if o["kind"] == "Group"]
    return str(owners[0]["name"])


@pytest.fixture(scope="module")
def installed(cluster: Cluster) -> Iterator[Cluster]:
    has_cert_manager = (
        cluster.kubectl("get", "crd", "certificates.cert-manager.io", check=False).returncode == 0
    )
    manifests = _greenshift(
        "install",
        "--image",
        cluster.image,
        "--namespace",
        NAMESPACE,
        "--certificates",
        "cert-manager" if has_cert_manager else "self-managed",
    )
    # Twice: the first pass creates the CRDs that later objects (cert-manager's aside) are of.
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=manifests, check=False)
    crds = [f"crd/{plural}.greenshift.io" for plural in ("wallettenants", "documentsources", "gatewayroutes")]
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *crds)
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=manifests)
    cluster.kubectl(
        "-n", NAMESPACE, "rollout", "status", "deployment/greenshift-operator", f"--timeout={WAIT}"
    )
    for path in _example_resources():
        _apply_retrying(cluster, path)
    try:
        yield cluster
    finally:
        for path in reversed(_example_resources()):
            cluster.kubectl("delete", "--ignore-not-found", "--wait=false", "-f", str(path), check=False)


def _apply_retrying(cluster: Cluster, path: Path) -> None:
    """Sources and routes wait for their tenant's namespace (which the operator makes)."""
    for _ in range(60):
        done = cluster.kubectl("apply", "-f", str(path), check=False)
        if done.returncode == 0:
            return
        time.sleep(2)
    raise AssertionError(f"kubectl apply -f {path}: {done.stderr}")


@pytest.mark.parametrize("resource", ["wallettenants", "documentsources", "gatewayroutes"])
def test_examples_become_ready(installed: Cluster, resource: str) -> None:
    installed.kubectl(
        "wait", "--for=condition=Ready", f"--timeout={WAIT}", resource, "--all", "--all-namespaces"
    )


def _can(cluster: Cluster, group: str, verb: str, resource: str, namespace: str | None) -> bool:
    where = ["-n", namespace] if namespace else []
    done = cluster.kubectl(
        "auth", "can-i", verb, resource, *where, "--as=e2e-owner", f"--as-group={group}", check=False
    )
    return done.stdout.strip() == "yes"


def test_a_tenant_owner_manages_its_namespace_and_nothing_else(installed: Cluster) -> None:
    group = _owner_group(EXAMPLES / "bosa" / "tenant.yaml")
    own, other = "wallet-bosa", "wallet-rsz"
    for resource in ("documentsources.greenshift.io", "gatewayroutes.greenshift.io", "deployments.apps"):
        for verb in ("create", "update", "delete"):
            assert _can(installed, group, verb, resource, own), (verb, resource)
    for resource in (
        "networkpolicies.networking.k8s.io",
        "resourcequotas",
        "rolebindings.rbac.authorization.k8s.io",
    ):
        assert _can(installed, group, "get", resource, own), resource
        for verb in ("create", "update", "patch", "delete"):
            assert not _can(installed, group, verb, resource, own), (verb, resource)
    for resource in ("documentsources.greenshift.io", "deployments.apps", "secrets"):
        assert not _can(installed, group, "get", resource, other), resource
    for resource in ("namespaces", "wallettenants.greenshift.io", "clusterroles", "nodes"):
        for verb in ("create", "delete"):
            assert not _can(installed, group, verb, resource, None), (verb, resource)


def _refusal(cluster: Cluster, obj: dict[str, Any]) -> str:
    done = cluster.kubectl("apply", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(obj), check=False)
    assert done.returncode != 0, done.stdout
    return done.stderr


def test_bad_resources_are_refused_at_apply_time(installed: Cluster) -> None:
    source = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "DocumentSource",
        "metadata": {"name": "e2e-bad", "namespace": "wallet-bosa"},
        "spec": {
            "documentType": "identity",
            "displayName": "Bad",
            "upstream": {"url": "https://fsb.example.be/identity"},
            "connector": {"image": "docker.io/someone/connector:latest"},
        },
    }
    message = _refusal(installed, source)
    assert "denied the request" in message
    assert "spec.connector.image" in message
    route = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "GatewayRoute",
        "metadata": {"name": "e2e-bad", "namespace": "wallet-bosa"},
        "spec": {
            "host": "www.not-ours.example.com",
            "pathPrefix": "/identity/v1",
            "backend": {"documentSource": {"name": "identity"}},
            "authentication": {"type": "none"},
        },
    }
    assert "spec.host" in _refusal(installed, route)
    schema_bad = {**source, "spec": {**source["spec"], "upstream": {"url": "http://insecure.example.be"}}}
    assert "https://" in _refusal(installed, schema_bad)
