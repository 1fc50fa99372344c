"""deploy/admission-policies.yaml as `greenshift install` ships it (issue 16, items 2, 5, 6): the
parameters follow the PlatformConfig shipped and the operator's namespace. What the policies do is
tested on the real API server (tests/integration/security/test_tenant_admission_policies.py)."""

from pathlib import Path

import pytest
import yaml
from deploy_support import DEPLOY, every_config_children, load

from greenshift.cli import main
from greenshift.commands.install import InstallError, install_manifests
from greenshift.config import parse_platform_config
from greenshift.constants import GROUP, PLURALS

POLICIES = ("greenshift-operator-labels", "greenshift-certified-images", "greenshift-service-exposure")


def _by_kind_name(objects: list[dict]) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def _registries(objects: list[dict]) -> tuple[list[str], list[str]]:  # type: ignore[type-arg]
    found = _by_kind_name(objects)
    shipped = found["ConfigMap", "greenshift-platform-config"]["data"]["platform-config.yaml"]
    config = parse_platform_config(yaml.safe_load(shipped))
    params = found["ConfigMap", "greenshift-admission-policy"]["data"]["certifiedRegistries"]
    return params.split(","), list(config.images.certifiedRegistries)


def test_every_policy_has_its_binding_in_tenant_namespaces() -> None:
    found = _by_kind_name(load(DEPLOY / "admission-policies.yaml"))
    for name in POLICIES:
        policy = found["ValidatingAdmissionPolicy", name]
        binding = found["ValidatingAdmissionPolicyBinding", name]
        assert policy["spec"]["failurePolicy"] == "Fail"
        assert binding["spec"]["policyName"] == name
        assert binding["spec"]["validationActions"] == ["Deny"]
        assert binding["spec"]["matchResources"]["namespaceSelector"] == {
            "matchExpressions": [{"key": "greenshift.io/tenant", "operator": "Exists"}]
        }
        if "paramKind" in policy["spec"]:
            assert binding["spec"]["paramRef"]["parameterNotFoundAction"] == "Deny"


@pytest.mark.parametrize("platform", ["kubernetes", "openshift"])
def test_the_base_certifies_the_registries_of_its_platform_config(platform: str) -> None:
    shipped, configured = _registries(install_manifests(crds=False, platform=platform))
    assert shipped == configured


def test_install_renders_the_registries_from_the_platform_config_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "platform-config.yaml"
    config.write_text(
        "apiVersion: greenshift.io/v1alpha1\nkind: PlatformConfig\n"
        'images: {certifiedRegistries: ["registry.example.be/certified/", "quay.example.be/wallet"]}\n'
    )
    assert main(["install", "--no-crds", "--platform-config", str(config), "-n", "platform-gs"]) == 0
    objects = [o for o in yaml.safe_load_all(capsys.readouterr().out) if o]
    shipped, configured = _registries(objects)
    assert shipped == configured == ["registry.example.be/certified/", "quay.example.be/wallet"]
    found = _by_kind_name(objects)
    params = found["ConfigMap", "greenshift-admission-policy"]
    assert params["metadata"]["namespace"] == "platform-gs"
    assert params["data"]["operatorServiceAccount"] == "system:serviceaccount:platform-gs:greenshift-operator"
    for name in ("greenshift-operator-labels", "greenshift-certified-images"):
        assert (
            found["ValidatingAdmissionPolicyBinding", name]["spec"]["paramRef"]["namespace"] == "platform-gs"
        )


def test_a_platform_config_that_does_not_parse_is_refused() -> None:
    with pytest.raises(InstallError, match=r"images\.certifiedRegistries"):
        install_manifests(
            platform_config="kind: PlatformConfig\nimages: {certifiedRegistries: registry.example.be}\n"
        )
    with pytest.raises(InstallError, match="not a registry prefix"):
        install_manifests(platform_config='kind: PlatformConfig\nimages: {certifiedRegistries: ["a,b"]}\n')


def test_the_labels_policy_covers_every_kind_the_operator_reads_by_its_labels() -> None:
    """Every namespaced child kind of every platform configuration (from the code), the custom
    resources and Secrets: a kind added to the children must be added to the policy."""
    policy = _by_kind_name(load(DEPLOY / "admission-policies.yaml"))[
        "ValidatingAdmissionPolicy", "greenshift-operator-labels"
    ]
    covered = {
        (group, resource)
        for rule in policy["spec"]["matchConstraints"]["resourceRules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    wanted = every_config_children() - {("", "namespaces")}  # cluster-scoped: tenants may not write it
    wanted |= {(GROUP, plural) for plural in PLURALS.values() if plural != "wallettenants"}
    wanted |= {("", "secrets"), ("", "services")}
    assert wanted - covered == set()
