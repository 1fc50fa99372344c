"""greenshift install with centralized logging: deploy/logging/ in the PlatformConfig's logging namespace."""

import json
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from deploy_support import DEPLOY, Manifest, deploy_objects, logging_objects

from greenshift.cli import main
from greenshift.commands.install import install_manifests

K8S_VERSION = kubernetes_validate.latest_version()
LOKISTACK = "kind: PlatformConfig\nlogging: {flavor: openshift-logging}\n"
HTTP = (
    "kind: PlatformConfig\n"
    "logging: {flavor: openshift-logging, namespace: platform-logs,\n"
    "          output: {type: http, url: 'https://logs.example.be/in'}}\n"
)


def ident(obj: Manifest) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def added(objects: list[Manifest]) -> list[Manifest]:
    """What the install holds beyond the CRDs and the base (its Namespace renamed by -n too)."""
    base = {(o["kind"], o["metadata"]["name"]) for o in deploy_objects()}
    return [
        o
        for o in objects
        if o["kind"] not in ("CustomResourceDefinition", "Namespace")
        and (o["kind"], o["metadata"]["name"]) not in base
    ]


def test_without_logging_nothing_is_added() -> None:
    assert added(install_manifests()) == []
    assert added(install_manifests(platform="openshift")) == []
    off = "kind: PlatformConfig\nlogging: {flavor: none, namespace: platform-logs}\n"
    assert added(install_manifests(platform_config=off)) == []


def test_with_a_lokistack_the_install_adds_deploy_logging_as_kustomize_builds_it() -> None:
    objects = added(install_manifests(crds=False, platform_config=LOKISTACK))
    canonical = sorted(json.dumps(o, sort_keys=True) for o in objects)
    assert canonical == sorted(json.dumps(o, sort_keys=True) for o in logging_objects())
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    built = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "logging")], capture_output=True, text=True, check=True
    ).stdout
    assert canonical == sorted(json.dumps(o, sort_keys=True) for o in yaml.safe_load_all(built) if o)
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_the_logging_namespace_and_the_operators_namespace_are_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An http store needs no LokiStack binding; the Role, its binding and the collector's account
    live in logging.namespace; the operator's binding names its account in --namespace."""
    config = tmp_path / "platform-config.yaml"
    config.write_text(HTTP)
    assert main(["install", "--no-crds", "--platform-config", str(config), "-n", "platform-gs"]) == 0
    objects = added([o for o in yaml.safe_load_all(capsys.readouterr().out) if o])
    assert sorted(map(ident, objects)) == [
        ("ClusterRoleBinding", "", "greenshift-log-collector-collect-application-logs"),
        ("Role", "platform-logs", "greenshift-operator-logging"),
        ("RoleBinding", "platform-logs", "greenshift-operator-logging"),
        ("ServiceAccount", "platform-logs", "greenshift-log-collector"),
    ]
    found = {o["kind"]: o for o in objects}
    assert found["RoleBinding"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "greenshift-operator", "namespace": "platform-gs"}
    ]
    assert found["ClusterRoleBinding"]["roleRef"]["name"] == "collect-application-logs"
    assert found["ClusterRoleBinding"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "greenshift-log-collector", "namespace": "platform-logs"}
    ]
    assert "openshift-logging" not in json.dumps(objects)


def test_a_logging_namespace_of_a_tenant_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "platform-config.yaml"
    config.write_text(HTTP.replace("platform-logs", "wallet-logs"))
    assert main(["install", "--no-crds", "--platform-config", str(config)]) == 2
    assert "logging.namespace: wallet-logs is a tenant's namespace" in capsys.readouterr().err
