"""The webhook's reviews: what kubectl apply refuses, from the operator's own indexes."""

from admission_support import config, context, route, service, source, tenant

from greenshift.admission import review_document_source, review_gateway_route, review_wallet_tenant
from greenshift.validation import Problem


def errors(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.field, p.reason) for p in problems if p.severity == "error"]


def test_a_valid_tenant_passes() -> None:
    assert review_wallet_tenant(context(), tenant()) == []


def test_a_reserved_namespace_is_refused() -> None:
    problems = review_wallet_tenant(context(), tenant(namespace="kube-system"))
    assert errors(problems) == [("spec.namespace", "NamespaceNotAllowed")]


def test_a_namespace_held_by_an_older_tenant_is_refused_by_name() -> None:
    ctx = context([tenant("bosa")])
    problems = review_wallet_tenant(ctx, tenant("intruder", namespace="wallet-bosa"))
    assert errors(problems) == [("spec.namespace", "NamespaceConflict")]
    assert "already belongs to WalletTenant bosa" in problems[0].message


def test_the_holder_may_update_itself() -> None:
    assert review_wallet_tenant(context([tenant("bosa")]), tenant("bosa", displayName="BOSA")) == []


def test_a_source_outside_a_tenant_namespace_is_refused_as_no_tenant() -> None:
    problems = review_document_source(context(), source(namespace="default"))
    assert errors(problems) == [("metadata.namespace", "NoTenant")]
    assert "namespace default belongs to no WalletTenant" in problems[0].message


def test_a_valid_source_passes() -> None:
    assert review_document_source(context([tenant()]), source()) == []


def test_an_uncertified_unpinned_image_is_refused_naming_the_field() -> None:
    bad = source(connector={"image": "docker.io/evil/connector:latest"})
    assert errors(review_document_source(context([tenant()]), bad)) == [
        ("spec.connector.image", "ImageNotCertified"),
        ("spec.connector.image", "ImageNotPinned"),
    ]


def test_certified_registries_come_from_the_platform_config() -> None:
    ctx = context([tenant()], config(images={"certifiedRegistries": ["registry.example/"]}))
    image = "registry.example/identity@sha256:" + "a" * 64
    assert review_document_source(ctx, source(connector={"image": image})) == []


def test_a_valid_route_passes() -> None:
    assert review_gateway_route(context([tenant(), source()]), route()) == []


def test_a_route_without_tenant_is_refused_as_no_tenant() -> None:
    assert errors(review_gateway_route(context(), route())) == [("metadata.namespace", "NoTenant")]


def test_a_host_outside_allowed_hosts_is_refused() -> None:
    problems = review_gateway_route(context([tenant()]), route(host="www.other.example.be"))
    assert errors(problems) == [("spec.host", "HostNotAllowed")]
    assert "allowedHosts: *.bosa.wallet.example.be" in problems[0].message


def test_a_claimed_host_and_path_is_refused_naming_the_holder() -> None:
    holder = route("older", namespace="wallet-bosa", created="2026-01-01T00:00:00Z")
    problems = review_gateway_route(context([tenant(), holder]), route("newer"))
    assert errors(problems) == [("spec.pathPrefix", "RouteConflict")]
    assert "held by GatewayRoute wallet-bosa/older" in problems[0].message
    assert "choose another spec.host or spec.pathPrefix" in problems[0].message


def test_a_route_holding_its_claim_may_be_updated() -> None:
    holder = route(created="2026-01-01T00:00:00Z")
    assert review_gateway_route(context([tenant(), holder]), route(timeoutSeconds=60)) == []


def test_an_external_name_backend_is_refused() -> None:
    backend = {"service": {"name": "outside", "port": 443}}
    ctx = context([tenant(), service("outside", type="ExternalName")])
    problems = review_gateway_route(ctx, route(backend=backend))
    assert errors(problems) == [("spec.backend.service", "BackendNotAllowed")]
    assert problems[0].message.startswith("Service outside is of type ExternalName")


def test_a_missing_backend_is_left_to_the_reconcile() -> None:
    """GitOps applies a route with its DocumentSource: the Service comes later."""
    assert (
        review_gateway_route(context([tenant()]), route(backend={"service": {"name": "later", "port": 80}}))
        == []
    )


