"""validate_schema: structural checks, unknown fields and every CEL rule, both ways."""

from typing import Any

import pytest
from samples import fresh

from greenshift.validation import Problem, validate_schema

DELETE = object()


def _set(resource: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set (or with DELETE remove) ``path`` like ``spec.quota.cpu``, creating parents."""
    *parents, leaf = path.split(".")
    node = resource
    for key in parents:
        node = node.setdefault(key, {})
    if value is DELETE:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return resource


def _messages(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


@pytest.mark.parametrize("kind", ["WalletTenant", "DocumentSource", "GatewayRoute"])
def test_valid_resources_pass(kind: str) -> None:
    assert validate_schema(fresh(kind)) == []


def _owner(n: int) -> list[dict[str, str]]:
    return [{"kind": "User", "name": f"user{i}"} for i in range(n)]


# (kind, path to change, new value, the field the message must name, a fragment of what is allowed)
INVALID: list[tuple[str, str, Any, str, str]] = [
    ("WalletTenant", "spec.displayName", "", "spec.displayName", "at least 1"),
    ("WalletTenant", "spec.displayName", "x" * 101, "spec.displayName", "at most 100"),
    ("WalletTenant", "spec.agency", "bosa", "spec.agency", "capital letters"),
    ("WalletTenant", "spec.agency", "B", "spec.agency", "2 to 16"),
    ("WalletTenant", "spec.agency", DELETE, "spec.agency", "required"),
    ("WalletTenant", "spec.namespace", "Wallet_Bosa", "spec.namespace", "DNS-1123 label"),
    ("WalletTenant", "spec.namespace", "a" * 64, "spec.namespace", "at most 63"),
    ("WalletTenant", "spec.owners", [], "spec.owners", "at least 1"),
    ("WalletTenant", "spec.owners", _owner(21), "spec.owners", "at most 20"),
    ("WalletTenant", "spec.owners", [{"kind": "Robot", "name": "r2"}], "spec.owners[0].kind", "User, Group"),
    ("WalletTenant", "spec.owners", [{"kind": "User"}], "spec.owners[0].name", "required"),
    ("WalletTenant", "spec.viewers", _owner(51), "spec.viewers", "at most 50"),
    ("WalletTenant", "spec.tier", "gold", "spec.tier", "standard, critical"),
    ("WalletTenant", "spec.quota.cpu", "four", "spec.quota.cpu", "Kubernetes quantity"),
    ("WalletTenant", "spec.quota.memory", "8GB", "spec.quota.memory", "Kubernetes quantity"),
    ("WalletTenant", "spec.quota.storage", True, "spec.quota.storage", "Kubernetes quantity"),
    ("WalletTenant", "spec.quota.pods", 0, "spec.quota.pods", "between 1 and 1000"),
    ("WalletTenant", "spec.quota.pods", 1001, "spec.quota.pods", "between 1 and 1000"),
    ("WalletTenant", "spec.quota.pods", "40", "spec.quota.pods", "must be an integer"),
    ("WalletTenant", "spec.quota.documentSources", 101, "spec.quota.documentSources", "between 0 and 100"),
    ("WalletTenant", "spec.quota.gatewayRoutes", -1, "spec.quota.gatewayRoutes", "between 0 and 200"),
    ("WalletTenant", "spec.allowedHosts", ["*.*.bosa.be"], "spec.allowedHosts[0]", "wildcard"),
    ("WalletTenant", "spec.allowedHosts", ["API.bosa.be"], "spec.allowedHosts[0]", "lowercase"),
    ("WalletTenant", "spec.allowedHosts", ["a.be", "a.be"], "spec.allowedHosts[1]", "set"),
    ("WalletTenant", "spec.egress.allowedCIDRs", ["10.0.0.0/33"], "spec.egress.allowedCIDRs[0]", "CIDR"),
    ("WalletTenant", "spec.egress.allowedCIDRs", ["10.0.0.1"], "spec.egress.allowedCIDRs[0]", "CIDR"),
    ("WalletTenant", "spec.suspended", "yes", "spec.suspended", "boolean"),
    ("WalletTenant", "spec.deletionPolicy", "Purge", "spec.deletionPolicy", "Retain, Delete"),
    ("WalletTenant", "spec.owner", "me", "spec.owner", "unknown field, allowed: displayName"),
    ("WalletTenant", "spec.quota.gpus", 1, "spec.quota.gpus", "unknown field, allowed: cpu"),
    ("WalletTenant", "metadata.name", "a" * 57, "metadata.name", "at most 56"),
    ("WalletTenant", "metadata.name", "bosa.fed", "metadata.name", "DNS-1123 label"),
    ("WalletTenant", "metadata.name", "Bosa", "metadata.name", "DNS name"),
    ("WalletTenant", "spec", DELETE, "spec", "required"),
    ("DocumentSource", "spec.documentType", "passport", "spec.documentType", "identity, isi-plus"),
    ("DocumentSource", "spec.displayName", DELETE, "spec.displayName", "required"),
    ("DocumentSource", "spec.format", "xml", "spec.format", "sd-jwt-vc, mdoc, pdf, json"),
    ("DocumentSource", "spec.upstream.url", "http://rrn.fsb.belgium.be", "spec.upstream.url", "https://"),
    ("DocumentSource", "spec.upstream.url", "https://", "spec.upstream.url", "https://"),
    ("DocumentSource", "spec.upstream", DELETE, "spec.upstream", "required"),
    ("DocumentSource", "spec.upstream.protocol", "GRPC", "spec.upstream.protocol", "REST, SOAP"),
    ("DocumentSource", "spec.upstream.soapAction", "urn:get", "spec.upstream.soapAction", "protocol is SOAP"),
    (
        "DocumentSource",
        "spec.upstream.timeoutSeconds",
        0,
        "spec.upstream.timeoutSeconds",
        "between 1 and 120",
    ),
    (
        "DocumentSource",
        "spec.upstream.timeoutSeconds",
        121,
        "spec.upstream.timeoutSeconds",
        "between 1 and 120",
    ),
    (
        "DocumentSource",
        "spec.upstream.credentialsSecretRef",
        {},
        "spec.upstream.credentialsSecretRef.name",
        "required",
    ),
    ("DocumentSource", "spec.connector.image", DELETE, "spec.connector.image", "required"),
    ("DocumentSource", "spec.connector.replicas", 51, "spec.connector.replicas", "between 0 and 50"),
    ("DocumentSource", "spec.connector.replicas", 1.5, "spec.connector.replicas", "must be an integer"),
    (
        "DocumentSource",
        "spec.connector.autoscaling",
        {"minReplicas": 5, "maxReplicas": 3},
        "spec.connector.autoscaling.minReplicas",
        "less than or equal to maxReplicas",
    ),
    (
        "DocumentSource",
        "spec.connector.autoscaling",
        {"maxReplicas": 3, "targetCPUUtilizationPercentage": 5},
        "spec.connector.autoscaling.targetCPUUtilizationPercentage",
        "between 10 and 95",
    ),
    (
        "DocumentSource",
        "spec.connector.autoscaling",
        {"minReplicas": 2},
        "spec.connector.autoscaling.maxReplicas",
        "required",
    ),
    (
        "DocumentSource",
        "spec.connector.resources",
        {"requests": {"cpu": "lots"}},
        "spec.connector.resources.requests.cpu",
        "Kubernetes quantity",
    ),
    (
        "DocumentSource",
        "spec.connector.resources",
        {"cpu": 1},
        "spec.connector.resources.cpu",
        "allowed: requests, limits",
    ),
    (
        "DocumentSource",
        "spec.connector.imagePullPolicy",
        "Always",
        "spec.connector.imagePullPolicy",
        "unknown field",
    ),
    ("DocumentSource", "spec.cache.size", "10 Gi", "spec.cache.size", "Kubernetes quantity"),
    ("DocumentSource", "spec.cache.retainOnDelete", "no", "spec.cache.retainOnDelete", "boolean"),
    ("DocumentSource", "spec.statusList.enabled", 1, "spec.statusList.enabled", "boolean"),
    ("DocumentSource", "spec.statusList", None, "spec.statusList", "remove the key to get its default"),
    ("DocumentSource", "metadata.name", "9lives", "metadata.name", "DNS-1035 label"),
    ("DocumentSource", "metadata.name", "a" * 57, "metadata.name", "at most 56"),
    ("DocumentSource", "metadata.namespace", "Wallet", "metadata.namespace", "DNS-1123 label"),
    ("GatewayRoute", "spec.host", "API.bosa.be", "spec.host", "DNS name"),
    ("GatewayRoute", "spec.host", DELETE, "spec.host", "required"),
    ("GatewayRoute", "spec.pathPrefix", "api", "spec.pathPrefix", "starting with '/'"),
    ("GatewayRoute", "spec.pathPrefix", "/a/../b", "spec.pathPrefix", "'..'"),
    ("GatewayRoute", "spec.pathPrefix", "/a?x=1", "spec.pathPrefix", "no query"),
    ("GatewayRoute", "spec.pathPrefix", "/a#top", "spec.pathPrefix", "fragment"),
    ("GatewayRoute", "spec.protocol", "GRPC", "spec.protocol", "REST, SOAP"),
    ("GatewayRoute", "spec.backend", {}, "spec.backend", "exactly one of documentSource or service"),
    (
        "GatewayRoute",
        "spec.backend.service",
        {"name": "api", "port": 8080},
        "spec.backend",
        "exactly one of documentSource or service",
    ),
    ("GatewayRoute", "spec.backend", {"service": {"name": "api"}}, "spec.backend.service.port", "required"),
    (
        "GatewayRoute",
        "spec.backend",
        {"service": {"name": "api", "port": 70000}},
        "spec.backend.service.port",
        "65535",
    ),
    ("GatewayRoute", "spec.authentication", {"type": "oidc"}, "spec.authentication.oidc", "required"),
    ("GatewayRoute", "spec.authentication", {}, "spec.authentication.oidc", "when type is oidc"),
    (
        "GatewayRoute",
        "spec.authentication.type",
        "basic",
        "spec.authentication.type",
        "none, oidc, mtls, apiKey",
    ),
    (
        "GatewayRoute",
        "spec.authentication.oidc.issuer",
        "http://idp",
        "spec.authentication.oidc.issuer",
        "https://",
    ),
    (
        "GatewayRoute",
        "spec.authentication.oidc.audience",
        DELETE,
        "spec.authentication.oidc.audience",
        "required",
    ),
    (
        "GatewayRoute",
        "spec.rateLimit",
        {"requestsPerMinute": 0},
        "spec.rateLimit.requestsPerMinute",
        "between 1",
    ),
    (
        "GatewayRoute",
        "spec.rateLimit",
        {"requestsPerMinute": 10, "burst": 10001},
        "spec.rateLimit.burst",
        "between 0 and 10000",
    ),
    ("GatewayRoute", "spec.timeoutSeconds", 301, "spec.timeoutSeconds", "between 1 and 300"),
    ("GatewayRoute", "spec.tls", {}, "spec.tls", "exactly one of secretName or issuerRef"),
    (
        "GatewayRoute",
        "spec.tls",
        {"secretName": "crt", "issuerRef": {"name": "le", "kind": "ClusterIssuer"}},
        "spec.tls",
        "exactly one of secretName or issuerRef",
    ),
    (
        "GatewayRoute",
        "spec.tls",
        {"issuerRef": {"name": "v", "kind": "Vault"}},
        "spec.tls.issuerRef.kind",
        "Issuer",
    ),
    ("GatewayRoute", "spec.api", {"specPath": "openapi.json"}, "spec.api.specPath", "starting with '/'"),
    ("GatewayRoute", "spec.api", {"title": ""}, "spec.api.title", "at least 1"),
    (
        "GatewayRoute",
        "status",
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "Maybe",
                    "reason": "X",
                    "message": "",
                    "lastTransitionTime": "2024-01-01T00:00:00Z",
                }
            ]
        },
        "status.conditions[0].status",
        "True, False, Unknown",
    ),
    (
        "GatewayRoute",
        "status",
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "X",
                    "message": "",
                    "lastTransitionTime": "yesterday",
                }
            ]
        },
        "status.conditions[0].lastTransitionTime",
        "RFC 3339",
    ),
    ("GatewayRoute", "metadata.name", "r" * 64, "metadata.name", "at most 63"),
    ("GatewayRoute", "spec", ["host"], "spec", "must be an object"),
    (
        "GatewayRoute",
        "statuss",
        {},
        "statuss",
        "unknown field, allowed: apiVersion, kind, metadata, spec, status",
    ),
]


@pytest.mark.parametrize(("kind", "path", "value", "field", "fragment"), INVALID)
def test_invalid_resource_is_rejected_naming_the_field(
    kind: str, path: str, value: Any, field: str, fragment: str
) -> None:
    problems = validate_schema(_set(fresh(kind), path, value))
    matching = [p for p in problems if p.field == field]
    assert matching, _messages(problems)
    assert any(str(p).startswith(f"{field}: ") and fragment in p.message for p in matching), _messages(
        problems
    )
    assert all(p.severity == "error" and p.reason == "InvalidSpec" for p in problems)


def test_the_invalid_table_is_large_and_distinct() -> None:
    cases = {(kind, path, repr(value)) for kind, path, value, _, _ in INVALID}
    assert len(cases) == len(INVALID) >= 40


# Each CEL rule the other way round: the counterpart that must pass.
VALID: list[tuple[str, str, Any]] = [
    (
        "DocumentSource",
        "spec.upstream",
        {"url": "https://x.be/ws", "protocol": "SOAP", "soapAction": "urn:get"},
    ),
    ("DocumentSource", "spec.connector.autoscaling", {"minReplicas": 3, "maxReplicas": 3}),
    ("DocumentSource", "spec.connector.autoscaling", {"maxReplicas": 1}),
    ("DocumentSource", "spec.upstream.url", "https://rrn.fsb.belgium.be:8443/api/v1?x=1"),
    ("DocumentSource", "metadata.name", "a" * 56),
    ("GatewayRoute", "spec.backend", {"service": {"name": "api", "port": 8080}}),
    ("GatewayRoute", "spec.authentication", {"type": "none"}),
    ("GatewayRoute", "spec.authentication", {"type": "mtls"}),
    ("GatewayRoute", "spec.tls", {"secretName": "crt"}),
    ("GatewayRoute", "spec.tls", {"issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}}),
    ("GatewayRoute", "spec.pathPrefix", "/"),
    ("GatewayRoute", "spec.pathPrefix", "/a.b/c"),
    ("GatewayRoute", "metadata.name", "r" * 63),
    ("WalletTenant", "metadata.name", "a" * 56),
    ("WalletTenant", "spec.quota", {"cpu": 8, "memory": "16Gi", "storage": "1Ti"}),
    ("WalletTenant", "spec.quota.cpu", "500m"),
    ("WalletTenant", "spec.egress", {"allowedCIDRs": ["10.0.0.0/8", "2001:db8::/32"]}),
]


@pytest.mark.parametrize(("kind", "path", "value"), VALID)
def test_rule_counterpart_passes(kind: str, path: str, value: Any) -> None:
    assert validate_schema(_set(fresh(kind), path, value)) == []


def test_tenant_name_limit_is_63_with_an_explicit_namespace() -> None:
    tenant = _set(fresh("WalletTenant"), "spec.namespace", "bosa")
    assert validate_schema(_set(tenant, "metadata.name", "a" * 63)) == []
    assert validate_schema(_set(tenant, "metadata.name", "bosa.fed")) == []
    [problem] = validate_schema(_set(tenant, "metadata.name", "a" * 64))
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

    @pytest.mark.parametrize(
        ("old", "new"),
        [("bosa-a", "bosa-a"), (None, None), (None, "wallet-bosa"), ("wallet-bosa", None)],
    )
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
    source = _set(
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
