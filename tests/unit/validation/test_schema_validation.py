"""validate_schema: structural checks, unknown fields and every CEL rule, both ways."""

from typing import Any

import pytest
from samples import DELETE, INVALID, TRANSITIONS_VALID, VALID, fresh, set_path

from greenshift.validation import Problem, validate_schema


def _messages(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


@pytest.mark.parametrize("kind", ["WalletTenant", "DocumentSource", "GatewayRoute"])
def test_valid_resources_pass(kind: str) -> None:
    assert validate_schema(fresh(kind)) == []


@pytest.mark.parametrize(("kind", "path", "value", "field", "fragment"), INVALID)
def test_invalid_resource_is_rejected_naming_the_field(
    kind: str, path: str, value: Any, field: str, fragment: str
) -> None:
    problems = validate_schema(set_path(fresh(kind), path, value))
    matching = [p for p in problems if p.field == field]
    assert matching, _messages(problems)
    assert any(str(p).startswith(f"{field}: ") and fragment in p.message for p in matching), _messages(
        problems
    )
    assert all(p.severity == "error" and p.reason == "InvalidSpec" for p in problems)


def test_the_invalid_table_is_large_and_distinct() -> None:
    cases = {(kind, path, repr(value)) for kind, path, value, _, _ in INVALID}
    assert len(cases) == len(INVALID) >= 40


def test_null_with_a_default_gets_the_default_with_a_warning() -> None:
    """As on the API server: a null where the schema has a default is defaulted, not refused."""
    [problem] = validate_schema(set_path(fresh("DocumentSource"), "spec.statusList", None))
    assert (problem.field, problem.severity) == ("spec.statusList", "warning")
    assert "replaced by the default" in problem.message


def test_null_without_a_default_is_still_an_error() -> None:
    problems = validate_schema(set_path(fresh("DocumentSource"), "spec.upstream.soapAction", None))
    assert {(p.field, p.severity) for p in problems} >= {("spec.upstream.soapAction", "error")}


def test_a_route_without_authentication_needs_oidc() -> None:
    """authentication defaults to {} and its type to oidc, so an omitted block asks for the oidc one."""
    route = set_path(fresh("GatewayRoute"), "spec.authentication", DELETE)
    [problem] = validate_schema(route)
    assert problem.field == "spec.authentication.oidc"
    assert "when type is oidc" in problem.message


@pytest.mark.parametrize(("kind", "path", "value"), VALID)
def test_rule_counterpart_passes(kind: str, path: str, value: Any) -> None:
    assert validate_schema(set_path(fresh(kind), path, value)) == []


def test_tenant_name_limit_is_63_with_an_explicit_namespace() -> None:
    tenant = set_path(fresh("WalletTenant"), "spec.namespace", "bosa")
    assert validate_schema(set_path(tenant, "metadata.name", "a" * 63)) == []
    assert validate_schema(set_path(tenant, "metadata.name", "bosa.fed")) == []
    [problem] = validate_schema(set_path(tenant, "metadata.name", "a" * 64))
    assert problem.field == "metadata.name"
    assert "at most 63" in problem.message


class TestNamespaceIsImmutable:
    """The transition rule: the effective namespace (spec.namespace or wallet-<name>) never changes."""

    def _with(self, namespace: str | None) -> dict[str, Any]:
        tenant = fresh("WalletTenant")
        if namespace is not None:
            tenant["spec"]["namespace"] = namespace
        return tenant

    def test_changing_a_set_namespace_is_rejected(self) -> None:
        [problem] = validate_schema(self._with("bosa-b"), old=self._with("bosa-a"))
        assert problem.field == "spec.namespace"
        assert "immutable" in problem.message

    def test_setting_a_different_namespace_after_unset_is_rejected(self) -> None:
        [problem] = validate_schema(self._with("bosa-b"), old=self._with(None))
        assert problem.field == "spec.namespace"

    def test_unsetting_a_namespace_that_differs_from_the_default_is_rejected(self) -> None:
        [problem] = validate_schema(self._with(None), old=self._with("bosa-a"))
        assert problem.field == "spec.namespace"

    @pytest.mark.parametrize(("old", "new"), TRANSITIONS_VALID)
    def test_keeping_the_effective_namespace_is_accepted(self, old: str | None, new: str | None) -> None:
        assert validate_schema(self._with(new), old=self._with(old)) == []

    def test_without_an_old_object_the_transition_rule_is_not_evaluated(self) -> None:
        assert validate_schema(self._with("anything")) == []


def test_a_rule_still_runs_next_to_an_unrelated_type_error() -> None:
    source = fresh("DocumentSource")
    source["spec"]["upstream"] = {"url": 42, "soapAction": "urn:x"}
    fields = {p.field for p in validate_schema(source)}
    assert fields == {"spec.upstream.url", "spec.upstream.soapAction"}


def test_a_rule_over_a_mistyped_field_is_skipped_not_crashed() -> None:
    source = set_path(
        fresh("DocumentSource"), "spec.connector.autoscaling", {"minReplicas": 2, "maxReplicas": "3"}
    )
    [problem] = validate_schema(source)
    assert problem.field == "spec.connector.autoscaling.maxReplicas"


def test_unknown_kind_is_reported() -> None:
    [problem] = validate_schema({"kind": "Wallet", "metadata": {"name": "x"}})
    assert problem.field == "kind"
    assert "WalletTenant, DocumentSource, GatewayRoute" in problem.message


@pytest.mark.parametrize("metadata", [None, [], {"name": ""}, {"name": 5}])
def test_metadata_without_a_name_is_reported(metadata: Any) -> None:
    source = fresh("DocumentSource")
    source["metadata"] = metadata
    fields = {p.field for p in validate_schema(source)}
    assert fields & {"metadata", "metadata.name"}
