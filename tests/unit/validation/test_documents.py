"""validate_documents: a whole input set, with tenants, platform config and cross-resource rules."""

from typing import Any

from samples import fresh

from greenshift.config import PlatformConfig
from greenshift.loader import Document
from greenshift.validation import Report, validate_documents


def _docs(*bodies: dict[str, Any]) -> list[Document]:
    return [Document("in.yaml", 1 + 10 * i, body) for i, body in enumerate(bodies)]


def _lines(report: Report) -> list[str]:
    return [str(f) for f in report.findings]


def test_a_consistent_set_is_valid() -> None:
    report = validate_documents(_docs(fresh("WalletTenant"), fresh("DocumentSource"), fresh("GatewayRoute")))
    assert _lines(report) == []
    assert report.resources == 3


def test_finding_line_format() -> None:
    route = fresh("GatewayRoute")
    route["spec"]["pathPrefix"] = "/Identity"
    report = validate_documents(_docs(fresh("WalletTenant"), route))
    assert _lines(report) == [
        "in.yaml:11: warning: GatewayRoute/identity: spec.pathPrefix: "
        "segment 'Identity' is not lowerCamelCase (e.g. documentTypes, v2) [belgif REST guide]"
    ]
    assert (report.errors, report.warnings) == (0, 1)


def test_route_against_the_tenant_of_its_namespace() -> None:
    other = fresh("WalletTenant")
    other["metadata"]["name"] = "rsz"
    other["spec"]["allowedHosts"] = ["api.rsz.be"]
    route = fresh("GatewayRoute")
    route["metadata"]["namespace"] = "wallet-rsz"
    report = validate_documents(_docs(fresh("WalletTenant"), other, route))
    [finding] = report.findings
    assert finding.problem.reason == "HostNotAllowed"
    assert "spec.host" in str(finding)


def test_tenant_with_an_explicit_namespace_is_found() -> None:
    tenant = fresh("WalletTenant")
    tenant["spec"]["namespace"] = "bosa"
    route = fresh("GatewayRoute")
    route["metadata"]["namespace"] = "bosa"
    assert _lines(validate_documents(_docs(tenant, route))) == []


def test_namespaced_resource_without_a_tenant_is_an_error() -> None:
    report = validate_documents(_docs(fresh("DocumentSource"), fresh("GatewayRoute")))
    assert [f.problem.reason for f in report.findings] == ["NoTenant", "NoTenant"]
    assert all(
        "metadata.namespace: namespace wallet-bosa belongs to no WalletTenant" in line
        for line in _lines(report)
    )


def test_namespaced_resource_without_a_namespace_is_an_error() -> None:
    source = fresh("DocumentSource")
    del source["metadata"]["namespace"]
    [finding] = validate_documents(_docs(fresh("WalletTenant"), source)).findings
    assert finding.problem.field == "metadata.namespace"
    assert "not set" in finding.problem.message


def test_unknown_kind_and_api_version_are_named() -> None:
    typo = {"apiVersion": "greenshift.io/v1alpha1", "kind": "Tenant", "metadata": {"name": "s"}}
    old = fresh("WalletTenant") | {"apiVersion": "greenshift.io/v1"}
    nokind = {"apiVersion": "greenshift.io/v1alpha1", "metadata": {"name": "x"}}
    lines = _lines(validate_documents(_docs(typo, old, nokind)))
    assert lines[0].startswith(
        "in.yaml:1: Tenant/s: kind: unknown kind 'Tenant'; allowed: apiVersion greenshift.io/v1alpha1"
    )
    assert "apiVersion: unknown apiVersion 'greenshift.io/v1' (not served) for WalletTenant" in lines[1]
    assert "allowed: greenshift.io/v1alpha1" in lines[1]
    assert "?/x: kind: required" in lines[2]


def test_other_kubernetes_objects_are_passed_over_and_counted() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "wallet-bosa"}}
    report = validate_documents(_docs(service, fresh("WalletTenant")))
    assert report.errors == 0
    assert (report.resources, report.foreign) == (1, 1)


def test_rate_cards_are_checked_but_are_not_resources() -> None:
    good = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "RateCard",
        "currency": "EUR",
        "cpuCoreHour": 0.03,
    }
    bad = {**good, "cpuCoreHour": "lots"}
    report = validate_documents(_docs(good, fresh("WalletTenant")))
    assert (report.errors, report.resources) == (0, 1)
    lines = _lines(validate_documents(_docs(bad)))
    assert lines == ["in.yaml:1: RateCard: invalid rate card: cpuCoreHour: must be a number, got 'lots'"]


