"""greenshift install --platform openshift: the component deploy/openshift, as kustomize builds it."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_support import DEPLOY, Manifest

from greenshift.cli import main
from greenshift.commands.install import InstallError, install_manifests, json_patch
from greenshift.config import parse_platform_config

K8S_VERSION = kubernetes_validate.latest_version()


def _kustomize(tmp_path: Path, components: list[str]) -> list[Manifest]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    shutil.copytree(DEPLOY, tmp_path / "deploy", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    listed = ", ".join(f"../deploy/{c}" for c in components)
    (overlay / "kustomization.yaml").write_text(f"resources: [../deploy]\ncomponents: [{listed}]\n")
    done = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _canonical(objects: list[Manifest]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objects)


def _one(objects: list[Manifest], kind: str) -> Manifest:
    return next(o for o in objects if o["kind"] == kind)


@pytest.mark.parametrize(
    ("certificates", "components"),
    [("cert-manager", ["openshift"]), ("self-managed", ["openshift", "self-managed"])],
)
def test_install_equals_kustomize_build_with_the_component(
    tmp_path: Path, certificates: str, components: list[str]
) -> None:
    ours = install_manifests(crds=False, platform="openshift", certificates=certificates)
    assert _canonical(ours) == _canonical(_kustomize(tmp_path, components))


def test_the_component_only_patches() -> None:
    component = yaml.safe_load((DEPLOY / "openshift" / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    assert "resources" not in component
    assert sorted(p.name for p in (DEPLOY / "openshift").iterdir()) == ["kustomization.yaml"]


def test_the_operator_pod_has_no_fixed_ids_and_keeps_the_rest() -> None:
    base = _one(install_manifests(crds=False), "Deployment")["spec"]["template"]["spec"]
    ours = _one(install_manifests(crds=False, platform="openshift"), "Deployment")["spec"]["template"]["spec"]
    assert ours["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert ours["containers"] == base["containers"]  # no privilege escalation, drop ALL, read-only root
    assert {k: v for k, v in ours.items() if k != "securityContext"} == {
        k: v for k, v in base.items() if k != "securityContext"
    }


def test_the_operator_reaches_openshift_dns() -> None:
    policy = _one(install_manifests(crds=False, platform="openshift"), "NetworkPolicy")
    dns = policy["spec"]["egress"][0]
    assert dns["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-dns"}},
            "podSelector": {"matchLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}},
        }
    ]
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {
        (5353, "UDP"),
        (5353, "TCP"),
        (53, "UDP"),
        (53, "TCP"),
    }


def _platform_config(objects: list[Manifest]) -> Any:
    text = _one(objects, "ConfigMap")["data"]["platform-config.yaml"]
    return parse_platform_config(yaml.safe_load(text))


def test_the_platform_config_says_openshift() -> None:
    config = _platform_config(install_manifests(crds=False, platform="openshift"))
    assert config.platform == "openshift"
    assert config.gateway.flavor == "openshift-route"
    assert config.gateway.namespace == "openshift-ingress"
    assert config.dns.namespace == "openshift-dns"
    assert _platform_config(install_manifests(crds=False)).platform == "kubernetes"


def test_every_object_is_valid_and_retargeted(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", "--platform", "openshift", "--namespace", "gs", "--no-crds"]) == 0
    objects = [doc for doc in yaml.safe_load_all(capsys.readouterr().out) if doc]
    assert "greenshift-system" not in json.dumps(objects)
    for obj in objects:
        if not obj["apiVersion"].startswith("cert-manager.io/"):
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_an_unknown_platform_is_refused() -> None:
    with pytest.raises(InstallError, match="--platform"):
        install_manifests(platform="okd")


def test_json_patch_operations() -> None:
    doc: Manifest = {"a": {"b~c/d": [1, 2]}}
    json_patch(doc, {"op": "test", "path": "/a/b~0c~1d/1", "value": 2})
    json_patch(doc, {"op": "add", "path": "/a/b~0c~1d/-", "value": 3})
    json_patch(doc, {"op": "add", "path": "/a/b~0c~1d/0", "value": 0})
    json_patch(doc, {"op": "replace", "path": "/a/b~0c~1d/1", "value": 9})
    json_patch(doc, {"op": "remove", "path": "/a/b~0c~1d/2"})
    json_patch(doc, {"op": "add", "path": "/a/e", "value": {"f": 1}})
    assert doc == {"a": {"b~c/d": [0, 9, 3], "e": {"f": 1}}}
    with pytest.raises(InstallError, match="is not"):
        json_patch(doc, {"op": "test", "path": "/a/e/f", "value": 2})
    with pytest.raises(InstallError, match="unsupported"):
        json_patch(doc, {"op": "move", "path": "/a/e", "from": "/a"})
