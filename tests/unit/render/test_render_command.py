"""render_resources and the `greenshift render` command."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from render_support import EXAMPLES, route, source, tenant

from greenshift.cli import main
from greenshift.loader import Document
from greenshift.render import RenderError, render_resources


def docs(*bodies: dict[str, Any]) -> list[Document]:
    return [Document("in.yaml", i * 10 + 1, body) for i, body in enumerate(bodies)]


def test_order_tenants_then_sources_then_routes() -> None:
    children = render_resources(docs(route(), source(), tenant()))
    kinds = [c["kind"] for c in children]
    assert kinds[0] == "Namespace"
    assert kinds.index("ConfigMap") > kinds.index("RoleBinding")
    assert kinds[-1] == "Ingress"


def test_platform_config_among_the_inputs() -> None:
    platform = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "PlatformConfig",
        "gateway": {"flavor": "gateway-api"},
    }
    children = render_resources(docs(platform, tenant(), route()))
    assert children[-1]["kind"] == "HTTPRoute"


def test_conflicting_platform_configs() -> None:
    one = {"kind": "PlatformConfig", "gateway": {"flavor": "gateway-api"}}
    two = {"kind": "PlatformConfig", "gateway": {"flavor": "ingress"}}
    with pytest.raises(RenderError, match="more than one"):
        render_resources(docs(one, two, tenant()))


def test_bad_platform_config_names_the_key() -> None:
    with pytest.raises(RenderError, match=r"in.yaml:1: PlatformConfig: gateway.flavour: unknown key"):
        render_resources(docs({"kind": "PlatformConfig", "gateway": {"flavour": "x"}}))


def test_missing_tenant() -> None:
    with pytest.raises(RenderError) as caught:
        render_resources(docs(source()))
    assert str(caught.value) == (
        "in.yaml:1: DocumentSource/identity: no WalletTenant among the inputs owns namespace wallet-bosa"
    )


def test_tenant_found_by_explicit_namespace() -> None:
    ten = tenant(namespace="agency-bosa")
    src = source()
    src["metadata"]["namespace"] = "agency-bosa"
    children = render_resources(docs(ten, src))
    assert {c["metadata"].get("namespace") for c in children[1:]} == {"agency-bosa"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"apiVersion": "greenshift.io/v1alpha1", "kind": "Tenant", "metadata": {"name": "s"}},
            "kind: unknown kind 'Tenant'",
        ),
        (
            {**tenant(), "apiVersion": "greenshift.io/v1"},
            "WalletTenant/bosa: apiVersion: must be greenshift.io/v1alpha1",
        ),
        ({**tenant(), "metadata": {}}, "WalletTenant: metadata.name: required"),
        (
            {"apiVersion": "greenshift.io/v1alpha1", "kind": "WalletTenant", "metadata": {"name": "t"}},
            "spec: required",
        ),
        ({**source(), "metadata": {"name": "s"}}, "metadata.namespace: required"),
    ],
)
def test_malformed_inputs(body: dict[str, Any], message: str) -> None:
    with pytest.raises(RenderError, match=r"^in\.yaml:1: ") as caught:
        render_resources(docs(body))
    assert message in str(caught.value)


def test_other_kubernetes_objects_are_passed_over() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "wallet-bosa"}}
    assert render_resources(docs(tenant(), service)) == render_resources(docs(tenant()))


def test_missing_required_field_names_it() -> None:
    broken = tenant()
    del broken["spec"]["owners"]
    with pytest.raises(RenderError, match=r"WalletTenant/bosa: missing field 'owners'"):
        render_resources(docs(broken))


def test_duplicates_and_shared_namespaces() -> None:
    with pytest.raises(RenderError, match="defined twice"):
        render_resources(docs(tenant(), tenant()))
    other = tenant(namespace="wallet-bosa")
    other["metadata"]["name"] = "other"
    with pytest.raises(RenderError, match="already the namespace of"):
        render_resources(docs(tenant(), other))


def test_command_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "-f", str(EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("---\n")
    objects = list(yaml.safe_load_all(out))
    assert len(objects) == out.count("---\n")
    assert objects[0]["kind"] == "Namespace"
    assert any(
        o["kind"] == "Certificate" for o in objects
    )  # the config among the inputs enables cert-manager


def test_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "render",
                "-f",
                str(EXAMPLES / "bosa"),
                "--platform-config",
                str(EXAMPLES / "platform-config.yaml"),
                "-o",
                "json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["apiVersion"] == "v1"
    assert result["kind"] == "List"
    assert {"Namespace", "Deployment", "Ingress", "Certificate", "ServiceMonitor"} <= {
        i["kind"] for i in result["items"]
    }


def test_command_matches_render_resources(capsys: pytest.CaptureFixture[str]) -> None:
    from greenshift.loader import load_documents

    assert main(["render", "-f", str(EXAMPLES), "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["items"] == render_resources(load_documents([EXAMPLES]))


@pytest.mark.parametrize(
    ("files", "extra", "message"),
    [
        ({"s.yaml": yaml.safe_dump(source())}, [], "s.yaml:1: DocumentSource/identity: no WalletTenant"),
        ({"bad.yaml": "kind: [unclosed\n"}, [], "bad.yaml:2: malformed YAML"),
        ({"t.yaml": yaml.safe_dump(tenant())}, ["--platform-config", "nope.yaml"], "nope.yaml: cannot read"),
        (
            {"x.yaml": "apiVersion: greenshift.io/v1alpha1\nkind: Pod\nmetadata: {name: p}\n"},
            [],
            "x.yaml:1: kind: unknown kind 'Pod'",
        ),
    ],
)
def test_command_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str], extra: list[str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    extra = [str(tmp_path / e) if e.endswith(".yaml") else e for e in extra]
    assert main(["render", "-f", str(tmp_path), *extra]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("greenshift render: ")
    assert message in captured.err
    assert "Traceback" not in captured.err
