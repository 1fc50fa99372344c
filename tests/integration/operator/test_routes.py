"""GatewayRoute acceptance: conflicts and takeover, backends, NoTenant, hosts, the style guide (warn)."""

import pytest

from .conftest import (
    INGRESSES,
    NAMESPACES,
    ROUTES,
    SERVICES,
    SOURCES,
    Kube,
    Operator,
    apply_when_possible,
    condition,
    next_second,
    onboard,
    route,
    service,
    source,
    tenant,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_conflict_older_route_keeps_the_host_then_the_other_takes_over(
    kube: Kube, operator: Operator
) -> None:
    host = f"{unique('shared')}.wallet.example.be"
    # "newer" sorts first by namespace: only the creation time makes "older" the holder.
    first, second = unique("older"), unique("newer")
    for name in (first, second):
        await onboard(kube, name, allowedHosts=[host])
        await apply_when_possible(kube, service(f"wallet-{name}", "api"))
    backend = {"service": {"name": "api", "port": 8080}}
    created = await kube.apply(route(f"wallet-{first}", "docs", host, "/docs", backend))
    await kube.wait_ready(ROUTES, f"wallet-{first}", "docs")
    await next_second(created["metadata"]["creationTimestamp"])
    await kube.apply(route(f"wallet-{second}", "docs", host, "/docs", backend))

    loser = await kube.wait_reason(ROUTES, f"wallet-{second}", "docs", "False", "RouteConflict")
    assert f"wallet-{first}/docs" in condition(loser, "Ready")["message"]
    assert condition(loser, "Accepted")["reason"] == "RouteConflict"
    assert "url" not in loser["status"]
    assert await kube.get(INGRESSES, f"wallet-{second}", "docs") is None
    assert condition(await kube.must_get(ROUTES, f"wallet-{first}", "docs"), "Ready")["status"] == "True"

    await kube.delete(ROUTES, f"wallet-{first}", "docs")
    winner = await kube.wait_ready(ROUTES, f"wallet-{second}", "docs")
    assert winner["status"]["url"] == f"https://{host}/docs"
    await kube.wait(INGRESSES, f"wallet-{second}", "docs")
    await kube.wait_gone(INGRESSES, f"wallet-{first}", "docs")


async def test_a_trailing_slash_or_sub_path_of_another_tenants_route_is_a_conflict(
    kube: Kube, operator: Operator
) -> None:
    """Issue 16, item 1: a second tenant allowed the same host cannot take a route's traffic with
    /docs/v1/ or /docs/v1/tokens; once the victim's route goes, the next oldest takes the host."""
    host = f"{unique('nested')}.wallet.example.be"
    victim, attacker = unique("victim"), unique("attacker")
    for name in (victim, attacker):
        await onboard(kube, name, allowedHosts=[host])
        await apply_when_possible(kube, service(f"wallet-{name}", "api"))
    backend = {"service": {"name": "api", "port": 8080}}
    created = await kube.apply(route(f"wallet-{victim}", "docs", host, "/docs/v1", backend))
    await kube.wait_ready(ROUTES, f"wallet-{victim}", "docs")
    await next_second(created["metadata"]["creationTimestamp"])
    for name, path in (("slash", "/docs/v1/"), ("tokens", "/docs/v1/tokens")):
        await kube.apply(route(f"wallet-{attacker}", name, host, path, backend))
    for name in ("slash", "tokens"):
        loser = await kube.wait_reason(ROUTES, f"wallet-{attacker}", name, "False", "RouteConflict")
        assert f"wallet-{victim}/docs" in condition(loser, "Ready")["message"]
        assert await kube.get(INGRESSES, f"wallet-{attacker}", name) is None
    assert condition(await kube.must_get(ROUTES, f"wallet-{victim}", "docs"), "Ready")["status"] == "True"

    await kube.delete(ROUTES, f"wallet-{victim}", "docs")
    await kube.wait_ready(ROUTES, f"wallet-{attacker}", "slash")  # the attacker's own two do not collide
    await kube.wait_ready(ROUTES, f"wallet-{attacker}", "tokens")


async def test_older_route_claiming_a_published_host_takes_it(kube: Kube, operator: Operator) -> None:
    """The holder is woken when an older route edits its way onto the same host and path."""
    name = unique("edit-claim")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await apply_when_possible(kube, service(ns, "api"))
    backend = {"service": {"name": "api", "port": 8080}}
    created = await kube.apply(route(ns, "a", host, "/first", backend))
    await next_second(created["metadata"]["creationTimestamp"])
    await kube.apply(route(ns, "b", host, "/second", backend))
    await kube.wait_ready(ROUTES, ns, "b")

    await kube.apply(route(ns, "a", host, "/second", backend))
    await kube.wait(ROUTES, ns, "a", lambda r: r["status"].get("url") == f"https://{host}/second")
    loser = await kube.wait_reason(ROUTES, ns, "b", "False", "RouteConflict")
    assert f"{ns}/a" in condition(loser, "Ready")["message"]
    await kube.wait_gone(INGRESSES, ns, "b")


async def test_external_name_backend_is_not_allowed(kube: Kube, operator: Operator) -> None:
    name = unique("extname")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await apply_when_possible(kube, service(ns, "outside", type="ExternalName", externalName="evil.example"))
    await kube.apply(route(ns, "out", host, "/out", {"service": {"name": "outside", "port": 8080}}))
    refused = await kube.wait_reason(ROUTES, ns, "out", "False", "BackendNotAllowed")
    assert "ExternalName" in condition(refused, "Ready")["message"]
    assert await kube.get(INGRESSES, ns, "out") is None


async def test_missing_backend_then_created_and_resolved_in_the_route_namespace_only(
    kube: Kube, operator: Operator
) -> None:
    name, other = unique("nobackend"), unique("elsewhere")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await onboard(kube, other)
    # A Service of that name in another namespace does not satisfy the route.
    await apply_when_possible(kube, service(f"wallet-{other}", "api"))
    await apply_when_possible(kube, route(ns, "r", host, "/api", {"service": {"name": "api", "port": 8080}}))
    missing = await kube.wait_reason(ROUTES, ns, "r", "False", "BackendNotFound")
    assert ns in condition(missing, "Ready")["message"]
    assert await kube.get(INGRESSES, ns, "r") is None

    await kube.apply(service(ns, "api"))
    await kube.wait_ready(ROUTES, ns, "r")
    ingress = await kube.must_get(INGRESSES, ns, "r")
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "api"

    await kube.delete(SERVICES, ns, "api")
    await kube.wait_reason(ROUTES, ns, "r", "False", "BackendNotFound")
    await kube.wait_gone(INGRESSES, ns, "r")


async def test_a_route_to_a_blocked_source_still_says_backend_not_found(
    kube: Kube, operator: Operator
) -> None:
    """A route waits for its source's Service only while the source is still to be reconciled."""
    name = unique("blocked-backend")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await apply_when_possible(kube, source(ns, "docs", connector={"image": "docker.io/library/nginx:1.27"}))
    await kube.wait_reason(SOURCES, ns, "docs", "False", "ImageNotCertified")
    await kube.apply(route(ns, "pub", host, "/docs", {"documentSource": {"name": "docs"}}))
    missing = await kube.wait_reason(ROUTES, ns, "pub", "False", "BackendNotFound")
    assert "Service of DocumentSource docs" in condition(missing, "Ready")["message"]


async def test_no_tenant_until_a_tenant_claims_the_namespace(kube: Kube, operator: Operator) -> None:
    ns = unique("orphan")
    host = f"{ns}.wallet.example.be"
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    await kube.apply(source(ns, "docs"))
    await kube.apply(route(ns, "pub", host, "/docs", {"documentSource": {"name": "docs"}}))
    orphan = await kube.wait_reason(SOURCES, ns, "docs", "False", "NoTenant")
    assert condition(orphan, "Available")["reason"] == "NoTenant"
    await kube.wait_reason(ROUTES, ns, "pub", "False", "NoTenant")

    # A tenant does not adopt a namespace it did not make, unless it is labelled for it.
    name = unique("claimer")
    await kube.patch(NAMESPACES, None, ns, {"metadata": {"labels": {"greenshift.io/tenant": name}}})
    await kube.apply(tenant(name, namespace=ns, allowedHosts=[host]))
    await kube.wait_ready(SOURCES, ns, "docs")
    published = await kube.wait_ready(ROUTES, ns, "pub")
    assert published["status"]["url"] == f"https://{host}/docs"


async def test_host_not_allowed(kube: Kube, operator: Operator) -> None:
    name = unique("hosts")
    ns = f"wallet-{name}"
    await onboard(kube, name, allowedHosts=["*.mine.example.be"])
    await apply_when_possible(kube, service(ns, "api"))
    backend = {"service": {"name": "api", "port": 8080}}
    await kube.apply(route(ns, "theirs", "api.theirs.example.be", "/api", backend))
    await kube.apply(route(ns, "mine", "api.mine.example.be", "/api", backend))
    refused = await kube.wait_reason(ROUTES, ns, "theirs", "False", "HostNotAllowed")
    assert "api.theirs.example.be" in condition(refused, "Ready")["message"]
    assert await kube.get(INGRESSES, ns, "theirs") is None
    await kube.wait_ready(ROUTES, ns, "mine")


async def test_style_guide_warn_publishes_with_a_warning(kube: Kube, operator: Operator) -> None:
    name = unique("style")
    ns, host = f"wallet-{name}", f"{name}.wallet.example.be"
    await onboard(kube, name, allowedHosts=[host])
    await apply_when_possible(kube, service(ns, "api"))
    await kube.apply(
        route(ns, "legacy", host, "/Legacy_Docs/v2.1", {"service": {"name": "api", "port": 8080}})
    )
    published = await kube.wait_ready(ROUTES, ns, "legacy")
    for kind in ("Ready", "Accepted"):
        assert "lowerCamelCase" in condition(published, kind)["message"], kind
    await kube.must_get(INGRESSES, ns, "legacy")
