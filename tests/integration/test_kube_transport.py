"""The client's transport on the real API server (envtest): ``tls-server-name``.

The envtest server's certificate names ``127.0.0.1`` and ``localhost`` only; a relay on
``127.0.0.2`` (also loopback on Linux, and not in the certificate) reaches it by another
address.
"""

import asyncio
import contextlib
import pathlib
import ssl
import uuid
from collections.abc import AsyncIterator
from typing import Any

import kopf
import pytest
import yaml
from kopf._cogs.clients.auth import APIContext  # the session kopf's own requests and watches use

from greenshift.envtest import ADMIN, ControlPlane
from greenshift.kube import ApiError, KubeClient, ref_of_kind
from greenshift.kube.client import Connection, connect

NAMESPACES = ref_of_kind("v1", "Namespace")
CONFIGMAPS = ref_of_kind("v1", "ConfigMap")
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


class Relay:
    """Forwards every connection to ``upstream``, byte for byte."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


@contextlib.asynccontextmanager
async def listening(handler: Any, host: str = "127.0.0.1") -> AsyncIterator[int]:
    """A server of ``handler`` on a free port; on leaving, the connections it still serves are
    closed and their handlers end (rather than being cancelled when the loop closes)."""
    served: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        served[task] = writer
        try:
            await handler(reader, writer)
        finally:
            served.pop(task, None)

    server = await asyncio.start_server(tracked, host, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        if served:
            await asyncio.wait(served, timeout=1.0)
        for writer in list(served.values()):
            writer.close()
        if served:
            await asyncio.wait(served, timeout=5.0)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variables and no in-cluster service account: only what a test sets counts."""
    for name in (*PROXY_VARIABLES, "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def write_kubeconfig(
    plane: ControlPlane, path: pathlib.Path, *, server: str | None = None, user: str = ADMIN, **cluster: Any
) -> pathlib.Path:
    """The plane's kubeconfig with another ``server`` and more cluster fields (``tls-server-name``,
    ``proxy-url``); ``user: {...}`` entries replace the user's."""
    config = plane.kubeconfig(user)
    entry = config["clusters"][0]["cluster"]
    entry["server"] = server or plane.url
    entry.update(cluster)
    path.write_text(yaml.safe_dump(config))
    return path


def use_kubeconfig(monkeypatch: pytest.MonkeyPatch, path: pathlib.Path) -> Connection:
    monkeypatch.setenv("KUBECONFIG", str(path))
    return connect()


async def first_event(client: KubeClient) -> dict[str, Any]:
    """The first event of a ConfigMap watch: of one this writes after the list it starts from."""
    _, version = await client.list_with_version(CONFIGMAPS, "default")
    name = f"transport-{uuid.uuid4().hex[:8]}"
    await client.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}}
    )
    async for event in client.watch(
        CONFIGMAPS, namespace="default", resource_version=version, timeout_seconds=10
    ):
        assert event["object"]["metadata"]["name"] == name, event
        return event
    raise AssertionError("the watch ended without an event")


async def kopf_version(info: kopf.ConnectionInfo) -> int:
    """GET /version through the aiohttp session kopf builds from ``info`` for its own requests."""
    context = APIContext(info)
    try:
        async with context.session.get(f"{info.server}/version") as response:
            await response.read()
            return response.status
    finally:
        await context.close()


# -- tls-server-name ------------------------------------------------------------------------------


async def test_tls_server_name_is_what_the_certificate_is_checked_against(
    control_plane: ControlPlane, tmp_path: pathlib.Path, clean_environment: pytest.MonkeyPatch
) -> None:
    async with listening(Relay(("127.0.0.1", control_plane.port)).handle, "127.0.0.2") as port:
        elsewhere = f"https://127.0.0.2:{port}"  # the API server, by an address not in its certificate
        path = write_kubeconfig(
            control_plane, tmp_path / "named", server=elsewhere, **{"tls-server-name": "localhost"}
        )
        named = use_kubeconfig(clean_environment, path)
        assert named.tls_server_name == "localhost"
        async with KubeClient(named) as client:
            assert (await client.get(NAMESPACES, None, "default") or {})["metadata"]["name"] == "default"
            assert (await first_event(client))["type"] == "ADDED"  # the watch's aiohttp honours it too
        assert await kopf_version(named) == 200  # and kopf's own session

        plain = use_kubeconfig(
            clean_environment, write_kubeconfig(control_plane, tmp_path / "plain", server=elsewhere)
        )
        assert plain.tls_server_name is None
        async with KubeClient(plain) as client:
            with pytest.raises(ApiError) as request_error:
                await client.get(NAMESPACES, None, "default")
            with pytest.raises(ApiError) as watch_error:
                await first_event(client)
        with pytest.raises(ssl.SSLCertVerificationError):
            await kopf_version(plain)
    for error in (request_error.value, watch_error.value):
        assert error.reason == "NetworkError"
        assert "CERTIFICATE_VERIFY_FAILED" in error.message
        assert "127.0.0.2" in error.message  # "IP address mismatch, certificate is not valid for '127.0.0.2'"


# -- proxies ---------------------------------------------------------------------------------------
