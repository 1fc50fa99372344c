"""An asyncio client for exactly what the operator does: apply, patch status, get, list, delete, watch.

It takes kopf's credentials (``kopf.ConnectionInfo``, or its subclass :class:`Connection`, which
adds what kopf's lacks), found as the ecosystem finds them (:func:`connect`: the ``kubernetes``
client's loaders, so kubeconfig exec plugins and auth providers work). A 401 reads the
credentials again (``login``) and retries once: a rotated service-account token or an expired
exec credential is renewed, not fatal. Credentials from a token file (the in-cluster service
account's, or a kubeconfig user's ``tokenFile``) are also read again whenever the file changes,
checked at most every ``TOKEN_CHECK_SECONDS``, without waiting for a 401. Every failure
surfaces as a typed :class:`~greenshift.kube.errors.ApiError`: temporary ones carry the
server's Retry-After.

Of the kubeconfig's cluster entry, besides ``server``, the CA and ``insecure-skip-tls-verify``,
two more fields are honoured as client-go honours them: ``tls-server-name`` (the name the
server's certificate is checked against and the TLS SNI, instead of the URL's host) and
``proxy-url`` (an ``http://`` proxy; ``socks5://`` is refused). Without ``proxy-url``, the
``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` environment variables apply as Go reads them
(``http1.proxy_from_environment``). Both hold for the requests, the watches and kopf's own
requests (kopf takes a :class:`Connection`'s ``proxy_url`` and ``as_ssl_context()``).

Requests go through the lean keep-alive HTTP/1.1 pool of ``http1`` (measured over TLS against
the real API server: 93-99 us of client CPU per request against 175-181 us through aiohttp;
``http1`` says more). Watches go through aiohttp, on connections of their own: a watch holds
its connection for minutes, so watches never wait behind requests, nor requests behind them."""

import asyncio
import base64
import json
import logging
import os
import socket
import ssl
import tempfile
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiohttp
import kopf
import orjson

from greenshift.constants import FIELD_MANAGER
from greenshift.kube.errors import PermanentApiError, api_error
from greenshift.kube.http1 import Http1Pool, Proxy, Response, parse_proxy, proxy_from_environment
from greenshift.kube.resources import ResourceRef, ref_for

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
LIST_PAGE_SIZE = 500
Body = dict[str, Any]
Login = Callable[[], kopf.ConnectionInfo]
logger = logging.getLogger(__name__)

TOKEN_CHECK_SECONDS = 5.0
"""How often, at most, a token file is checked for a change (its inode, mtime and size: one
``stat``, no read, unless it changed). client-go re-reads its token file once a minute; the
kubelet rewrites a projected service-account token when 80 % of its lifetime (an hour by
default) has passed, so the old token stays valid for 12 more minutes and a minute would do.
Five seconds costs one ``stat`` per five seconds and makes a token swapped by hand (or a revoked
one replaced) take effect almost at once; between checks a request pays one clock read."""


