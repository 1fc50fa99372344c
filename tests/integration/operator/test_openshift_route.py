"""The openshift-route flavor, with the style guide enforced."""

import pytest

from greenshift.config import PlatformConfig, parse_platform_config

from .conftest import (
    OPENSHIFT_ROUTES,
    ROUTES,
    Kube,
    Operator,
    apply_when_possible,
    condition,
    onboard,
    route,
    service,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def platform_config() -> PlatformConfig:
    return parse_platform_config({"gateway": {"flavor": "openshift-route"}, "styleGuide": "enforce"})


async def test_openshift_route_published(kube: Kube, operator: Operator) -> None:
    name = unique("ocp")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await apply_when_possible(kube, service(ns, "api"))
    await kube.apply(route(ns, "pub", host, "/documents/v1", {"service": {"name": "api", "port": 8080}}))
    published = await kube.wait_ready(ROUTES, ns, "pub")
    child = await kube.must_get(OPENSHIFT_ROUTES, ns, "pub")
    assert child["spec"]["host"] == host
    assert child["spec"]["path"] == "/documents/v1"
    assert child["spec"]["to"]["name"] == "api"
    assert child["metadata"]["ownerReferences"][0]["uid"] == published["metadata"]["uid"]


async def test_style_guide_enforced(kube: Kube, operator: Operator) -> None:
    name = unique("strict")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await apply_when_possible(kube, service(ns, "api"))
    await kube.apply(route(ns, "bad", host, "/Documents/v1.2", {"service": {"name": "api", "port": 8080}}))
    refused = await kube.wait_reason(ROUTES, ns, "bad", "False", "StyleGuideViolation")
    assert condition(refused, "Accepted")["reason"] == "StyleGuideViolation"
    assert await kube.get(OPENSHIFT_ROUTES, ns, "bad") is None
