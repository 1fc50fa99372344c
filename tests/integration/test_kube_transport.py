"""The client's transport on the real API server (envtest): ``tls-server-name``, proxies (the
kubeconfig's ``proxy-url`` and the environment's), and a token file read again when it changes.

The envtest server's certificate names ``127.0.0.1`` and ``localhost`` only; a relay on
``127.0.0.2`` (also loopback on Linux, and not in the certificate) reaches it by another
address. The proxy is a tiny CONNECT proxy written here: it tunnels every CONNECT to the API
server, whatever host it names, and counts the tunnels and the credentials it was given.
"""

import asyncio
import base64
import contextlib
import os
import pathlib
import ssl
import uuid
from collections.abc import AsyncIterator
from typing import Any

import kopf
import pytest
import uvloop
import yaml
from kopf._cogs.clients.auth import APIContext  # the session kopf's own requests and watches use

from greenshift.envtest import ADMIN, OPERATOR, ControlPlane
from greenshift.kube import ApiError, KubeClient, ref_of_kind
from greenshift.kube.client import Connection, connect
from greenshift.kube.http1 import Http1Pool, parse_proxy

NAMESPACES = ref_of_kind("v1", "Namespace")
CONFIGMAPS = ref_of_kind("v1", "ConfigMap")
WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")
ELSEWHERE = "apiserver.greenshift.test"  # not resolvable (.test is reserved), not in the certificate


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


