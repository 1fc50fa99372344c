"""greenshift install: the CRDs and deploy/, as kustomize would build them, valid, retargetable."""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_support import DEPLOY, ROOT, Manifest, deploy_objects, load

from greenshift.admission import WEBHOOK_PATHS
from greenshift.admission.server import webhook_options
from greenshift.cli import build_parser, main
from greenshift.commands.install import InstallError, install_manifests

sys.path.insert(0, str(ROOT / "tests" / "unit" / "render"))  # the Pod Security checker of the render tests
from render_support import restricted_violations

K8S_VERSION = kubernetes_validate.latest_version()


def run_install(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[Manifest], str]:
    code = main(["install", *args])
    out, err = capsys.readouterr()
    return code, [doc for doc in yaml.safe_load_all(out) if doc], err


def ident(obj: Manifest) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def test_the_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in DEPLOY.glob("*.yaml") if p.name != "kustomization.yaml")
    component = yaml.safe_load((DEPLOY / "self-managed" / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    assert sorted(component["resources"]) == sorted(
        p.name for p in (DEPLOY / "self-managed").glob("*.yaml") if p.name != "kustomization.yaml"
    )


def test_output_holds_the_crds_and_every_deploy_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, objects, _ = run_install(capsys)
    assert code == 0
    crds = [o["metadata"]["name"] for o in objects if o["kind"] == "CustomResourceDefinition"]
    assert crds[:3] == [
        "wallettenants.greenshift.io",
        "documentsources.greenshift.io",
        "gatewayroutes.greenshift.io",
    ]
    assert sorted(map(ident, objects[3:])) == sorted(map(ident, deploy_objects()))
    assert {o["kind"] for o in objects} >= {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ValidatingWebhookConfiguration",
        "Certificate",
        "Role",
        "RoleBinding",
    }


def _kustomize(directory: Path) -> list[Manifest]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    done = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _canonical(objects: list[Manifest]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objects)


def test_install_equals_kustomize_build_of_the_base() -> None:
    assert _canonical(install_manifests(crds=False)) == _canonical(_kustomize(DEPLOY))


def test_self_managed_equals_kustomize_build_with_the_component(tmp_path: Path) -> None:
    shutil.copytree(DEPLOY, tmp_path / "deploy", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources: [../deploy]\ncomponents: [../deploy/self-managed]\n", encoding="utf-8"
    )
    built = _kustomize(overlay)
    ours = install_manifests(crds=False, certificates="self-managed")
    assert _canonical(ours) == _canonical(built)
    deployment = next(o for o in ours if o["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--webhook-configuration=greenshift-webhook" in args
    assert not any(a.startswith("--webhook-cert-dir") for a in args)
    assert not any(o["apiVersion"].startswith("cert-manager.io") for o in ours)


def test_image_and_namespace_are_substituted_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    code, objects, _ = run_install(
        capsys, "--image", "reg.example/gs/operator:2.0.1", "--namespace", "platform-gs"
    )
    assert code == 0
    text = json.dumps(objects)
    assert "greenshift-system" not in text
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "reg.example/gs/operator:2.0.1"
    assert "--webhook-host=greenshift-operator.platform-gs.svc" in container["args"]
    webhook = next(o for o in objects if o["kind"] == "ValidatingWebhookConfiguration")
    assert (
        webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
        == "platform-gs/greenshift-webhook"
    )
    assert {w["clientConfig"]["service"]["namespace"] for w in webhook["webhooks"]} == {"platform-gs"}
    certificate = next(o for o in objects if o["kind"] == "Certificate")
    assert certificate["spec"]["dnsNames"][0] == "greenshift-operator.platform-gs.svc"
    binding = next(o for o in objects if o["kind"] == "ClusterRoleBinding")
    assert binding["subjects"][0]["namespace"] == "platform-gs"
    assert next(o for o in objects if o["kind"] == "Namespace")["metadata"]["name"] == "platform-gs"


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--namespace", "Bad_NS"),
        ("--namespace", "x\nkind: ClusterRole"),
        ("--image", "a b"),
        ("--image", "x\n- y"),
    ],
)
def test_unsafe_values_are_refused(capsys: pytest.CaptureFixture[str], flag: str, value: str) -> None:
    code, objects, err = run_install(capsys, flag, value)
    assert code == 2
    assert objects == []
    assert flag in err


def test_unknown_certificates_mode_is_refused() -> None:
    with pytest.raises(InstallError):
        install_manifests(certificates="letsencrypt")


def _validate(obj: Manifest) -> None:
    if obj["apiVersion"] in ("cert-manager.io/v1", "kopf.dev/v1"):
        # No schema offline. cert-manager's published CRDs judge the Issuer and the Certificate
        # on a real API server: tests/integration/realserver/test_addon_schemas.py.
        assert set(obj) <= {"apiVersion", "kind", "metadata", "spec"}
    else:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.mark.parametrize("certificates", ["cert-manager", "self-managed"])
def test_every_object_is_valid(certificates: str) -> None:
    for obj in install_manifests(certificates=certificates):
        _validate(obj)


def _deployment() -> dict[str, Any]:
    return next(o for o in deploy_objects() if o["kind"] == "Deployment")


def test_the_deployment_passes_pod_security_restricted() -> None:
    assert restricted_violations(_deployment()["spec"]["template"]["spec"]) == []
    namespace = next(o for o in deploy_objects() if o["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_deployment_is_production_shaped() -> None:
    deployment = _deployment()
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/tmp"}
    assert "--leader-election" in container["args"]
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}
    assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}


def test_webhook_paths_port_and_service_agree_with_the_handlers() -> None:
    objects = deploy_objects()
    webhook = next(o for o in objects if o["kind"] == "ValidatingWebhookConfiguration")
    service = next(o for o in objects if o["kind"] == "Service")
    container = _deployment()["spec"]["template"]["spec"]["containers"][0]
    paths = {w["rules"][0]["resources"][0]: w["clientConfig"]["service"]["path"] for w in webhook["webhooks"]}
    assert paths == {
        "wallettenants": f"/{WEBHOOK_PATHS['WalletTenant']}",
        "documentsources": f"/{WEBHOOK_PATHS['DocumentSource']}",
        "gatewayroutes": f"/{WEBHOOK_PATHS['GatewayRoute']}",
    }
    for hook in webhook["webhooks"]:
        assert hook["failurePolicy"] == "Fail"
        assert hook["sideEffects"] == "None"
        assert hook["rules"][0]["operations"] == ["CREATE", "UPDATE"]
        assert hook["clientConfig"]["service"]["name"] == service["metadata"]["name"]
    port = next(p for p in service["spec"]["ports"] if p["port"] == hook["clientConfig"]["service"]["port"])
    target = next(p for p in container["ports"] if p["name"] == port["targetPort"])
    assert f"--webhook-port={target['containerPort']}" in container["args"]


def test_operator_pods_are_selected_by_service_pdb_and_network_policy() -> None:
    labels = _deployment()["spec"]["template"]["metadata"]["labels"]
    for kind, path in [
        ("Service", ("spec", "selector")),
        ("PodDisruptionBudget", ("spec", "selector", "matchLabels")),
    ]:
        obj: Any = next(o for o in deploy_objects() if o["kind"] == kind)
        for key in path:
            obj = obj[key]
        assert obj.items() <= labels.items()
    policy = next(o for o in deploy_objects() if o["kind"] == "NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert load(DEPLOY / "namespace.yaml")[0]["metadata"]["name"] == "greenshift-system"


@pytest.mark.parametrize("certificates", ["cert-manager", "self-managed"])
def test_the_deployment_args_are_what_greenshift_run_accepts(certificates: str) -> None:
    deployment = next(o for o in install_manifests(certificates=certificates) if o["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    parsed = build_parser("run").parse_args(args)
    options = webhook_options(parsed)
    assert options is not None
    assert options.port == 9443
    assert options.host == "greenshift-operator.greenshift-system.svc"
    if certificates == "cert-manager":
        assert (options.cert_dir, options.configuration) == ("/etc/greenshift/webhook-tls", None)
    else:
        assert (options.cert_dir, options.configuration) == (None, "greenshift-webhook")