@dataclass(frozen=True, kw_only=True)
class Connection(kopf.ConnectionInfo):
    """kopf's credentials and what the kubeconfig or service account adds to them.

    kopf's own client takes ``proxy_url`` and :meth:`as_ssl_context` from here, so its requests
    (discovery, its watch of CRDs) honour the proxy and ``tls_server_name`` too.
    """

    proxy: str | None = None
    """The proxy to go through (``http://[user:password@]host:port``): the kubeconfig's
    ``proxy-url``, else the environment's for this server (:func:`connect` resolves it); None:
    direct. It also sets kopf's ``proxy_url``, with a user part always: aiohttp sends a
    session's default headers to the proxy, its ``Authorization`` (the bearer token) as
    ``Proxy-Authorization``, unless the proxy URL has credentials of its own; a proxy URL
    without them gets the user ``anonymous`` (an empty password) for kopf."""
    tls_server_name: str | None = None
    """The name the server's certificate must carry, and the TLS SNI (the kubeconfig cluster's
    ``tls-server-name``, client-go's ``TLSClientConfig.ServerName``); None: the URL's host."""
    token_file: str | None = None
    """The file the token comes from (the in-cluster service account's, or a kubeconfig user's
    ``tokenFile``), read again when it changes; None: the token never changes by itself."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.proxy:
            proxy = urllib.parse.urlsplit(parse_proxy(self.proxy).url)
            if proxy.username is None:
                proxy = proxy._replace(netloc=f"anonymous@{proxy.netloc}")
            object.__setattr__(self, "proxy_url", proxy.geturl())

    def as_ssl_context(self) -> ssl.SSLContext:
        return _ssl_context(self)


def _headers(info: kopf.ConnectionInfo) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "greenshift-operator"}
    if info.token:
        headers["Authorization"] = f"{info.scheme or 'Bearer'} {info.token}"
    elif info.username and info.password:
        pair = f"{info.username}:{info.password}".encode()
        headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
    return headers


class KubeClient:
    """``limit`` bounds the connections of requests; watches have their own, one each.

    A proxy, ``tls-server-name`` and a token file come from a :class:`Connection` (without a
    proxy there, or with a plain ``kopf.ConnectionInfo``: its ``proxy_url``, else the
    environment's). A token file is checked for a change at most every ``token_check_seconds``.
    """

    def __init__(
        self,
        info: kopf.ConnectionInfo,
        *,
        timeout: float = 30.0,
        limit: int = 64,
        login: Login | None = None,
        token_check_seconds: float = TOKEN_CHECK_SECONDS,
    ) -> None:
        self.server = info.server.rstrip("/")
        self._headers = _headers(info)
        self._login = login
        self._ssl = _ssl_context(info) if self.server.startswith("https") else None
        extra = info if isinstance(info, Connection) else None
        self._server_name = extra.tls_server_name if extra is not None else None
        proxy_url = (extra.proxy if extra is not None else None) or info.proxy_url
        proxy_url = proxy_url or proxy_from_environment(self.server)
        self._proxy: Proxy | None = parse_proxy(proxy_url) if proxy_url else None
        auth = self._proxy.authorization if self._proxy is not None else None
        self._proxy_headers = {"Proxy-Authorization": auth} if auth else None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None  # the watches
        self._pool: Http1Pool | None = None  # every other request (http1.py says why)
        self._token_file = extra.token_file if extra is not None else None
        self._token_check_seconds = token_check_seconds
        self._token_due = 0.0  # when the token file is checked next (time.monotonic)
        self._token_seen: tuple[int, int, int] | None = None  # its inode, mtime and size when read
        if self._token_file is not None:  # the file wins over a token given beside it, as in client-go
            self._check_token_file()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _watches(self) -> aiohttp.ClientSession:
        """The session of the watches: ``tls-server-name`` through the SSL context (aiohttp has no
        such setting of its own), the proxy as aiohttp's (a tunnel; its credentials go in
        ``proxy_headers`` of each watch, the session has no default headers for aiohttp to add
        to the CONNECT)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else False, limit=0)
            proxy = self._proxy.address if self._proxy is not None else None
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector, proxy=proxy)
        return self._session

    def _check_token_file(self) -> bool:
        """Read the token file again if it changed since it was read; True when the token did.

        A file that cannot be read or is empty (a rotation half done) keeps the token in use and
        is tried again at the next check."""
        assert self._token_file is not None
        self._token_due = time.monotonic() + self._token_check_seconds
        try:
            stat = os.stat(self._token_file)
            seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if seen == self._token_seen:
                return False
            with open(self._token_file, encoding="utf-8") as handle:
                token = handle.read().strip()
        except OSError as exc:
            logger.warning("Failed to read the token file %s: %s", self._token_file, exc)
            return False
        if not token:
            logger.warning("The token file %s is empty; the token in use is kept.", self._token_file)
            return False
        self._token_seen = seen
        authorization = f"Bearer {token}"
        if self._headers.get("Authorization") == authorization:
            return False
        self._set_headers({**self._headers, "Authorization": authorization})
        return True

    def _set_headers(self, headers: dict[str, str]) -> None:
        self._headers = headers
        if self._pool is not None:
            self._pool.set_headers(headers)

    def _relogin(self) -> bool:
        """Read the credentials again after a 401; True when they changed (worth one more try)."""
        if self._token_file is not None and self._check_token_file():
            return True
        if self._login is None:
            return False
        try:
            headers = _headers(self._login())
        except Exception as exc:  # the loader's own errors (a missing file, a failing exec plugin)
            logger.warning("Failed to read the credentials again after a 401: %s", exc)
            return False
        if headers == self._headers:
            return False
        self._set_headers(headers)
        return True

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Body | None:
        """One HTTP call; returns the decoded JSON body, ``None`` for an empty one."""
        if self._token_file is not None and time.monotonic() >= self._token_due:
            self._check_token_file()
        data = None if body is None else orjson.dumps(body)
        target = path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        response = await self._send(method, path, target, data, content_type)
        if response.status == 401 and self._relogin():
            response = await self._send(method, path, target, data, content_type)
        if response.status >= 400:
            text = response.body.decode("utf-8", errors="replace")
            raise _error_from(method, path, response.status, text, response.headers.get("retry-after"))
        return orjson.loads(response.body) if response.body else None

    async def _send(
        self, method: str, path: str, target: str, data: bytes | None, content_type: str
    ) -> Response:
        try:
            async with asyncio.timeout(self._timeout.total):
                return await self._requests().request(method, target, data, content_type)
        except (OSError, EOFError, ValueError, TimeoutError) as exc:
            raise api_error(0, "NetworkError", f"{method} {path}: {type(exc).__name__}: {exc}") from None

    def _requests(self) -> Http1Pool:
        if self._pool is None:
            self._pool = Http1Pool(
                self.server,
                ssl_context=self._ssl,
                headers=self._headers,
                limit=self._limit,
                server_name=self._server_name,
                proxy=self._proxy,
            )
        return self._pool

    async def list_pages(
        self,
        ref: ResourceRef,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        limit: int = LIST_PAGE_SIZE,
    ) -> AsyncIterator[tuple[list[Body], str]]:
        """The objects in pages of ``limit`` (as client-go's reflector lists), each with the
        collection's resourceVersion: a caller that handles a page at a time never holds the
        whole collection parsed. A continue token that expired (410) surfaces as an ApiError."""
        params = {"limit": str(limit)}
        if label_selector:
            params["labelSelector"] = label_selector
        while True:
            result = await self.request("GET", ref.path(namespace), params=params) or {}
            items: list[Body] = result.get("items", [])
            for item in items:  # lists omit these per item; callers want whole objects
                item.setdefault("apiVersion", ref.api_version)
                item.setdefault("kind", ref.kind)
            meta = result.get("metadata") or {}
            yield items, str(meta.get("resourceVersion", ""))
            if not meta.get("continue"):
                return
            params = {"limit": str(limit), "continue": str(meta["continue"])}

    async def list_with_version(
        self, ref: ResourceRef, namespace: str | None = None, *, label_selector: str | None = None
    ) -> tuple[list[Body], str]:
        """The objects and the collection's resourceVersion, to start a watch from."""
        objects: list[Body] = []
        version = ""
        async for items, page_version in self.list_pages(ref, namespace, label_selector=label_selector):
            objects.extend(items)
            version = page_version
        return objects, version

    async def watch(
        self,
        ref: ResourceRef,
        *,
        namespace: str | None = None,
        resource_version: str,
        label_selector: str | None = None,
        timeout_seconds: float,
    ) -> AsyncIterator[Body]:
        """The watch events of ``ref`` after ``resource_version``, until the server ends the stream.

        The client gives up 10% (at least 1 s) after the server's timeout, so a stream that
        silently stalls ends too. Errors surface as :class:`ApiError`; an ``ERROR`` event (410
        Gone) is yielded like any other for the caller to re-list.
        """
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(int(timeout_seconds)),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        path = ref.path(namespace)
        timeout = aiohttp.ClientTimeout(total=timeout_seconds + max(1.0, timeout_seconds / 10))
        if self._token_file is not None and time.monotonic() >= self._token_due:
            self._check_token_file()
        try:
            async with self._watches().get(
                self.server + path,
                params=params,
                timeout=timeout,
                headers=self._headers,
                proxy_headers=self._proxy_headers,
            ) as response:
                if response.status >= 400:
                    text = await response.text()
                    raise _error_from(
                        "WATCH", path, response.status, text, response.headers.get("Retry-After")
                    )
                async for line in _lines(response.content):
                    yield orjson.loads(line)
        except aiohttp.ClientHttpProxyError as exc:
            address = self._proxy.address if self._proxy is not None else "?"
            detail = f"the proxy {address} refused the tunnel: {exc.status} {exc.message}"
            raise api_error(0, "NetworkError", f"WATCH {path}: ProxyError: {detail}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise api_error(0, "NetworkError", f"WATCH {path}: {type(exc).__name__}: {exc}") from None

    async def get(self, ref: ResourceRef, namespace: str | None, name: str) -> Body | None:
        try:
            return await self.request("GET", ref.path(namespace, name))
        except PermanentApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def list(
        self, ref: ResourceRef, namespace: str | None = None, *, label_selector: str | None = None
    ) -> list[Body]:
        items, _ = await self.list_with_version(ref, namespace, label_selector=label_selector)
        return items

    async def apply(self, obj: Body, *, subresource: str = "") -> Body:
        """Server-side apply under the operator's single field manager, taking over conflicts."""
        ref = ref_for(obj)
        meta = obj["metadata"]
        path = ref.path(meta.get("namespace"), meta["name"], subresource)
        params = {"fieldManager": FIELD_MANAGER, "force": "true"}
        result = await self.request("PATCH", path, params=params, body=obj, content_type=APPLY)
        return result or {}

    async def merge_patch(
        self, ref: ResourceRef, namespace: str | None, name: str, patch: Body, *, subresource: str = ""
    ) -> Body:
        params = {"fieldManager": FIELD_MANAGER}
        path = ref.path(namespace, name, subresource)
        result = await self.request("PATCH", path, params=params, body=patch, content_type=MERGE)
        return result or {}

    async def delete(
        self, ref: ResourceRef, namespace: str | None, name: str, *, propagation: str = "Background"
    ) -> bool:
        """Delete; ``False`` when it was already gone."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        try:
            await self.request("DELETE", ref.path(namespace, name), body=body)
        except PermanentApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True


async def _lines(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """The non-empty lines of a watch stream, however long: aiohttp's own line reader refuses a
    line over 128 KiB, and an event carries a whole object (a ConfigMap may hold 1 MiB)."""
    pending = b""
    async for chunk in content.iter_any():
        pending += chunk
        if b"\n" not in chunk:
            continue
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                yield line
    if pending.strip():
        yield pending


def _error_from(method: str, path: str, status: int, text: str, retry_after: str | None) -> Exception:
    try:
        payload = json.loads(text)
    except ValueError:
        payload = {}
    reason = str(payload.get("reason") or "") if isinstance(payload, dict) else ""
    message = str(payload.get("message") or text[:200]) if isinstance(payload, dict) else text[:200]
    delay: float | None = None
    if retry_after:
        try:
            delay = max(0.0, float(retry_after))
        except ValueError:
            delay = None
    return api_error(status, reason or f"HTTP{status}", f"{method} {path}: {message}", delay)


class _ServerNameContext(ssl.SSLContext):
    """A client context whose every TLS connection sends ``server_name`` as SNI and checks the
    certificate against it, whatever host name its user passes: aiohttp (the watches, kopf's
    requests) passes the URL's host and has no setting for another. asyncio's and uvloop's TLS
    go through :meth:`wrap_bio`, blocking sockets through :meth:`wrap_socket`."""

    server_name: str

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        return super().wrap_bio(incoming, outgoing, server_side, self.server_name, session)

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        return super().wrap_socket(
            sock, server_side, do_handshake_on_connect, suppress_ragged_eofs, self.server_name, session
        )


def _ssl_context(info: kopf.ConnectionInfo) -> ssl.SSLContext:
    """The client's TLS settings, as client-go makes them: the CA given (only it: the system's
    store only when none is given), no check at all when ``insecure``, the client certificate,
    and a :class:`Connection`'s ``tls_server_name`` as the name the certificate must carry."""
    server_name = info.tls_server_name if isinstance(info, Connection) else None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if server_name:
        context = _ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)
        context.server_name = server_name
    if info.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if info.ca_path:
        context.load_verify_locations(cafile=info.ca_path)
    elif info.ca_data:
        data = info.ca_data
        context.load_verify_locations(cadata=data.decode() if isinstance(data, bytes) else data)
    elif not info.insecure:
        context.load_default_certs()
    cert = _as_file(info.certificate_path, info.certificate_data)
    key = _as_file(info.private_key_path, info.private_key_data)
    if cert:
        context.load_cert_chain(certfile=cert, keyfile=key)
    return context


