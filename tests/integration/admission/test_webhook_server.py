"""The webhook end to end: the operator (kopf's webhook server, self-signed) against the dev cluster.

The API server's side is played by the test: it posts AdmissionReviews over HTTPS, trusting
only the CA bundle the operator published into the ValidatingWebhookConfiguration.
"""

import asyncio
import base64
import shutil
import socket
import ssl
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import kopf
import pytest

from greenshift.admission import WebhookOptions
from greenshift.commands.install import base_manifests
from greenshift.config import parse_platform_config
from greenshift.devcluster import DevCluster
from greenshift.kube import KubeClient
from greenshift.runner import OperatorOptions, run_operator
from greenshift.schemas import load_crds

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

TIMEOUT = 15.0
CONFIGURATION = "greenshift-webhook"
IMAGE = "registry.greenshift.local/certified/connector-identity:1.0.0"
Body = dict[str, Any]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(probe: Callable[[], Awaitable[Any]], what: str) -> Any:
    async with asyncio.timeout(TIMEOUT):
        while True:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.1)
    raise AssertionError(what)  # pragma: no cover - the timeout raises first


class Webhook:
    """The operator with its webhook, run in a thread (kopf owns its event loop), and a client."""

    def __init__(self, cluster: DevCluster) -> None:
        self.cluster = cluster
        self.port = free_port()
        self.client = KubeClient(kopf.ConnectionInfo(server=cluster.url, insecure=True))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self.ssl: ssl.SSLContext | None = None

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            options = OperatorOptions(
                webhook=WebhookOptions(
                    port=self.port, address="127.0.0.1", host="127.0.0.1", configuration=CONFIGURATION
                ),
            )
            config = parse_platform_config({"kind": "PlatformConfig", "styleGuide": "warn"})
            connection = kopf.ConnectionInfo(server=self.cluster.url, insecure=True)
            await run_operator(config, connection, options, stop_flag=self._stop)

        asyncio.run(main())

    async def start(self) -> None:
        for crd in load_crds():
            await self.client.apply(crd)
        vwc = next(o for o in base_manifests() if o["kind"] == "ValidatingWebhookConfiguration")
        await self.client.request(
            "POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", body=vwc
        )
        self._thread = threading.Thread(target=self._run, name="operator", daemon=True)
        self._thread.start()

        async def published() -> str | None:
            got = await self.client.request(
                "GET",
                f"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{CONFIGURATION}",
            )
            bundles = {w["clientConfig"].get("caBundle") for w in (got or {}).get("webhooks", [])}
            return bundles.pop() if len(bundles) == 1 and None not in bundles else None

        bundle = await eventually(published, "the operator published its CA bundle")
        self.ssl = ssl.create_default_context(cadata=base64.b64decode(bundle).decode())

    async def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, TIMEOUT)
        await self.client.close()

    async def review(self, path: str, obj: Body, operation: str = "CREATE", old: Body | None = None) -> Body:
        """What the API server would get back for ``obj`` (an AdmissionReview response)."""
        plural = {"WalletTenant": "wallettenants", "DocumentSource": "documentsources"}.get(
            obj["kind"], "gatewayroutes"
        )
        request = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": str(uuid.uuid4()),
                "kind": {"group": "greenshift.io", "version": "v1alpha1", "kind": obj["kind"]},
                "resource": {"group": "greenshift.io", "version": "v1alpha1", "resource": plural},
                "operation": operation,
                "userInfo": {"username": "alice"},
                "namespace": obj["metadata"].get("namespace"),
                "name": obj["metadata"]["name"],
                "object": obj,
                "oldObject": old,
                "dryRun": False,
            },
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"https://127.0.0.1:{self.port}/{path}", json=request, ssl=self.ssl) as response,
        ):
            assert response.status == 200, await response.text()
            body: Body = await response.json()
            assert body["response"]["uid"] == request["request"]["uid"]
            return body["response"]  # type: ignore[no-any-return]


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    async with DevCluster() as cluster:
        hook = Webhook(cluster)
        try:
            await hook.start()
            yield hook
        finally:
            await hook.stop()


def tenant(name: str) -> Body:
    return {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "WalletTenant",
        "metadata": {"name": name},
        "spec": {
            "displayName": "Tenant",
            "agency": "BOSA",
            "owners": [{"kind": "Group", "name": "admins"}],
            "allowedHosts": [f"*.{name}.example.be"],
        },
    }


def source(namespace: str, image: str = IMAGE) -> Body:
    return {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "DocumentSource",
        "metadata": {"name": "identity", "namespace": namespace},
        "spec": {
            "documentType": "identity",
            "displayName": "Identity",
            "upstream": {"url": "https://fsb.example.be/identity"},
            "connector": {"image": image},
        },
    }


def route(namespace: str, host: str, path: str = "/identity/v1") -> Body:
    return {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "GatewayRoute",
        "metadata": {"name": "identity", "namespace": namespace},
        "spec": {
            "host": host,
            "pathPrefix": path,
            "backend": {"documentSource": {"name": "identity"}},
            "authentication": {"type": "none"},
        },
    }


async def test_refuses_over_https_what_the_rules_refuse_and_admits_the_rest(webhook: Webhook) -> None:
    await webhook.client.apply(tenant("bosa"))

    async def admitted() -> bool:
        answer = await webhook.review("validate-documentsource", source("wallet-bosa"))
        return bool(answer["allowed"])

    await eventually(admitted, "the webhook knows the tenant")

    refused = await webhook.review("validate-documentsource", source("wallet-bosa", "docker.io/x/y:latest"))
    assert refused["allowed"] is False
    assert refused["status"]["code"] == 422
    message = refused["status"]["message"]
    assert message.startswith("DocumentSource wallet-bosa/identity is refused: spec.connector.image: ")
    assert "not from a certified registry" in message
    assert "not pinned" in message

    orphan = await webhook.review("validate-documentsource", source("elsewhere"))
    assert orphan["allowed"] is False
    assert "metadata.namespace: namespace elsewhere belongs to no WalletTenant" in orphan["status"]["message"]

    foreign = await webhook.review("validate-gatewayroute", route("wallet-bosa", "www.other.example.be"))
    assert foreign["allowed"] is False
    assert "spec.host: host www.other.example.be is not allowed" in foreign["status"]["message"]

    styled = await webhook.review(
        "validate-gatewayroute", route("wallet-bosa", "id.bosa.example.be", "/Identity")
    )
    assert styled["allowed"] is True  # styleGuide warn: admitted, with the warning kubectl prints
    assert any("not lowerCamelCase" in w for w in styled["warnings"])

    clash = await webhook.review(
        "validate-wallettenant",
        {**tenant("copycat"), "spec": {**tenant("copycat")["spec"], "namespace": "wallet-bosa"}},
    )
    assert clash["allowed"] is False
    assert "already belongs to WalletTenant bosa" in clash["status"]["message"]


async def test_updates_that_leave_the_spec_alone_always_pass(webhook: Webhook) -> None:
    """Finalizers and labels of a resource that became invalid must stay writable."""
    await webhook.client.apply(tenant("rsz"))
    bad = source("nowhere", "docker.io/x/y:latest")
    relabelled = {**bad, "metadata": {**bad["metadata"], "labels": {"team": "a"}, "finalizers": []}}
    answer = await webhook.review("validate-documentsource", relabelled, operation="UPDATE", old=bad)
    assert answer["allowed"] is True
