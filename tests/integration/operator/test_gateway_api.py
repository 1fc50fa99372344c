"""The gateway-api flavor with cert-manager: HTTPRoutes, and Certificates for tls.issuerRef (only
from the issuers of certificates.allowedIssuers)."""

import pytest

from greenshift.config import PlatformConfig, parse_platform_config

from .conftest import (
    CERTIFICATES,
    HTTPROUTES,
    INGRESSES,
    ROUTES,
    Kube,
    Operator,
    apply_when_possible,
    condition,
    onboard,
    route,
    source,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def platform_config() -> PlatformConfig:
    return parse_platform_config(
        {
            "gateway": {"flavor": "gateway-api"},
            "certificates": {
                "certManager": True,
                "allowedIssuers": [{"kind": "ClusterIssuer", "name": "acme"}],
            },
        }
    )


async def test_http_route_and_certificate_then_secret_name(kube: Kube, operator: Operator) -> None:
    name = unique("gwapi")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await apply_when_possible(kube, source(ns, "docs"))
    issuer = {"issuerRef": {"name": "acme", "kind": "ClusterIssuer"}}
    backend = {"documentSource": {"name": "docs"}}
    await kube.apply(route(ns, "pub", host, "/docs", backend, tls=issuer))
    published = await kube.wait_ready(ROUTES, ns, "pub")
    http_route = await kube.must_get(HTTPROUTES, ns, "pub")
    assert http_route["spec"]["hostnames"] == [host]
    assert http_route["spec"]["parentRefs"][0]["name"] == "wallet-gateway"
    assert http_route["metadata"]["ownerReferences"][0]["uid"] == published["metadata"]["uid"]
    assert await kube.get(INGRESSES, ns, "pub") is None
    certificate = await kube.must_get(CERTIFICATES, ns, "pub")
    assert certificate["spec"]["dnsNames"] == [host]
    assert certificate["spec"]["secretName"] == "pub-tls"
    assert certificate["spec"]["issuerRef"]["name"] == "acme"

    await kube.apply(route(ns, "pub", host, "/docs", backend, tls={"secretName": "own-cert"}))
    await kube.wait_gone(CERTIFICATES, ns, "pub")
    await kube.wait_ready(ROUTES, ns, "pub")

    await kube.delete(ROUTES, ns, "pub")
    await kube.wait_gone(HTTPROUTES, ns, "pub")


async def test_an_issuer_the_platform_does_not_allow_gets_no_certificate(
    kube: Kube, operator: Operator
) -> None:
    """Issue 16, item 8: a route naming a ClusterIssuer not in certificates.allowedIssuers is not
    accepted (IssuerNotAllowed, naming what is allowed), has no Certificate and is unpublished."""
    name = unique("issuer")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await apply_when_possible(kube, source(ns, "docs"))
    backend = {"documentSource": {"name": "docs"}}
    allowed = {"issuerRef": {"name": "acme", "kind": "ClusterIssuer"}}
    await kube.apply(route(ns, "pub", host, "/docs", backend, tls=allowed))
    await kube.wait_ready(ROUTES, ns, "pub")
    await kube.must_get(CERTIFICATES, ns, "pub")

    stranger = {"issuerRef": {"name": "platform-internal-ca", "kind": "ClusterIssuer"}}
    await kube.apply(route(ns, "pub", host, "/docs", backend, tls=stranger))
    refused = await kube.wait_reason(ROUTES, ns, "pub", "False", "IssuerNotAllowed")
    accepted = condition(refused, "Accepted")
    assert (accepted["status"], accepted["reason"]) == ("False", "IssuerNotAllowed")
    assert "ClusterIssuer platform-internal-ca is not allowed" in accepted["message"]
    assert "allowed: ClusterIssuer acme; any Issuer in the route's namespace" in accepted["message"]
    await kube.wait_gone(CERTIFICATES, ns, "pub")
    await kube.wait_gone(HTTPROUTES, ns, "pub")

    await kube.apply(route(ns, "late", host, "/late", backend, tls=stranger))
    await kube.wait_reason(ROUTES, ns, "late", "False", "IssuerNotAllowed")
    assert await kube.get(CERTIFICATES, ns, "late") is None
    assert await kube.get(HTTPROUTES, ns, "late") is None

    own = {"issuerRef": {"name": "tenant-ca", "kind": "Issuer"}}
    await kube.apply(route(ns, "pub", host, "/docs", backend, tls=own))
    await kube.wait_ready(ROUTES, ns, "pub")
    certificate = await kube.must_get(CERTIFICATES, ns, "pub")
    assert certificate["spec"]["issuerRef"]["kind"] == "Issuer"
