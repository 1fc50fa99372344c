"""Kubernetes CEL semantics offline: property-name escaping, field checking, cost limits and the
API server's other checks of a CRD's rules and defaults (greenshift.validation.cel)."""

import copy
from typing import Any

import pytest
from samples import CRD_CASES, crd_case, fresh

from greenshift.schemas import crd_for_kind, schema_for_kind
from greenshift.validation import validate_schema
from greenshift.validation.cel import cel_value, check_rule, crd_problems, escape, estimated_cost


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("namespace", "__namespace__"),
        ("in", "__in__"),
        ("while", "__while__"),
        ("x-y", "x__dash__y"),
        ("a.b", "a__dot__b"),
        ("a/b", "a__slash__b"),
        ("a__b", "a__underscores__b"),
        ("a_b", "a_b"),
        ("displayName", "displayName"),
        ("1st", None),
        ("a b", None),
        ("", None),
    ],
)
def test_escape_follows_kubernetes(name: str, escaped: str | None) -> None:
    assert escape(name) == escaped


def test_cel_value_escapes_properties_but_not_map_keys() -> None:
    schema = {
        "type": "object",
        "properties": {
            "namespace": {"type": "string"},
            "usage": {"type": "object", "additionalProperties": {"type": "string"}},
            "9lives": {"type": "string"},
        },
    }
    value = {"namespace": "a", "usage": {"requests.cpu": "1", "in": "2"}, "9lives": "x"}
    assert cel_value(schema, value) == {"__namespace__": "a", "usage": {"requests.cpu": "1", "in": "2"}}


def test_a_tenant_rule_reads_the_escaped_namespace() -> None:
    """The rule that allows a long name only with spec.namespace: it must see spec.__namespace__."""
    tenant = fresh("WalletTenant")
    tenant["spec"]["namespace"] = "bosa"
    tenant["metadata"]["name"] = "a" * 60
    assert validate_schema(tenant) == []
    del tenant["spec"]["namespace"]
    [problem] = validate_schema(tenant)
    assert problem.field == "metadata.name"


def test_an_unescaped_reserved_word_is_an_undefined_field() -> None:
    schema = schema_for_kind("WalletTenant")
    report = check_rule("has(self.spec.namespace)", schema, root=True)
    assert report.errors == (
        "undefined field 'namespace' (Kubernetes CEL spells the property 'namespace' as '__namespace__')",
    )
    assert check_rule("has(self.spec.__namespace__)", schema, root=True).errors == ()


def test_root_rules_see_only_name_and_generate_name_of_metadata() -> None:
    schema = schema_for_kind("DocumentSource")
    assert (
        check_rule("self.metadata.name == 'a' && self.kind == 'DocumentSource'", schema, root=True).errors
        == ()
    )
    assert check_rule("self.metadata.namespace == 'a'", schema, root=True).errors == (
        "undefined field 'namespace'",
    )


def test_a_misspelt_field_and_a_select_on_a_string_are_reported() -> None:
    schema = schema_for_kind("GatewayRoute")["properties"]["spec"]
    assert check_rule("self.hots == 'a'", schema).errors == ("undefined field 'hots'",)
    assert check_rule("self.host.name == 'a'", schema).errors == (
        "type 'string' does not support field selection ('name')",
    )


def test_estimated_costs_follow_cel_go() -> None:
    spec = schema_for_kind("GatewayRoute")["properties"]["spec"]
    # size (1) of a string read through one select (ident 1 + select 1): O(1).
    assert estimated_cost("self.host.size() <= 253", spec) == 4
    # contains on pathPrefix (maxLength 1024: 4096 bytes): ceil(409.6) x ceil(0.2) + self.
    assert estimated_cost("self.contains('..')", spec["properties"]["pathPrefix"]) == 410 + 1
    # matches on the url (maxLength 2048): ceil(8193 x 0.1) x ceil(31 x 0.25) + self.
    url = schema_for_kind("DocumentSource")["properties"]["spec"]["properties"]["upstream"]["properties"][
        "url"
    ]
    rule = url["x-kubernetes-validations"][0]["rule"]
    assert estimated_cost(rule, url) == 820 * 8 + 1


@pytest.mark.parametrize(("name", "spec_schema", "refused"), CRD_CASES, ids=[c[0] for c in CRD_CASES])
def test_crd_limits_as_the_api_server_judges_them(
    name: str, spec_schema: dict[str, Any], refused: bool
) -> None:
    """The same cases are sent to a real API server in tests/integration/realserver/test_crd_parity.py."""
    problems = crd_problems(crd_case(name, spec_schema))
    assert bool(problems) == refused, problems


def _broken(kind: str) -> dict[str, Any]:
    crd = copy.deepcopy(crd_for_kind(kind))
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["metadata"] = {"type": "object"}
    return crd


def test_the_refusals_of_the_original_crds_are_found() -> None:
    """The three ways Kubernetes 1.36 refused the CRDs before they were fixed (issue 13)."""
    root = "spec.versions[0].schema.openAPIV3Schema"
    fields = {p.field for p in crd_problems(_broken("DocumentSource"))}
    assert fields == {f"{root}.x-kubernetes-validations[0].fieldPath"}

    route = crd_for_kind("GatewayRoute")
    route = copy.deepcopy(route)
    authentication = route["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"
    ]["authentication"]
    authentication["x-kubernetes-validations"][0]["rule"] = "self.type != 'oidc' || has(self.oidc)"
    [problem] = crd_problems(route)
    assert problem.field == f"{root}.properties[spec].properties[authentication].default"
    assert "type" in problem.message

    tenant = copy.deepcopy(crd_for_kind("WalletTenant"))
    for rule in tenant["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["x-kubernetes-validations"]:
        rule["rule"] = rule["rule"].replace("__namespace__", "namespace")
    messages = [p.message for p in crd_problems(tenant)]
    assert len(messages) == 2
    assert all("undefined field 'namespace'" in m for m in messages)


def test_validate_refuses_everything_of_a_kind_whose_crd_the_server_would_refuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No resource of a kind can be applied when its CRD cannot be installed: validate says so."""
    from greenshift.validation import schema as schema_module

    monkeypatch.setattr(schema_module, "crd_for_kind", lambda kind: _broken(kind))
    schema_module._refused_crd.cache_clear()
    try:
        [problem] = validate_schema(fresh("DocumentSource"))
    finally:
        schema_module._refused_crd.cache_clear()
    assert problem.message.startswith("the API server would refuse the CRD documentsources.greenshift.io: ")
    assert "must be a valid path" in problem.message