def _as_file(path: Any, data: str | bytes | None) -> Any:
    """ssl wants client certificates as files; kubeconfigs often inline them as data."""
    if path or not data:
        return path
    raw = data.encode() if isinstance(data, str) else data
    handle = tempfile.NamedTemporaryFile(prefix="greenshift-", suffix=".pem", delete=False)  # noqa: SIM115
    with handle:
        handle.write(raw)
    return handle.name


def connect() -> Connection:
    """The cluster's credentials, read now, as the ``kubernetes`` client's loaders find them (as
    kopf's ``login_via_client`` does): the in-cluster service account (its token file, read again
    when it changes), else the kubeconfig (``KUBECONFIG``, read now, else ``~/.kube/config``;
    exec plugins and auth providers run; a user's ``tokenFile`` is read again when it changes).

    The kubeconfig cluster's ``tls-server-name`` and ``proxy-url`` are kept; without a
    ``proxy-url`` the environment's proxy for the server is (``http1.proxy_from_environment``).
    A proxy other than ``http://`` raises :class:`kopf.LoginError`, as nothing could connect."""
    import kubernetes  # here, not at the top: it takes a while to import and only logins need it
    from kubernetes.config import ConfigException, incluster_config, kube_config

    config = kubernetes.client.Configuration()
    server_name: str | None = None
    proxy: str | None = None
    token_file: str | None = None
    try:
        incluster_config.load_incluster_config(client_configuration=config)  # type: ignore[no-untyped-call]
        token_file = incluster_config.SERVICE_TOKEN_FILENAME
    except ConfigException:
        paths = os.environ.get("KUBECONFIG") or "~/.kube/config"
        try:
            merged = kube_config.KubeConfigMerger(paths)  # type: ignore[no-untyped-call]
            if merged.config is None:
                raise ConfigException(f"no kubeconfig at {paths}") from None
            loader = kube_config.KubeConfigLoader(  # type: ignore[no-untyped-call]
                config_dict=merged.config, config_base_path=None, config_persister=merged.save_changes
            )
            loader.load_and_set(config)  # type: ignore[no-untyped-call]
            server_name, proxy, token_file = _kubeconfig_extras(merged.config, loader.current_context)
        except ConfigException as exc:
            raise kopf.LoginError(f"No in-cluster service account and no usable kubeconfig: {exc}") from None
    # For auth providers this runs the provider's refresh; the token of a file is read already.
    header = config.get_api_key_with_prefix("BearerToken") or config.get_api_key_with_prefix("authorization")
    scheme, _, token = (header or "").strip().rpartition(" ")  # a token file's newline too
    server = str(config.host)
    proxy = proxy or proxy_from_environment(server)
    if proxy:
        try:
            proxy = parse_proxy(proxy).url
        except ValueError as exc:
            raise kopf.LoginError(f"The proxy for {server}: {exc}.") from None
    return Connection(
        server=server,
        ca_path=config.ssl_ca_cert,  # can be a temporary file
        insecure=not config.verify_ssl,
        username=config.username or None,  # an empty string when not defined
        password=config.password or None,
        scheme=scheme or None,
        token=token or None,
        certificate_path=config.cert_file,  # can be a temporary file
        private_key_path=config.key_file,
        proxy=proxy or None,
        tls_server_name=server_name,
        token_file=token_file,
    )


def _kubeconfig_extras(merged: Any, context: Any) -> tuple[str | None, str | None, str | None]:
    """The current context's cluster's ``tls-server-name`` and ``proxy-url``, and its user's
    ``tokenFile`` (relative to the kubeconfig that names it) when the token comes from it (the
    loader takes an auth provider first)."""
    names = context["context"]
    cluster = merged["clusters"].get_with_name(names["cluster"])["cluster"]
    server_name = cluster.safe_get("tls-server-name") or None
    proxy = cluster.safe_get("proxy-url") or None
    token_file = None
    entry = merged["users"].get_with_name(names["user"], safe=True) if names.get("user") else None
    user = entry["user"] if entry is not None and entry.safe_get("user") else None
    if user is not None and "auth-provider" not in user and user.safe_get("tokenFile"):
        base = os.path.dirname(os.path.abspath(user.path)) if user.path else ""
        token_file = os.path.normpath(os.path.join(base, user["tokenFile"]))
    return server_name, proxy, token_file