def test_style_guide_violations_are_errors_in_enforce_mode_and_warnings_in_warn_mode() -> None:
    bad = route(pathPrefix="/Identity/v1.2")
    enforce = review_gateway_route(context([tenant()], config(styleGuide="enforce")), bad)
    assert {(p.reason, p.severity) for p in enforce} == {("StyleGuideViolation", "error")}
    warn = review_gateway_route(context([tenant()], config(styleGuide="warn")), bad)
    assert {(p.reason, p.severity) for p in warn} == {("StyleGuideViolation", "warning")}
    assert review_gateway_route(context([tenant()], config(styleGuide="off")), bad) == []


def test_a_suspended_tenant_still_gets_its_routes_reviewed() -> None:
    problems = review_gateway_route(context([tenant(suspended=True)]), route(host="x.other.example.be"))
    assert errors(problems) == [("spec.host", "HostNotAllowed")]


def test_a_connector_the_tier_does_not_allow_is_refused() -> None:
    """Issue 16, item 7: a GPU (the quota's 0) or more cpu than the LimitRange's max would leave the
    Deployment without pods; the webhook says so at apply time."""
    image = "registry.greenshift.local/certified/connector-identity:1.0.0"
    resources = {"requests": {"nvidia.com/gpu": "1"}, "limits": {"cpu": "3", "memory": "4Gi"}}
    greedy = source(connector={"image": image, "resources": resources})
    assert errors(review_document_source(context([tenant()]), greedy)) == [
        ("spec.connector.resources.requests.nvidia.com/gpu", "ResourceNotAllowed"),
        ("spec.connector.resources.limits.cpu", "ResourceNotAllowed"),
    ]
    # a critical tenant's containers may have 4 CPUs
    critical = context([tenant(tier="critical")])
    fits = source(connector={"image": image, "resources": {"limits": {"cpu": "3"}}})
    assert review_document_source(critical, fits) == []


def test_a_sub_path_or_trailing_slash_of_another_tenants_route_is_refused() -> None:
    """Issue 16, item 1: a second tenant allowed the same host cannot take the victim's traffic."""
    victim = route("docs", namespace="wallet-bosa", created="2026-01-01T00:00:00Z")
    attacker = tenant("evil", allowedHosts=["*.bosa.wallet.example.be"])
    ctx = context([tenant(), attacker, victim])
    for path in ("/identity/v1/", "/identity/v1/tokens", "/identity"):
        problems = review_gateway_route(ctx, route("grab", namespace="wallet-evil", pathPrefix=path))
        assert errors(problems) == [("spec.pathPrefix", "RouteConflict")], path
        assert "GatewayRoute wallet-bosa/docs" in problems[0].message
    own = review_gateway_route(
        ctx, route("tokens", namespace="wallet-bosa", pathPrefix="/identity/v1/tokens")
    )
    assert errors(own) == []  # a tenant may route its own sub-paths elsewhere


def test_a_cluster_issuer_the_platform_does_not_list_is_refused() -> None:
    """Issue 16, item 8: a route names only the issuers of certificates.allowedIssuers."""
    platform = config(certificates={"allowedIssuers": [{"kind": "ClusterIssuer", "name": "belgium-acme"}]})
    ctx = context([tenant(), source()], platform)
    for name in ("letsencrypt-prod", "internal-ca"):
        tls = {"issuerRef": {"kind": "ClusterIssuer", "name": name}}
        problems = review_gateway_route(ctx, route(tls=tls))
        assert errors(problems) == [("spec.tls.issuerRef", "IssuerNotAllowed")], name
        assert f"ClusterIssuer {name} is not allowed" in problems[0].message
        assert (
            "allowed: ClusterIssuer belgium-acme; any Issuer in the route's namespace" in problems[0].message
        )
    listed = {"issuerRef": {"kind": "ClusterIssuer", "name": "belgium-acme"}}
    own = {"issuerRef": {"kind": "Issuer", "name": "bosa-ca"}}
    assert review_gateway_route(ctx, route(tls=listed)) == []
    assert review_gateway_route(ctx, route(tls=own)) == []
    default = context([tenant(), source()])  # no list: no ClusterIssuer at all
    assert errors(review_gateway_route(default, route(tls=listed))) == [
        ("spec.tls.issuerRef", "IssuerNotAllowed")
    ]
