"""The shipped CRDs: structurally valid apiextensions.k8s.io/v1 objects with what the contract asks."""

import re
from typing import Any

import kubernetes_validate
import pytest
import yaml
from celpy import Environment

from greenshift.constants import KINDS
from greenshift.schemas import load_crds, schema_for_kind
from greenshift.validation.cel import crd_problems

CRDS = {crd["spec"]["names"]["kind"]: crd for crd in load_crds()}
K8S_VERSION = "1.37.0"


@pytest.mark.parametrize("kind", KINDS)
def test_crd_is_a_valid_custom_resource_definition(kind: str) -> None:
    kubernetes_validate.validate(CRDS[kind], K8S_VERSION, strict=True)


def test_one_crd_per_file_with_the_expected_names() -> None:
    from importlib.resources import files

    names = sorted(e.name for e in files("greenshift.crds").iterdir() if e.name.endswith(".yaml"))
    assert names == ["documentsources.yaml", "gatewayroutes.yaml", "wallettenants.yaml"]
    for name in names:
        docs = [d for d in yaml.safe_load_all(files("greenshift.crds").joinpath(name).read_text()) if d]
        assert len(docs) == 1


@pytest.mark.parametrize(
    ("kind", "scope", "short"),
    [
        ("WalletTenant", "Cluster", "wt"),
        ("DocumentSource", "Namespaced", "docsrc"),
        ("GatewayRoute", "Namespaced", "gr"),
    ],
)
def test_names_scope_and_version(kind: str, scope: str, short: str) -> None:
    spec = CRDS[kind]["spec"]
    assert spec["group"] == "greenshift.io"
    assert spec["scope"] == scope
    assert spec["names"]["shortNames"] == [short]
    assert spec["names"]["categories"] == ["greenshift"]
    assert CRDS[kind]["metadata"]["name"] == f"{spec['names']['plural']}.greenshift.io"
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


def _walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, schema)]
    for key, sub in schema.get("properties", {}).items():
        found += _walk(sub, f"{path}.{key}")
    if isinstance(schema.get("items"), dict):
        found += _walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        found += _walk(schema["additionalProperties"], f"{path}.*")
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_structural(kind: str) -> None:
    """Every node has a type, or is int-or-string with exactly the allowed anyOf (apiextensions/v1)."""
    for path, node in _walk(schema_for_kind(kind)):
        if node.get("x-kubernetes-int-or-string"):
            assert node["anyOf"] == [{"type": "integer"}, {"type": "string"}], path
        else:
            assert "type" in node, path
            assert "anyOf" not in node, path


@pytest.mark.parametrize("kind", KINDS)
def test_preserve_unknown_fields_is_not_used(kind: str) -> None:
    assert all("x-kubernetes-preserve-unknown-fields" not in node for _, node in _walk(schema_for_kind(kind)))


@pytest.mark.parametrize("kind", KINDS)
def test_every_cel_rule_compiles(kind: str) -> None:
    env = Environment()
    rules = [r for _, node in _walk(schema_for_kind(kind)) for r in node.get("x-kubernetes-validations", [])]
    assert rules
    for rule in rules:
        env.compile(rule["rule"])
        assert rule["message"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_api_server_would_accept_the_crd(kind: str) -> None:
    """Kubernetes' own checks of rules and defaults: escaped field names, fieldPaths, costs, defaults."""
    assert crd_problems(CRDS[kind]) == []


def _resolve(schema: dict[str, Any], json_path: str) -> bool:
    """Whether a printer column's simple JSONPath (fields and ``[?(...)]`` filters) names a schema field."""
    node = schema
    for part in re.findall(r"\.([A-Za-z0-9_]+)|(\[\?\(@\.([A-Za-z]+)==\"[^\"]*\"\)\])", json_path):
        field, filter_, filter_field = part
        if filter_:
            if node.get("type") != "array" or filter_field not in node["items"].get("properties", {}):
                return False
            node = node["items"]
        elif node.get("type") == "object" and field in node.get("properties", {}):
            node = node["properties"][field]
        else:
            return False
    return True


@pytest.mark.parametrize("kind", KINDS)
def test_printer_columns_exist_in_the_schema(kind: str) -> None:
    [version] = CRDS[kind]["spec"]["versions"]
    columns = version["additionalPrinterColumns"]
    names = [c["name"] for c in columns]
    assert len(set(names)) == len(names)
    schema = schema_for_kind(kind)
    for column in columns:
        if column["jsonPath"] == ".metadata.creationTimestamp":
            continue
        assert _resolve(schema, column["jsonPath"]), column


def test_printer_column_check_rejects_a_missing_field() -> None:
    schema = schema_for_kind("GatewayRoute")
    assert not _resolve(schema, ".spec.hostname")
    assert not _resolve(schema, '.status.conditions[?(@.kind=="Ready")].status')


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        ("WalletTenant", ["Agency", "Namespace", "Tier", "Suspended"]),
        ("DocumentSource", ["Type", "Format", "Replicas", "ReadyReplicas"]),
        ("GatewayRoute", ["Host", "Path", "Protocol", "URL"]),
    ],
)
def test_key_printer_columns(kind: str, columns: list[str]) -> None:
    [version] = CRDS[kind]["spec"]["versions"]
    names = [c["name"] for c in version["additionalPrinterColumns"]]
    assert names == ["Ready", "Reason", *columns, "Age"]


@pytest.mark.parametrize("kind", KINDS)
def test_status_has_conditions_in_the_metav1_shape(kind: str) -> None:
    status = schema_for_kind(kind)["properties"]["status"]["properties"]
    conditions = status["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert set(item["properties"]) == {
        "type",
        "status",
        "reason",
        "message",
        "lastTransitionTime",
        "observedGeneration",
    }
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert "observedGeneration" in status


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("WalletTenant", {"namespace", "usage"}),
        ("DocumentSource", {"readyReplicas", "endpoint"}),
        ("GatewayRoute", {"url"}),
    ],
)
def test_status_fields_of_each_kind(kind: str, fields: set[str]) -> None:
    status = schema_for_kind(kind)["properties"]["status"]["properties"]
    assert set(status) == {"observedGeneration", "conditions", *fields}
