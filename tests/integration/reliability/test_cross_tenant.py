"""Issue 6.5: cross-tenant attacks are refused by the admission webhook (and the schema the API
server enforces) and again by the reconcile, and none of them changes the victim tenant."""

from typing import Any

import pytest

from greenshift.admission import admission_problems
from greenshift.admission.review import review_gateway_route
from greenshift.controllers.context import Context
from greenshift.controllers.wiring import Runtime
from greenshift.kube import PermanentApiError
from integration.operator.conftest import (
    DEPLOYMENTS,
    ROUTES,
    SOURCES,
    Body,
    apply_when_possible,
    next_second,
    onboard,
    route,
    service,
    source,
)

from .conftest import Platform, platform, schema_validator, settle, snapshot

HOSTS_A = ["a.wallet.example.be", "shared.wallet.example.be"]
HOSTS_B = ["b.wallet.example.be", "shared.wallet.example.be"]
A, B = "wallet-victim", "wallet-attacker"


async def _webhook(p: Platform, body: Body) -> list[tuple[str, str]]:
    """What the webhook's review of a CREATE says: (reason, field) of each error."""

    async def review() -> list[tuple[str, str]]:
        runtime: Runtime | None = p.operator.runtime
        assert runtime is not None
        ctx: Context | None = runtime.context
        assert ctx is not None
        problems = admission_problems(ctx, review_gateway_route, "CREATE", None, body)
        return [(pr.reason, pr.field) for pr in problems if pr.severity == "error"]

    return await p.operator.call(review())


def _victim_view(snap: dict[tuple[str, str, str], Body]) -> dict[tuple[str, str, str], Body]:
    return {key: obj for key, obj in snap.items() if key[1] == A or key[2] in ("victim", A)}


@pytest.fixture
def attacks() -> list[tuple[str, Body, str]]:
    """(what, the attacker's route, the reason both the webhook and the reconcile give)."""
    return [
        (
            "a host of another tenant",
            route(
                B,
                "steal-host",
                "a.wallet.example.be",
                "/identity/v1",
                {"service": {"name": "web", "port": 8080}},
            ),
            "HostNotAllowed",
        ),
        (
            "a host+path already held",
            route(
                B,
                "steal-path",
                "shared.wallet.example.be",
                "/docs/v1",
                {"service": {"name": "web", "port": 8080}},
            ),
            "RouteConflict",
        ),
        (
            "an ExternalName Service",
            route(B, "external", "b.wallet.example.be", "/out/v1", {"service": {"name": "ext", "port": 443}}),
            "BackendNotAllowed",
        ),
    ]


async def test_cross_tenant_attacks_are_refused_twice_and_leave_the_victim_alone(
    attacks: list[tuple[str, Body, str]],
) -> None:
    async with platform(validator=schema_validator) as p:
        kube = p.kube
        await onboard(kube, "victim", allowedHosts=HOSTS_A)
        await onboard(kube, "attacker", allowedHosts=HOSTS_B)
        await apply_when_possible(kube, service(A, "secret-backend"))
        await apply_when_possible(kube, source(A, "identity"))
        await kube.apply(
            route(
                A, "identity", "a.wallet.example.be", "/identity/v1", {"documentSource": {"name": "identity"}}
            )
        )
        await kube.apply(
            route(A, "docs", "shared.wallet.example.be", "/docs/v1", {"documentSource": {"name": "identity"}})
        )
        await kube.wait_ready(ROUTES, A, "identity")
        held = await kube.wait_ready(ROUTES, A, "docs")
        # The platform orders claims by creationTimestamp (1 s resolution), then namespace/name:
        # the attack comes in a later second than the claim it tries to take over.
        await next_second(held["metadata"]["creationTimestamp"])
        await apply_when_possible(kube, service(B, "web"))
        await kube.apply(
            service(
                B,
                "ext",
                type="ExternalName",
                externalName="victim.example.com",
                ports=[{"name": "https", "port": 443}],
            )
        )
        await settle(p)
        before = _victim_view(await snapshot(kube))

        refused = 0
        for what, attack, reason in attacks:
            assert reason in [r for r, _ in await _webhook(p, attack)], what
            await kube.apply(attack)  # the dev cluster has no webhooks: the reconcile must refuse again
            await kube.wait_reason(ROUTES, B, attack["metadata"]["name"], "False", reason)
            refused += 2

        # A Service of another namespace: a route names a Service only by name, in its own namespace.
        cross = route(
            B,
            "cross-ns",
            "b.wallet.example.be",
            "/x/v1",
            {"service": {"name": "secret-backend", "port": 8080}},
        )
        await kube.apply(cross)
        await kube.wait_reason(ROUTES, B, "cross-ns", "False", "BackendNotFound")
        for backend in (
            {"name": f"{A}/secret-backend", "port": 8080},
            {"name": "secret-backend", "port": 8080, "namespace": A},
        ):
            sneaky = route(B, "cross-ns-2", "b.wallet.example.be", "/y/v1", {"service": backend})
            with pytest.raises(PermanentApiError) as refusal:
                await kube.apply(sneaky)
            assert refusal.value.status == 422
            refused += 1

        # A credentials Secret of another namespace: only a name, mounted from the source's own namespace.
        for name in (f"{A}/credentials", "../credentials", "credentials/../../x"):
            sneaky_source = source(
                B, "creds", upstream={"url": "https://x.example.be", "credentialsSecretRef": {"name": name}}
            )
            with pytest.raises(PermanentApiError) as refusal:
                await kube.apply(sneaky_source)
            assert refusal.value.status == 422
            refused += 1
        await kube.apply(
            source(
                B,
                "creds",
                upstream={"url": "https://x.example.be", "credentialsSecretRef": {"name": "credentials"}},
            )
        )
        await kube.wait(SOURCES, B, "creds", lambda o: bool(o.get("status")))
        deployment = await kube.wait(DEPLOYMENTS, B, "creds")
        secrets = _secret_volumes(deployment)
        assert secrets == ["credentials"]
        assert deployment["metadata"]["namespace"] == B

        after = _victim_view(await snapshot(kube))
        print(f"\nFIGURES cross-tenant: refusals={refused} victim_objects={len(before)}")
        assert after == before


def _secret_volumes(deployment: Body) -> list[Any]:
    volumes = deployment["spec"]["template"]["spec"].get("volumes") or []
    return [v["secret"]["secretName"] for v in volumes if "secret" in v]
