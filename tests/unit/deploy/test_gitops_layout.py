"""docs/gitops/: it builds, its resources are valid, and the Argo CD and Flux wiring holds together."""

import itertools
import shutil
import subprocess

import pytest
import yaml
from deploy_support import ROOT, load

from greenshift.cli import main
from greenshift.config import parse_platform_config

LAYOUT = ROOT / "docs" / "gitops"
KINDS = ("WalletTenant", "DocumentSource", "GatewayRoute")


def test_the_platform_overlay_builds_with_its_platform_config() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    built = subprocess.run(
        [kubectl, "kustomize", str(LAYOUT / "platform")], capture_output=True, text=True, check=True
    ).stdout
    objects = [o for o in yaml.safe_load_all(built) if o]
    config_maps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    config_map = config_maps["greenshift-platform-config"]
    config = parse_platform_config(yaml.safe_load(config_map["data"]["platform-config.yaml"]))
    assert config.styleGuide == "enforce"
    # the admission policies certify the same registries (deploy/admission-policies.yaml)
    params = config_maps["greenshift-admission-policy"]["data"]
    assert params["certifiedRegistries"].split(",") == list(config.images.certifiedRegistries)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":0.1.0")


def test_tenants_and_agencies_pass_greenshift_validate(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "validate",
            "-f",
            str(LAYOUT / "tenants"),
            "-f",
            str(LAYOUT / "agencies"),
            "--platform-config",
            str(ROOT / "examples" / "platform-config.yaml"),
        ]
    )
    assert code == 0, capsys.readouterr().out


def test_argocd_has_one_health_check_for_the_three_kinds() -> None:
    data = load(LAYOUT / "argocd" / "argocd-cm-health.yaml")[0]["data"]
    scripts = {data[f"resource.customizations.health.greenshift.io_{kind}"] for kind in KINDS}
    assert len(scripts) == 1
    script = scripts.pop()
    for status in ("Healthy", "Progressing", "Degraded", "Suspended"):
        assert f'"{status}"' in script
    assert "observedGeneration" in script


def test_layers_are_ordered_in_argocd_and_flux() -> None:
    apps = load(LAYOUT / "argocd" / "applications.yaml")
    waves = [int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for a in apps]
    assert waves == sorted(waves)
    assert [a["spec"]["source"]["path"].split("/", 1)[1] for a in apps] == [
        "crds",
        "platform",
        "tenants",
        "agencies/bosa",
    ]
    flux = [o for o in load(LAYOUT / "flux" / "kustomizations.yaml") if o["kind"] == "Kustomization"]
    for previous, current in itertools.pairwise(flux):
        assert current["spec"]["dependsOn"] == [{"name": previous["metadata"]["name"]}]
    assert all(k["spec"]["wait"] for k in flux)
    tenants = next(k for k in flux if k["metadata"]["name"] == "greenshift-tenants")
    assert tenants["spec"]["prune"] is False