class ConnectProxy:
    """An HTTP CONNECT proxy that tunnels to ``upstream`` whatever the CONNECT names; with
    ``credentials`` (``user:password``) it answers 407 to a request without them."""

    def __init__(self, upstream: tuple[str, int], *, credentials: str | None = None) -> None:
        self.upstream = upstream
        self.credentials = credentials
        self.requests: list[tuple[str, str, str | None]] = []  # method, target, Proxy-Authorization
        self.tunnels = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        request_line, *lines = head.split("\r\n")
        method, target, _ = request_line.split(" ")
        fields = {name.strip().lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)}
        authorization = fields.get("proxy-authorization")
        self.requests.append((method, target, authorization))
        if method != "CONNECT":
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            writer.close()
            return
        expected = self.credentials and "Basic " + base64.b64encode(self.credentials.encode()).decode()
        if expected and authorization != expected:
            writer.write(
                b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self.tunnels += 1
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    @property
    def targets(self) -> set[str]:
        return {target for method, target, _ in self.requests if method == "CONNECT"}


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


async def whoami(client: KubeClient) -> str:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    review = await client.request("POST", WHOAMI, body=body) or {}
    return str(review["status"]["userInfo"]["username"])


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


async def test_the_kubeconfigs_proxy_url_carries_every_connection_with_its_credentials(
    control_plane: ControlPlane, tmp_path: pathlib.Path, clean_environment: pytest.MonkeyPatch
) -> None:
    proxy = ConnectProxy(("127.0.0.1", control_plane.port), credentials="greenshift:s3cret pass")
    async with listening(proxy.handle) as port:
        path = write_kubeconfig(
            control_plane,
            tmp_path / "kubeconfig",
            **{"proxy-url": f"http://greenshift:s3cret%20pass@127.0.0.1:{port}"},
        )
        info = use_kubeconfig(clean_environment, path)  # a loopback server too: proxy-url has no exception
        async with KubeClient(info) as client:
            assert await whoami(client) == ADMIN
            assert (await client.get(NAMESPACES, None, "default")) is not None  # the same kept-alive tunnel
            tunnels = proxy.tunnels
            assert tunnels == 1
            assert (await first_event(client))["type"] == "ADDED"  # a watch: a tunnel of its own
            assert proxy.tunnels == tunnels + 1
        assert await kopf_version(info) == 200
    assert proxy.tunnels == 3
    assert proxy.targets == {f"127.0.0.1:{control_plane.port}"}
    expected = "Basic " + base64.b64encode(b"greenshift:s3cret pass").decode()
    assert {authorization for _, _, authorization in proxy.requests} == {expected}


async def test_the_environments_proxy_and_no_proxy(
    control_plane: ControlPlane, tmp_path: pathlib.Path, clean_environment: pytest.MonkeyPatch
) -> None:
    env = clean_environment
    proxy = ConnectProxy(("127.0.0.1", control_plane.port))  # it reaches ELSEWHERE, the client cannot
    async with listening(proxy.handle) as port:
        env.setenv("HTTPS_PROXY", f"127.0.0.1:{port}")  # no scheme: http://, as Go reads it
        env.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # for plain http servers only
        path = write_kubeconfig(
            control_plane, tmp_path / "kubeconfig", server=f"https://{ELSEWHERE}:{control_plane.port}",
            **{"tls-server-name": "localhost"},
        )  # fmt: skip
        info = use_kubeconfig(env, path)
        assert info.proxy == f"http://127.0.0.1:{port}"
        assert info.proxy_url == f"http://anonymous@127.0.0.1:{port}"  # kopf's: see below
        async with KubeClient(info) as client:
            assert await whoami(client) == ADMIN
            assert (await first_event(client))["type"] == "ADDED"
        assert await kopf_version(info) == 200
        assert proxy.tunnels == 3
        assert proxy.targets == {f"{ELSEWHERE}:{control_plane.port}"}
        anonymous = "Basic " + base64.b64encode(b"anonymous:").decode()
        # Ours send no credentials; kopf's aiohttp would send its bearer token without the placeholder.
        assert sorted(authorization or "" for _, _, authorization in proxy.requests) == ["", "", anonymous]

        env.setenv("no_proxy", "example.org")  # NO_PROXY wins over no_proxy unless empty
        env.setenv("NO_PROXY", f"10.0.0.0/8, .example.com, greenshift.test:{control_plane.port}")
        excluded = use_kubeconfig(env, path)
        assert (excluded.proxy, excluded.proxy_url) == (None, None)
        async with KubeClient(excluded) as client:
            with pytest.raises(ApiError) as direct:  # the client resolves ELSEWHERE itself: it cannot
                await client.get(NAMESPACES, None, "default")
        assert direct.value.reason == "NetworkError"
        assert "ProxyError" not in direct.value.message

        env.setenv("NO_PROXY", "")
        loopback = use_kubeconfig(env, write_kubeconfig(control_plane, tmp_path / "loopback"))
        assert loopback.proxy is None  # Go never proxies loopback addresses, nor localhost
        async with KubeClient(
            kopf.ConnectionInfo(
                server=control_plane.url, ca_path=str(control_plane.ca_path), token=control_plane.token()
            )
        ) as client:
            assert await whoami(client) == ADMIN  # a plain ConnectionInfo: the environment applies
    assert proxy.tunnels == 3  # neither the excluded server nor the loopback one went through it


async def test_a_proxy_that_wants_credentials_is_a_clear_error(
    control_plane: ControlPlane, tmp_path: pathlib.Path, clean_environment: pytest.MonkeyPatch
) -> None:
    proxy = ConnectProxy(("127.0.0.1", control_plane.port), credentials="greenshift:right")
    async with listening(proxy.handle) as port:
        for proxy_url, hint in [
            (f"http://127.0.0.1:{port}", "it asks for credentials"),
            (f"http://greenshift:wrong@127.0.0.1:{port}", "it refused the credentials of its URL"),
        ]:
            path = write_kubeconfig(control_plane, tmp_path / "kubeconfig", **{"proxy-url": proxy_url})
            async with KubeClient(use_kubeconfig(clean_environment, path)) as client:
                with pytest.raises(ApiError) as request_error:
                    await client.get(NAMESPACES, None, "default")
                with pytest.raises(ApiError) as watch_error:
                    await first_event(client)
            assert request_error.value.reason == "NetworkError"
            message = request_error.value.message
            assert (
                f"ProxyError: the proxy http://127.0.0.1:{port} refused the tunnel to 127.0.0.1:" in message
            )
            assert "407 Proxy Authentication Required" in message
            assert hint in message
            assert "wrong" not in message  # the credentials are not shown
            assert "ProxyError: the proxy" in watch_error.value.message
            assert "407" in watch_error.value.message
    assert proxy.tunnels == 0


def test_tls_server_name_and_a_tunnel_under_uvloop(
    control_plane: ControlPlane, clean_environment: pytest.MonkeyPatch
) -> None:
    """The operator runs on uvloop: its TLS over a tunnel (start_tls) and the server name too."""
    proxy = ConnectProxy(("127.0.0.1", control_plane.port))

    async def main() -> tuple[str, str]:
        async with listening(proxy.handle) as port:
            info = Connection(
                server=f"https://{ELSEWHERE}:{control_plane.port}",
                ca_path=str(control_plane.ca_path),
                token=control_plane.token(OPERATOR),
                tls_server_name="localhost",
                proxy=f"http://127.0.0.1:{port}",
            )
            async with KubeClient(info) as client:
                return await whoami(client), (await first_event(client))["type"]

    assert uvloop.run(main()) == (OPERATOR, "ADDED")
    assert proxy.tunnels == 2


# -- token files -----------------------------------------------------------------------------------


CHECK = 1.5  # seconds between token file checks: the requests in between take far less


def _swap(path: pathlib.Path, token: str) -> None:
    """Replace the file as the kubelet does: a new file renamed over the old one."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(token)
    os.replace(fresh, path)


async def _rotation(client: KubeClient, path: pathlib.Path, plane: ControlPlane, interval: float) -> None:
    assert await whoami(client) == ADMIN
    _swap(path, plane.token(OPERATOR) + "\n")
    assert await whoami(client) == ADMIN  # within the interval: not looked at
    await asyncio.sleep(interval * 1.2)
    assert await whoami(client) == OPERATOR  # both tokens are valid: no 401 was needed
    # In place, as long as before: the same inode and size, only the modification time tells.
    await asyncio.to_thread(path.write_text, plane.token(ADMIN) + "\n")
    await asyncio.sleep(interval * 1.2)
    assert await whoami(client) == ADMIN


async def test_a_kubeconfig_token_file_is_read_again_when_it_changes(
    control_plane: ControlPlane, tmp_path: pathlib.Path, clean_environment: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "secrets" / "token"
    token.parent.mkdir()
    token.write_text(control_plane.token(ADMIN))
    config = control_plane.kubeconfig(ADMIN)
    config["users"][0]["user"] = {"tokenFile": "secrets/token"}  # relative to the kubeconfig
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    info = use_kubeconfig(clean_environment, path)
    assert info.token_file == str(token)
    async with KubeClient(info, token_check_seconds=CHECK) as client:
        await _rotation(client, token, control_plane, CHECK)


async def test_the_in_cluster_token_file_is_read_again_when_it_changes(
    control_plane: ControlPlane, tmp_path: pathlib.Path, clean_environment: pytest.MonkeyPatch
) -> None:
    from kubernetes.config import incluster_config

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text(control_plane.token(ADMIN))
    ca.write_bytes(control_plane.ca_path.read_bytes())
    clean_environment.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    clean_environment.setenv("KUBERNETES_SERVICE_PORT", str(control_plane.port))
    clean_environment.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    clean_environment.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    info = connect()
    assert (info.server, info.token_file) == (control_plane.url, str(token))
    async with KubeClient(info, token_check_seconds=CHECK) as client:
        await _rotation(client, token, control_plane, CHECK)


# -- the pool through a proxy to a plain HTTP server ---------------------------------------------


async def test_plain_http_through_a_proxy_is_absolute_form_with_its_credentials() -> None:
    seen: list[bytes] = []

    async def forward_proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                seen.append(await reader.readuntil(b"\r\n\r\n"))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        writer.close()

    async with listening(forward_proxy) as port:
        pool = Http1Pool(
            "http://kube.internal:8080/prefix",
            ssl_context=None,
            headers={"Authorization": "Bearer t"},
            limit=1,
            proxy=parse_proxy(f"http://u:p@127.0.0.1:{port}"),
        )
        for _ in range(2):
            assert (await pool.request("GET", "/api/v1/namespaces", None, "")).body == b"{}"
        await pool.close()
    assert len(seen) == 2  # one kept-alive connection to the proxy
    request = seen[0].decode()
    assert request.startswith("GET http://kube.internal:8080/prefix/api/v1/namespaces HTTP/1.1\r\n")
    assert "\r\nHost: kube.internal:8080\r\n" in request
    assert "\r\nProxy-Authorization: Basic dTpw\r\n" in request