def test_platform_config_among_the_inputs_is_used() -> None:
    config = {"apiVersion": "greenshift.io/v1alpha1", "kind": "PlatformConfig", "styleGuide": "enforce"}
    route = fresh("GatewayRoute")
    route["spec"]["pathPrefix"] = "/Identity"
    report = validate_documents(_docs(config, fresh("WalletTenant"), route))
    assert report.config.styleGuide == "enforce"
    assert report.resources == 2
    assert [f.problem.severity for f in report.findings] == ["error"]


def test_equal_platform_configs_are_accepted_different_ones_conflict() -> None:
    doc = {"kind": "PlatformConfig", "styleGuide": "off"}
    same = validate_documents(_docs(doc, fresh("WalletTenant")), PlatformConfig(styleGuide="off"))
    assert _lines(same) == []
    [finding] = validate_documents(_docs(doc, fresh("WalletTenant")), PlatformConfig()).findings
    assert finding.subject == "PlatformConfig"
    assert "conflicts with the platform configuration of --platform-config" in finding.problem.message


def test_invalid_platform_config_document_is_reported() -> None:
    [finding] = validate_documents(_docs({"kind": "PlatformConfig", "styleGuide": "strict"})).findings
    assert "styleGuide: must be one of enforce, warn, off" in str(finding)


def test_host_and_path_must_be_unique_among_the_inputs() -> None:
    second = fresh("GatewayRoute")
    second["metadata"]["name"] = "identity-copy"
    second["spec"]["pathPrefix"] = "/identity/v1/"
    report = validate_documents(_docs(fresh("WalletTenant"), fresh("GatewayRoute"), second))
    [finding] = report.findings
    assert finding.subject == "GatewayRoute/identity-copy"
    assert finding.problem.reason == "RouteConflict"
    assert "already claimed by GatewayRoute wallet-bosa/identity" in finding.problem.message


def test_duplicates_and_shared_namespaces_are_errors() -> None:
    twin = fresh("WalletTenant")
    twin["metadata"]["name"] = "bosa-two"
    twin["spec"]["namespace"] = "wallet-bosa"
    report = validate_documents(_docs(fresh("WalletTenant"), fresh("WalletTenant"), twin))
    errors = [f.problem for f in report.findings if f.problem.severity == "error"]
    assert [p.reason for p in errors] == ["Duplicate", "NamespaceConflict"]
    assert "also at in.yaml:1" in errors[0].message


def test_overlapping_allowed_hosts_are_reported_on_both_tenants() -> None:
    """Issue 16, item 1: two agencies allowed a common host may publish routes on it."""
    first = fresh("WalletTenant")
    first["spec"]["allowedHosts"] = ["*.wallet.example.be"]
    second = fresh("WalletTenant")
    second["metadata"]["name"] = "other"
    second["spec"]["namespace"] = "wallet-other"
    second["spec"]["allowedHosts"] = ["docs.wallet.example.be", "other.example.be"]
    third = fresh("WalletTenant")
    third["metadata"]["name"] = "third"
    third["spec"]["namespace"] = "wallet-third"
    third["spec"]["allowedHosts"] = ["deep.docs.wallet.example.be"]  # a wildcard covers one label only
    report = validate_documents(_docs(first, second, third))
    shared = [(f.subject, f.problem.severity) for f in report.findings if f.problem.reason == "HostsShared"]
    assert shared == [("WalletTenant/bosa", "warning"), ("WalletTenant/other", "warning")]
    assert not report.errors


def test_tenant_quota_on_counts() -> None:
    tenant = fresh("WalletTenant")
    tenant["spec"]["quota"] = {"documentSources": 1}
    second = fresh("DocumentSource")
    second["metadata"]["name"] = "ehic"
    [finding] = validate_documents(_docs(tenant, fresh("DocumentSource"), second)).findings
    assert finding.subject == "DocumentSource/ehic"
    assert finding.problem.reason == "QuotaExceeded"
    assert "quota.documentSources" in finding.problem.message


def test_semantic_rule_does_not_repeat_a_schema_error() -> None:
    source = fresh("DocumentSource")
    source["spec"]["upstream"]["url"] = "http://rrn.fsb.belgium.be"
    source["spec"]["connector"]["image"] = "nginx"
    report = validate_documents(_docs(fresh("WalletTenant"), source))
    fields = [f.problem.field for f in report.findings]
    assert fields.count("spec.upstream.url") == 1
    assert [f.problem.reason for f in report.findings if f.problem.field == "spec.connector.image"] == [
        "ImageNotCertified",
        "ImageNotPinned",
    ]


