"""The children of a GatewayRoute, per gateway flavor."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from render_support import config, live, route, tenant

from greenshift.config import PlatformConfig
from greenshift.render import render_gateway_route

NGINX = "nginx.ingress.kubernetes.io/"
OIDC = {"type": "oidc", "oidc": {"issuer": "https://idp.example.be/oauth2", "audience": "wallet"}}


def render(
    rt: dict[str, Any], cfg: PlatformConfig | None = None, ten: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {c["kind"]: c for c in render_gateway_route(rt, ten or tenant(), cfg or PlatformConfig())}


def test_ingress() -> None:
    (ingress,) = render_gateway_route(route(), tenant(), PlatformConfig())
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    assert ingress["metadata"]["name"] == "identity-v1"
    assert ingress["metadata"]["namespace"] == "wallet-bosa"
    assert ingress["metadata"]["labels"]["greenshift.io/tenant"] == "bosa"
    assert ingress["spec"] == {
        "ingressClassName": "nginx",
        "rules": [
            {
                "host": "identity.wallet.example.be",
                "http": {
                    "paths": [
                        {
                            "path": "/identity/v1",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "identity", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ],
    }
    annotations = ingress["metadata"]["annotations"]
    assert annotations[NGINX + "proxy-read-timeout"] == "30"
    assert annotations[NGINX + "proxy-send-timeout"] == "30"
    assert not {k for k in annotations if k.startswith(NGINX + "auth")}
    assert not {k for k in annotations if k.startswith(NGINX + "limit")}


def test_ingress_class_from_config() -> None:
    ingress = render(route(), config(gateway={"ingressClassName": "wallet-nginx"}))["Ingress"]
    assert ingress["spec"]["ingressClassName"] == "wallet-nginx"


def test_service_backend_as_given() -> None:
    ingress = render(route(backend={"service": {"name": "verifier", "port": 8443}}))["Ingress"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": "verifier", "port": {"number": 8443}}}


def test_tls_with_secret_name() -> None:
    children = render(route(tls={"secretName": "wallet-tls"}), config(certificates={"certManager": True}))
    assert set(children) == {"Ingress"}
    assert children["Ingress"]["spec"]["tls"] == [
        {"hosts": ["identity.wallet.example.be"], "secretName": "wallet-tls"}
    ]


def test_tls_with_issuer_and_cert_manager() -> None:
    tls = {"issuerRef": {"name": "belgium-acme", "kind": "ClusterIssuer"}}
    children = render_gateway_route(
        live(route(tls=tls)), tenant(), config(certificates={"certManager": True})
    )
    assert [c["kind"] for c in children] == ["Certificate", "Ingress"]
    certificate, ingress = children
    assert certificate["apiVersion"] == "cert-manager.io/v1"
    assert certificate["metadata"]["name"] == "identity-v1"
    assert certificate["spec"]["secretName"] == "identity-v1-tls"
    assert certificate["spec"]["dnsNames"] == ["identity.wallet.example.be"]
    assert certificate["spec"]["issuerRef"] == {
        "group": "cert-manager.io",
        "kind": "ClusterIssuer",
        "name": "belgium-acme",
    }
    assert certificate["metadata"]["ownerReferences"][0]["kind"] == "GatewayRoute"
    assert ingress["spec"]["tls"] == [
        {"hosts": ["identity.wallet.example.be"], "secretName": "identity-v1-tls"}
    ]


def test_tls_with_issuer_without_cert_manager_makes_no_certificate() -> None:
    children = render(route(tls={"issuerRef": {"name": "ca", "kind": "Issuer"}}))
    assert set(children) == {"Ingress"}
    assert children["Ingress"]["spec"]["tls"][0]["secretName"] == "identity-v1-tls"


@pytest.mark.parametrize(
    ("rpm", "burst", "multiplier"), [(600, 100, "1"), (600, 1500, "3"), (60, 0, "1"), (100, None, None)]
)
def test_rate_limit_annotations(rpm: int, burst: int | None, multiplier: str | None) -> None:
    rate: dict[str, int] = {"requestsPerMinute": rpm}
    if burst is not None:
        rate["burst"] = burst
    annotations = render(route(rateLimit=rate))["Ingress"]["metadata"]["annotations"]
    assert annotations[NGINX + "limit-rpm"] == str(rpm)
    assert annotations.get(NGINX + "limit-burst-multiplier") == multiplier
    assert annotations["greenshift.io/rate-limit-rpm"] == str(rpm)


def test_timeout_annotation() -> None:
    annotations = render(route(timeoutSeconds=120))["Ingress"]["metadata"]["annotations"]
    assert annotations[NGINX + "proxy-read-timeout"] == "120"


def test_oidc_goes_through_the_platform_auth_service() -> None:
    annotations = render(route(authentication=OIDC), config(gateway={"namespace": "edge"}))["Ingress"][
        "metadata"
    ]["annotations"]
    url = urlsplit(annotations[NGINX + "auth-url"])
    assert (url.scheme, url.netloc, url.path) == (
        "http",
        "greenshift-auth.edge.svc.cluster.local",
        "/verify/oidc",
    )
    assert parse_qs(url.query) == {"issuer": ["https://idp.example.be/oauth2"], "audience": ["wallet"]}
    assert annotations["greenshift.io/authentication"] == "oidc"
    assert annotations["greenshift.io/oidc-issuer"] == "https://idp.example.be/oauth2"


def test_oidc_is_the_default_authentication() -> None:
    rt = route()
    rt["spec"]["authentication"] = {"oidc": OIDC["oidc"]}
    annotations = render(rt)["Ingress"]["metadata"]["annotations"]
    assert annotations["greenshift.io/authentication"] == "oidc"
    assert NGINX + "auth-url" in annotations


def test_api_key_and_mtls() -> None:
    api_key = render(route(authentication={"type": "apiKey"}))["Ingress"]["metadata"]["annotations"]
    assert api_key[NGINX + "auth-url"].endswith("/verify/api-key")
    mtls = render(route(authentication={"type": "mtls"}))["Ingress"]["metadata"]["annotations"]
    assert mtls[NGINX + "auth-tls-verify-client"] == "on"
    assert mtls[NGINX + "auth-tls-secret"] == "greenshift-gateway/greenshift-client-ca"
    assert NGINX + "auth-url" not in mtls


def test_soap_route_is_marked() -> None:
    annotations = render(route(protocol="SOAP", pathPrefix="/soap/MyBenefits"))["Ingress"]["metadata"][
        "annotations"
    ]
    assert annotations["greenshift.io/protocol"] == "SOAP"


def test_http_route() -> None:
    cfg = config(gateway={"flavor": "gateway-api", "parentRef": {"name": "public", "namespace": "edge"}})
    children = render(route(timeoutSeconds=45, tls={"secretName": "x"}), cfg)
    assert set(children) == {"HTTPRoute"}
    spec = children["HTTPRoute"]["spec"]
    assert children["HTTPRoute"]["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert spec["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "edge"}
    ]
    assert spec["hostnames"] == ["identity.wallet.example.be"]
    assert spec["rules"] == [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/identity/v1"}}],
            "backendRefs": [{"group": "", "kind": "Service", "name": "identity", "port": 80}],
            "timeouts": {"request": "45s"},
        }
    ]


def test_openshift_route() -> None:
    cfg = config(gateway={"flavor": "openshift-route"})
    rt = route(rateLimit={"requestsPerMinute": 100}, timeoutSeconds=20, tls={"secretName": "wallet-tls"})
    route_obj = render(rt, cfg)["Route"]
    assert route_obj["apiVersion"] == "route.openshift.io/v1"
    assert route_obj["spec"] == {
        "host": "identity.wallet.example.be",
        "path": "/identity/v1",
        "to": {"kind": "Service", "name": "identity", "weight": 100},
        "port": {"targetPort": "http"},
        "tls": {
            "termination": "edge",
            "insecureEdgeTerminationPolicy": "Redirect",
            "externalCertificate": {"name": "wallet-tls"},
        },
        "wildcardPolicy": "None",
    }
    annotations = route_obj["metadata"]["annotations"]
    assert annotations["haproxy.router.openshift.io/timeout"] == "20s"
    assert annotations["haproxy.router.openshift.io/rate-limit-connections"] == "true"
    assert annotations["haproxy.router.openshift.io/rate-limit-connections.rate-http"] == "17"


def test_openshift_route_to_a_service_and_without_tls_secret() -> None:
    cfg = config(gateway={"flavor": "openshift-route"})
    spec = render(route(backend={"service": {"name": "verifier", "port": 8443}}), cfg)["Route"]["spec"]
    assert spec["to"]["name"] == "verifier"
    assert spec["port"] == {"targetPort": 8443}
    assert spec["tls"] == {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}


@pytest.mark.parametrize("flavor", ["ingress", "gateway-api", "openshift-route"])
def test_certificate_with_every_flavor(flavor: str) -> None:
    cfg = config(gateway={"flavor": flavor}, certificates={"certManager": True})
    children = render_gateway_route(route(tls={"issuerRef": {"name": "ca", "kind": "Issuer"}}), tenant(), cfg)
    assert children[0]["kind"] == "Certificate"
    assert len(children) == 2


@pytest.mark.parametrize("flavor", ["ingress", "gateway-api", "openshift-route"])
def test_suspended_tenant_unpublishes_routes(flavor: str) -> None:
    cfg = config(gateway={"flavor": flavor}, certificates={"certManager": True})
    rt = route(tls={"issuerRef": {"name": "ca", "kind": "Issuer"}})
    assert render_gateway_route(rt, tenant(suspended=True), cfg) == []


@pytest.mark.parametrize("flavor", ["ingress", "gateway-api", "openshift-route"])
def test_owner_reference_only_for_live_routes(flavor: str) -> None:
    cfg = config(gateway={"flavor": flavor})
    (offline,) = render_gateway_route(route(), tenant(), cfg)
    assert "ownerReferences" not in offline["metadata"]
    (online,) = render_gateway_route(live(route()), tenant(), cfg)
    assert online["metadata"]["ownerReferences"][0]["kind"] == "GatewayRoute"
