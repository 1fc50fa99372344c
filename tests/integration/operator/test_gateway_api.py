"""The gateway-api flavor with cert-manager: HTTPRoutes, and Certificates for tls.issuerRef."""

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
    onboard,
    route,
    source,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def platform_config() -> PlatformConfig:
    return parse_platform_config(
        {"gateway": {"flavor": "gateway-api"}, "certificates": {"certManager": True}}
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