def test_mistyped_documents_never_raise() -> None:
    bodies: list[dict[str, Any]] = [
        {"kind": 5},
        {"kind": "WalletTenant", "apiVersion": "greenshift.io/v1alpha1", "metadata": [], "spec": "x"},
        {
            "kind": "GatewayRoute",
            "apiVersion": "greenshift.io/v1alpha1",
            "metadata": {"name": 1, "namespace": 2},
        },
        {
            "kind": "DocumentSource",
            "apiVersion": "greenshift.io/v1alpha1",
            "metadata": {"name": "a"},
            "spec": None,
        },
        {"kind": "PlatformConfig", "images": "nope"},
    ]
    report = validate_documents(_docs(*bodies))
    assert report.errors >= len(bodies)


def _foreign(kind: str, api_version: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    meta = {"name": "own", "namespace": "wallet-bosa", **metadata}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": spec}


def test_other_objects_in_a_tenant_namespace_meet_the_admission_policies() -> None:
    """Issue 16, items 2, 5, 6: what deploy/admission-policies.yaml and the quota refuse in a
    tenant namespace, validate reports for the other objects of the inputs (docs/security.md)."""
    template = {"spec": {"containers": [{"name": "a", "image": "docker.io/library/nginx:1.27"}]}}
    pinned = {
        "spec": {"initContainers": [{"name": "i", "image": "registry.greenshift.local/certified/x:LATEST"}]}
    }
    cases = [
        (
            _foreign("Deployment", "apps/v1", {"template": template}),
            "spec.template.spec.containers[0].image",
            "ImageNotCertified",
        ),
        (
            _foreign("Job", "batch/v1", {"template": pinned}),
            "spec.template.spec.initContainers[0].image",
            "ImageNotPinned",
        ),
        (
            _foreign("CronJob", "batch/v1", {"jobTemplate": {"spec": {"template": template}}}),
            "spec.jobTemplate.spec.template.spec.containers[0].image",
            "ImageNotCertified",
        ),
        (_foreign("Pod", "v1", template["spec"]), "spec.containers[0].image", "ImageNotCertified"),
        (
            _foreign("Service", "v1", {"externalIPs": ["203.0.113.7"]}),
            "spec.externalIPs",
            "ExternalIPsNotAllowed",
        ),
        (_foreign("Service", "v1", {"type": "LoadBalancer"}), "spec.type", "ServiceTypeNotAllowed"),
        (
            _foreign("ConfigMap", "v1", {}, labels={"app.kubernetes.io/managed-by": "greenshift-operator"}),
            "metadata.labels",
            "ReservedLabel",
        ),
        (
            _foreign("ConfigMap", "v1", {}, annotations={"greenshift.io/owner": "DocumentSource/x/y"}),
            "metadata.annotations",
            "ReservedLabel",
        ),
    ]
    for body, field, reason in cases:
        report = validate_documents(_docs(body, fresh("WalletTenant")))
        assert [(f.problem.field, f.problem.reason) for f in report.findings] == [(field, reason)], body
        # outside the tenants' namespaces, the object is only passed over
        body["metadata"]["namespace"] = "elsewhere"
        assert validate_documents(_docs(body, fresh("WalletTenant"))).errors == 0


def test_a_certified_workload_in_a_tenant_namespace_passes() -> None:
    template = {"spec": {"containers": [{"name": "a", "image": "registry.greenshift.local/certified/x:1.0"}]}}
    body = _foreign(
        "StatefulSet", "apps/v1", {"template": template}, labels={"app.kubernetes.io/managed-by": "Helm"}
    )
    service = _foreign("Service", "v1", {"ports": [{"port": 80}]})
    assert validate_documents(_docs(body, service, fresh("WalletTenant"))).errors == 0


def test_a_connector_beyond_its_tier_is_an_error() -> None:
    source = fresh("DocumentSource")
    source["spec"]["connector"]["resources"] = {"limits": {"memory": "5Gi"}}
    report = validate_documents(_docs(source, fresh("WalletTenant")))
    assert [(f.problem.field, f.problem.reason) for f in report.findings] == [
        ("spec.connector.resources.limits.memory", "ResourceNotAllowed")
    ]
    assert "at most 4Gi" in report.findings[0].problem.message
