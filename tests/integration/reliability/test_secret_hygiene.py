"""Issue 6.6: canary values in referenced Secrets never reach the logs (operator at DEBUG), the
Events, the statuses or any other object; the operator never makes a request on Secrets."""

import base64
import json
import logging
import secrets
from collections.abc import Iterator

import pytest

from greenshift.kube import PermanentApiError, ref_of_kind
from integration.operator.conftest import (
    ROUTES,
    SOURCES,
    TENANTS,
    Kube,
    eventually,
    onboard,
    route,
    source,
    tenant,
)

from .conftest import CHILD_KINDS, CUSTOM_KINDS, platform

EVENTS = ref_of_kind("v1", "Event")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_logs() -> Iterator[Capture]:
    capture = Capture()
    loggers = [logging.getLogger(name) for name in ("", "kopf", "greenshift", "aiohttp")]
    levels = [logger.level for logger in loggers]
    root = logging.getLogger()
    root.addHandler(capture)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


async def _create(kube: Kube, obj: dict[str, object]) -> bool:
    try:
        await kube.client.request(
            "POST", f"/api/v1/namespaces/{obj['metadata']['namespace']}/secrets", body=obj
        )  # type: ignore[index]
    except PermanentApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True


async def test_secret_canaries_appear_nowhere(debug_logs: Capture) -> None:
    canaries = [f"canary-{secrets.token_hex(16)}" for _ in range(3)]
    forms = [*canaries, *(base64.b64encode(c.encode()).decode() for c in canaries)]
    async with platform() as p:
        kube = p.kube
        await onboard(kube, "hygiene", allowedHosts=["hygiene.wallet.example.be"])
        ns = "wallet-hygiene"
        for index, canary in enumerate(canaries):
            secret = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": f"creds-{index}", "namespace": ns},
                "type": "Opaque",
                "data": {"token": base64.b64encode(canary.encode()).decode()},
                "stringData": {"password": canary},
            }
            await eventually(lambda s=secret: _create(kube, s), what="the namespace to accept Secrets")
        p.cluster.request_counts.clear()
        for index in range(3):
            upstream = {
                "url": "https://fsb.example.be/v1",
                "credentialsSecretRef": {"name": f"creds-{index}"},
            }
            await kube.apply(source(ns, f"src-{index}", upstream=upstream, cache={"size": "1Gi"}))
            await kube.apply(
                route(
                    ns,
                    f"api-{index}",
                    "hygiene.wallet.example.be",
                    f"/src{index}/v1",
                    {"documentSource": {"name": f"src-{index}"}},
                )
            )
        for index in range(3):
            await kube.wait_ready(ROUTES, ns, f"api-{index}")
        # a full life: a change, a suspension, a resumption, deletions
        await kube.apply(tenant("hygiene", allowedHosts=["hygiene.wallet.example.be"], suspended=True))
        await kube.wait_reason(ROUTES, ns, "api-0", "False", "TenantSuspended")
        await kube.apply(tenant("hygiene", allowedHosts=["hygiene.wallet.example.be"]))
        await kube.wait_ready(ROUTES, ns, "api-0")
        await kube.delete(SOURCES, ns, "src-2")
        await kube.wait_gone(SOURCES, ns, "src-2")
        await p.operator.resync()

        texts = {
            "logs": "\n".join(debug_logs.lines),
            "events": json.dumps(await kube.list(EVENTS)),
            "statuses": json.dumps([o.get("status") for ref in CUSTOM_KINDS for o in await kube.list(ref)]),
            "objects": json.dumps([o for ref in (*CUSTOM_KINDS, *CHILD_KINDS) for o in await kube.list(ref)]),
        }
        hits = {where: sum(text.count(form) for form in forms) for where, text in texts.items()}
        secret_requests = {key: n for key, n in p.cluster.request_counts.items() if key[1] == "secrets"}
        events = len(json.loads(texts["events"]))
        print(
            f"\nFIGURES secret-hygiene: canaries={len(canaries)} log_lines={len(debug_logs.lines)} "
            f"events={events} canary_hits={hits} secret_requests={secret_requests}"
        )
        assert len(debug_logs.lines) > 100  # the operator did log at DEBUG
        assert "wallet-hygiene/src-0" in texts["logs"]  # about these very sources
        assert events > 0
        assert hits == {"logs": 0, "events": 0, "statuses": 0, "objects": 0}
        assert secret_requests == {}
        assert await kube.get(TENANTS, None, "hygiene") is not None
