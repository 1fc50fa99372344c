"""The platform's semantic rules, each both ways, and their tolerance of hostile input."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from samples import fresh

from greenshift.config import Images, PlatformConfig, parse_platform_config
from greenshift.naming import tenant_namespace
from greenshift.schemas import with_defaults
from greenshift.validation.rules import (
    check_document_source,
    check_gateway_route,
    check_host_allowed,
    check_image,
    check_issuer_allowed,
    check_style_guide,
    check_upstream_url,
    check_wallet_tenant,
    host_matches,
    route_conflicts,
)

CONFIG = PlatformConfig()
CERTIFIED = "registry.greenshift.local/certified/"
DIGEST = "@sha256:" + "a" * 64


@pytest.mark.parametrize(
    "image",
    [
        f"{CERTIFIED}identity:1.2.0",
        f"{CERTIFIED}team/identity:2024-05-01",
        f"{CERTIFIED}identity{DIGEST}",
        f"{CERTIFIED}identity:1.2.0{DIGEST}",
    ],
)
def test_certified_pinned_image_passes(image: str) -> None:
    assert check_image(image, CONFIG) == []


@pytest.mark.parametrize(
    ("image", "reasons"),
    [
        ("docker.io/library/nginx:1.27", ["ImageNotCertified"]),
        ("registry.greenshift.local/other/identity:1.0", ["ImageNotCertified"]),
        (f"{CERTIFIED}identity:latest", ["ImageNotPinned"]),
        (f"{CERTIFIED}identity:LATEST", ["ImageNotPinned"]),  # issue 16, item 5
        (f"{CERTIFIED}identity:Latest", ["ImageNotPinned"]),
        (f"{CERTIFIED}identity", ["ImageNotPinned"]),
        (f"{CERTIFIED}identity@sha256:abc", ["ImageNotPinned"]),
        ("nginx", ["ImageNotCertified", "ImageNotPinned"]),
        ("", ["InvalidSpec"]),
        (f"{CERTIFIED}identity: 1.0", ["InvalidSpec"]),
    ],
)
def test_image_rule_rejects(image: str, reasons: list[str]) -> None:
    problems = check_image(image, CONFIG)
    assert [p.reason for p in problems] == reasons
    assert all(p.field == "spec.connector.image" and p.severity == "error" for p in problems)


def test_image_messages_say_what_is_allowed() -> None:
    certified, pinned = check_image("docker.io/nginx", CONFIG)
    assert CERTIFIED in certified.message
    assert "tag other than latest" in pinned.message
    assert "digest" in pinned.message


def test_registry_prefix_without_slash_matches_only_at_a_path_boundary() -> None:
    config = PlatformConfig(images=Images(certifiedRegistries=("registry.example",)))
    assert check_image("registry.example/app:1.0", config) == []
    [problem] = check_image("registry.example.evil.com/app:1.0", config)
    assert problem.reason == "ImageNotCertified"


def test_registry_port_is_not_taken_for_a_tag() -> None:
    config = PlatformConfig(images=Images(certifiedRegistries=("registry.example:5000/",)))
    [problem] = check_image("registry.example:5000/app", config)
    assert problem.reason == "ImageNotPinned"


@pytest.mark.parametrize("url", ["https://rrn.fsb.belgium.be/api", "https://10.0.0.1:8443/x?y=1"])
def test_https_upstream_passes(url: str) -> None:
    assert check_upstream_url(url) == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://rrn.fsb.belgium.be", "InsecureUpstream"),
        ("ftp://x", "InsecureUpstream"),
        ("rrn.fsb.belgium.be", "InsecureUpstream"),
        ("https://", "InvalidSpec"),
        ("https://user:pw@host/", "InvalidSpec"),
        ("https://host\n/x", "InvalidSpec"),
        ("https://[::1/x", "InvalidSpec"),
        ("https://host:99999/", "InvalidSpec"),
        (None, "InvalidSpec"),
        (["https://x"], "InvalidSpec"),
    ],
)
def test_upstream_rule_rejects_hostile_input(url: Any, reason: str) -> None:
    [problem] = check_upstream_url(url)
    assert problem.reason == reason
    assert problem.field == "spec.upstream.url"
    assert "https://" in problem.message or "URL" in problem.message


@pytest.mark.parametrize(
    ("host", "pattern", "matches"),
    [
        ("api.bosa.be", "api.bosa.be", True),
        ("API.bosa.be.", "api.bosa.be", True),
        ("api.bosa.be", "*.bosa.be", True),
        ("bosa.be", "*.bosa.be", False),
        ("a.b.bosa.be", "*.bosa.be", False),
        ("evilbosa.be", "*.bosa.be", False),
        ("api.bosa.be", "bosa.be", False),
        ("*.bosa.be", "*.bosa.be", False),
    ],
)
def test_host_matching(host: str, pattern: str, matches: bool) -> None:
    assert host_matches(host, pattern) is matches


def test_host_allowed_both_ways() -> None:
    assert check_host_allowed("api.bosa.be", ["docs.bosa.be", "*.bosa.be"]) == []
    [problem] = check_host_allowed("api.rsz.be", ["*.bosa.be"])
    assert (problem.field, problem.reason) == ("spec.host", "HostNotAllowed")
    assert "*.bosa.be" in problem.message
    [empty] = check_host_allowed("api.bosa.be", [])
    assert "allowedHosts is empty" in empty.message
    [garbage] = check_host_allowed(None, "not a list")
    assert garbage.field == "spec.host"


@pytest.mark.parametrize(
    "path", ["/", "/identity", "/identity/v1", "/documentTypes/v2/", "/v10/marriageCertificates"]
)
def test_style_guide_accepts_good_paths(path: str) -> None:
    assert check_style_guide(path, "REST", "enforce") == []


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/Identity", "lowerCamelCase"),
        ("/document-types", "lowerCamelCase"),
        ("/document_types", "lowerCamelCase"),
        ("/identity.json", "file extension"),
        ("/identity/v2.1", "only the major version is allowed (/v2)"),
    ],
)
def test_style_guide_violations(path: str, fragment: str) -> None:
    [problem] = check_style_guide(path, "REST", "enforce")
    assert (problem.field, problem.reason, problem.severity) == (
        "spec.pathPrefix",
        "StyleGuideViolation",
        "error",
    )
    assert fragment in problem.message


def test_style_guide_modes() -> None:
    assert [p.severity for p in check_style_guide("/Bad", "REST", "enforce")] == ["error"]
    assert [p.severity for p in check_style_guide("/Bad", "REST", "warn")] == ["warning"]
    assert check_style_guide("/Bad", "REST", "off") == []


def test_style_guide_exempts_soap() -> None:
    assert check_style_guide("/Legacy_Service.asmx", "SOAP", "enforce") == []


def test_style_guide_reports_each_bad_segment() -> None:
    assert len(check_style_guide("/Docs/v1.0/file.xml", "REST", "warn")) == 3


def test_tenant_namespace() -> None:
    tenant = fresh("WalletTenant")
    assert tenant_namespace(tenant) == "wallet-bosa"
    tenant["spec"]["namespace"] = "bosa"
    assert tenant_namespace(tenant) == "bosa"


@pytest.mark.parametrize(
    "namespace", ["kube-system", "default", "greenshift-gateway", "openshift-ingress", "kube-x"]
)
def test_tenant_may_not_take_a_reserved_namespace(namespace: str) -> None:
    tenant = fresh("WalletTenant")
    tenant["spec"]["namespace"] = namespace
    [problem] = check_wallet_tenant(tenant, CONFIG)
    assert (problem.field, problem.reason) == ("spec.namespace", "NamespaceNotAllowed")
    assert check_wallet_tenant(fresh("WalletTenant"), CONFIG) == []


def test_document_source_rules() -> None:
    assert check_document_source(with_defaults(fresh("DocumentSource")), CONFIG) == []
    source = fresh("DocumentSource")
    source["spec"]["connector"]["image"] = "nginx:latest"
    source["spec"]["upstream"]["url"] = "http://x"
    reasons = {p.reason for p in check_document_source(source, CONFIG)}
    assert reasons == {"ImageNotCertified", "ImageNotPinned", "InsecureUpstream"}


def test_gateway_route_rules() -> None:
    tenant = with_defaults(fresh("WalletTenant"))
    route = with_defaults(fresh("GatewayRoute"))
    assert check_gateway_route(route, tenant, CONFIG) == []
    route["spec"]["host"] = "api.rsz.be"
    route["spec"]["pathPrefix"] = "/Identity"
    reasons = [p.reason for p in check_gateway_route(route, tenant, CONFIG)]
    assert reasons == ["HostNotAllowed", "StyleGuideViolation"]
    [no_tenant, _] = check_gateway_route(route, None, CONFIG)
    assert (no_tenant.field, no_tenant.reason) == ("metadata.namespace", "NoTenant")
    assert "wallet-bosa" in no_tenant.message


def _issuers(*refs: tuple[str, str]) -> PlatformConfig:
    allowed = [{"kind": kind, "name": name} for kind, name in refs]
    return parse_platform_config({"certificates": {"allowedIssuers": allowed}})


def test_by_default_a_route_may_name_its_namespaces_issuers_but_no_cluster_issuer() -> None:
    assert check_issuer_allowed({"kind": "Issuer", "name": "own-ca"}, CONFIG) == []
    [problem] = check_issuer_allowed({"kind": "ClusterIssuer", "name": "platform-ca"}, CONFIG)
    assert (problem.field, problem.severity, problem.reason) == (
        "spec.tls.issuerRef",
        "error",
        "IssuerNotAllowed",
    )
    assert "ClusterIssuer platform-ca is not allowed" in problem.message
    assert "no ClusterIssuer; any Issuer in the route's namespace" in problem.message


def test_listed_cluster_issuers_are_allowed_and_named_in_the_refusal() -> None:
    config = _issuers(("ClusterIssuer", "belgium-acme"), ("ClusterIssuer", "internal-ca"))
    assert check_issuer_allowed({"kind": "ClusterIssuer", "name": "belgium-acme"}, config) == []
    assert check_issuer_allowed({"kind": "Issuer", "name": "belgium-acme"}, config) == []
    [problem] = check_issuer_allowed({"kind": "ClusterIssuer", "name": "selfsigned"}, config)
    assert "allowed: ClusterIssuer belgium-acme, internal-ca; any Issuer" in problem.message
    assert "certificates.allowedIssuers" in problem.message


def test_listing_an_issuer_restricts_issuers_to_those_names() -> None:
    config = _issuers(("Issuer", "tenant-ca"))
    assert check_issuer_allowed({"kind": "Issuer", "name": "tenant-ca"}, config) == []
    [problem] = check_issuer_allowed({"kind": "Issuer", "name": "own-ca"}, config)
    assert "Issuer own-ca is not allowed" in problem.message
    assert "no ClusterIssuer; Issuer tenant-ca in the route's namespace" in problem.message
    # the kinds are apart: a ClusterIssuer of the same name is not listed
    assert check_issuer_allowed({"kind": "ClusterIssuer", "name": "tenant-ca"}, config) != []


@pytest.mark.parametrize("ref", [None, "acme", {}, {"kind": "Vault", "name": "x"}, {"kind": "Issuer"}])
def test_issuer_rule_leaves_bad_shapes_to_the_schema(ref: Any) -> None:
    assert check_issuer_allowed(ref, CONFIG) == []


def test_gateway_route_rules_check_the_tls_issuer() -> None:
    tenant = with_defaults(fresh("WalletTenant"))
    route = with_defaults(fresh("GatewayRoute"))
    route["spec"]["tls"] = {"issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt"}}
    assert [p.reason for p in check_gateway_route(route, tenant, CONFIG)] == ["IssuerNotAllowed"]
    allowed = _issuers(("ClusterIssuer", "letsencrypt"))
    assert check_gateway_route(route, tenant, allowed) == []


def _route(namespace: str, name: str, created: str | None, path: str = "/identity") -> dict[str, Any]:
    route = fresh("GatewayRoute")
    route["metadata"] = {"namespace": namespace, "name": name}
    if created is not None:
        route["metadata"]["creationTimestamp"] = created
    route["spec"]["pathPrefix"] = path
    return route


def test_route_conflict_oldest_wins() -> None:
    routes = [
        _route("wallet-b", "new", "2024-05-02T00:00:00Z"),
        _route("wallet-a", "old", "2024-05-01T00:00:00Z", "/identity/"),
        _route("wallet-c", "other", "2024-05-01T00:00:00Z", "/other"),
    ]
    conflicts = route_conflicts(routes)
    assert set(conflicts) == {("wallet-b", "new")}
    problem = conflicts[("wallet-b", "new")]
    assert problem.reason == "RouteConflict"
    assert "wallet-a/old" in problem.message


def test_route_conflict_ties_break_on_namespace_then_name() -> None:
    conflicts = route_conflicts([_route("wallet-b", "a", None), _route("wallet-a", "z", None)])
    assert set(conflicts) == {("wallet-b", "a")}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(spec=json_values, metadata=json_values)
def test_rules_never_raise_on_hostile_input(spec: Any, metadata: Any) -> None:
    for kind in ("WalletTenant", "DocumentSource", "GatewayRoute"):
        resource = {"kind": kind, "metadata": metadata, "spec": spec}
        check_wallet_tenant(resource, CONFIG)
        check_document_source(resource, CONFIG)
        check_gateway_route(resource, resource, CONFIG)
        check_gateway_route(resource, None, CONFIG)
        route_conflicts([resource, resource])


def test_a_trailing_slash_is_the_same_claim_and_a_nested_prefix_of_another_namespace_collides() -> None:
    """Issue 16, item 1: /docs/v1/ and /docs/v1/tokens next to another tenant's older /docs/v1."""
    victim = _route("wallet-a", "docs", "2024-05-01T00:00:00Z", "/docs/v1")
    slash = _route("wallet-b", "slash", "2024-05-02T00:00:00Z", "/docs/v1/")
    below = _route("wallet-b", "below", "2024-05-02T00:00:00Z", "/docs/v1/tokens")
    above = _route("wallet-c", "above", "2024-05-02T00:00:00Z", "/docs")
    conflicts = route_conflicts([victim, slash, below, above])
    assert set(conflicts) == {("wallet-b", "slash"), ("wallet-b", "below"), ("wallet-c", "above")}
    assert "nested with" in conflicts[("wallet-b", "below")].message
    assert "wallet-a/docs" in conflicts[("wallet-b", "below")].message


def test_a_tenant_may_nest_its_own_prefixes_and_neighbours_do_not_collide() -> None:
    routes = [
        _route("wallet-a", "docs", "2024-05-01T00:00:00Z", "/docs/v1"),
        _route("wallet-a", "tokens", "2024-05-02T00:00:00Z", "/docs/v1/tokens"),
        _route("wallet-b", "docs-v10", "2024-05-02T00:00:00Z", "/docs/v10"),  # a sibling, not nested
    ]
    assert route_conflicts(routes) == {}
