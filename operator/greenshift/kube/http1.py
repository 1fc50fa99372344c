"""A lean HTTP/1.1 client for the operator's requests to the API server (not its watches).

Measured over TLS against the real API server (kube-apiserver 1.36, envtest; 3000 requests of
the operator's mix, server-side apply, merge patch and GET of 2 KiB ConfigMaps, 16 in flight;
client process CPU, median of 4 rounds): 93-99 us per request here against 175-181 us through
an aiohttp ``ClientSession`` (the same tuned: no cookie jar, no decompression). In the benchmark
on the real server (``bench/run.py --server real``), the operator's CPU creating N = 200 tenants
was 3.1-3.2 s with this client against 4.3 s with aiohttp, at N = 300 5.7 s against 6.4 s: it
saves 11-28 % (docs/operator.md has the table; the N = 1000 run decides whether it stays).
``bench/http1_requests.py`` measures the client CPU per request of ``KubeClient``.

This client does exactly what those requests need: keep-alive connections to one server (plain
or TLS), a request with a complete body, a response framed by Content-Length, chunked transfer
coding, or the end of the connection; interim (1xx) responses are skipped, repeated header
fields are joined. No redirects, cookies or compression.

TLS checks the certificate against ``server_name`` when given (the kubeconfig's
``tls-server-name``; it is also the SNI), else against the URL's host.

A proxy (:func:`parse_proxy`: the kubeconfig's ``proxy-url``, else :func:`proxy_from_environment`)
must be an ``http://`` one. To an ``https`` server a connection is a tunnel: ``CONNECT host:port``
to the proxy (with ``Proxy-Authorization: Basic`` when its URL has a user), a 2xx answer, then
TLS with the server through it; anything else is a :class:`ProxyError` that says what the proxy
answered. To a plain ``http`` server requests go to the proxy in absolute form (``GET
http://host:port/path``), as Go's transport sends them. The proxy only adds work when a
connection opens, nothing per request.

A request that fails on a connection reused from the pool before any byte of the answer came
back is sent once more on a new connection, when it is idempotent (every method but POST: the
operator's PATCHes are server-side applies and merge patches, which give the same object when
applied twice): the server may have closed the idle connection meanwhile. A POST (an Event
with ``generateName``, a Lease's creation) is never sent twice.
"""

import asyncio
import base64
import ipaddress
import os
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

Headers = dict[str, str]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


RESENDABLE = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"})


class StaleConnection(ConnectionError):
    """The server closed a kept-alive connection before answering: safe to send again."""


class ProxyError(ConnectionError):
    """The proxy could not be reached or refused the tunnel (a CONNECT answered other than 2xx)."""


@dataclass(frozen=True)
class Proxy:
    """An ``http://`` proxy: where it is and the ``Proxy-Authorization`` its URL gives, if any."""

    url: str
    """Normalised (a scheme-less ``host:port`` gets ``http://``), credentials included."""
    host: str
    port: int
    authorization: str | None = None

    @property
    def address(self) -> str:
        """The proxy for messages: without the credentials."""
        return f"http://{_netloc(self.host, self.port)}"


def parse_proxy(value: str) -> Proxy:
    """A proxy URL as Go reads it (``httpproxy``'s ``parseProxy``: a value without a known
    scheme, e.g. ``proxy.corp:3128``, is read as ``http://`` one; the port defaults to 80).
    Only ``http://`` proxies are supported: ``socks5://`` (which client-go also takes) and
    ``https://`` (TLS to the proxy itself) raise :class:`ValueError`."""
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme not in ("http", "https", "socks5", "socks5h"):
        parts = urllib.parse.urlsplit("http://" + value.strip())
    shown = f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    if parts.scheme.startswith("socks5"):
        raise ValueError(f"the proxy {shown} is a SOCKS proxy: only http:// (CONNECT) proxies are supported")
    if parts.scheme == "https":
        raise ValueError(
            f"the proxy {shown} is reached over TLS (https://): only http:// (CONNECT) proxies are supported"
        )
    if not parts.hostname:
        raise ValueError(f"the proxy URL {value!r} names no host")
    port = parts.port or 80  # a port that is not a number raises ValueError too
    authorization = None
    if parts.username is not None:  # Go sends Basic credentials whenever the URL has a user part
        pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode()
    return Proxy(parts.geturl(), parts.hostname, port, authorization)


def proxy_from_environment(server: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL the environment gives for ``server``, as Go's ``httpproxy.FromEnvironment``
    (what client-go uses when the kubeconfig names no ``proxy-url``) decides; None: direct.

    ``HTTPS_PROXY`` (else ``https_proxy``) for an https server, ``HTTP_PROXY`` (else
    ``http_proxy``) for a plain http one, unless ``NO_PROXY`` (else ``no_proxy``) excludes the
    server; the upper-case name wins unless it is empty. Whatever the variables say, ``localhost``
    and loopback addresses (127.0.0.0/8, ::1) are never proxied. ``NO_PROXY`` is a comma-separated
    list of ``*`` (nothing is proxied), IP addresses, CIDR ranges (``10.0.0.0/8``), and domain
    names: ``example.com`` excludes it and its subdomains, ``.example.com`` and ``*.example.com``
    only its subdomains; any entry but a range may end in ``:port``, then only that port of the
    server is excluded.
    """
    env = os.environ if environ is None else environ
    parts = urllib.parse.urlsplit(server)
    if parts.scheme == "https":
        proxy = _first(env, "HTTPS_PROXY", "https_proxy")
    elif parts.scheme == "http":
        proxy = _first(env, "HTTP_PROXY", "http_proxy")
    else:
        return None
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not proxy or not _use_proxy(host, str(port), _first(env, "NO_PROXY", "no_proxy")):
        return None
    return proxy


def _first(env: Mapping[str, str], *names: str) -> str:
    return next((env[name] for name in names if env.get(name)), "")


def _ip(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # Go compares ::ffff:a.b.c.d as a.b.c.d
    return ip


def _use_proxy(host: str, port: str, no_proxy: str) -> bool:
    """Go's ``httpproxy`` ``useProxy``: whether a request to ``host:port`` goes through the proxy."""
    ip = _ip(host)
    if host == "localhost" or (ip is not None and ip.is_loopback):
        return False
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return False
        if "/" in entry:  # a CIDR range (Go ignores the host bits: 10.1.2.3/8 is 10.0.0.0/8)
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                pass
            else:
                if ip is not None and ip.version == network.version and ip in network:
                    return False
                continue
        entry_host, entry_port = _split_host_port(entry)
        if not entry_host:
            continue
        entry_ip = _ip(entry_host)
        if entry_ip is not None:
            if entry_ip == ip and entry_port in ("", port):
                return False
            continue
        exact = not entry_host.startswith((".", "*."))
        suffix = "." + entry_host.removeprefix("*.").removeprefix(".")
        if (host.endswith(suffix) or (exact and host == suffix[1:])) and entry_port in ("", port):
            return False
    return True


def _split_host_port(entry: str) -> tuple[str, str]:
    """Go's ``net.SplitHostPort`` as ``httpproxy`` uses it: ``(entry, "")`` when it has no port."""
    if entry.startswith("["):
        inner, bracket, rest = entry[1:].partition("]")
        if bracket and rest.startswith(":"):
            return inner, rest[1:]
        return entry, ""
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, port
    return entry, ""


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass
class Response:
    status: int
    headers: Headers  # lower-case names
    body: bytes


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


class Http1Pool:
    """Keep-alive HTTP/1.1 connections to one server, at most ``limit`` at a time.

    ``server_name``: the name TLS checks the certificate against and sends as SNI, None: the
    URL's host. ``proxy``: the ``http://`` proxy to go through (:func:`parse_proxy`), None: direct.
    """

    def __init__(
        self,
        server: str,
        *,
        ssl_context: ssl.SSLContext | None,
        headers: Mapping[str, str],
        limit: int,
        server_name: str | None = None,
        proxy: Proxy | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(server)
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = ssl_context
        self._server_name = server_name or self._host
        self._proxy = proxy
        self._host_header = _netloc(self._host, self._port)
        self._head = b""
        self.set_headers(headers)
        self._prefix = parts.path.rstrip("/")
        if proxy is not None and ssl_context is None:  # absolute form, through the proxy
            self._prefix = f"http://{self._host_header}{self._prefix}"
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[_Connection] = []

    def set_headers(self, headers: Mapping[str, str]) -> None:
        """The header fields of every request from now on (new credentials after a 401)."""
        head = {"Host": self._host_header, **headers}
        if self._proxy is not None and self._proxy.authorization and self._ssl is None:
            head["Proxy-Authorization"] = self._proxy.authorization  # a tunnel sends it once, in CONNECT
        self._head = "".join(f"{name}: {value}\r\n" for name, value in head.items()).encode("latin-1")

    async def request(self, method: str, target: str, body: bytes | None, content_type: str) -> Response:
        """One exchange; ``target`` is the path and query, already encoded."""
        head = b"%s %s HTTP/1.1\r\n%s" % (method.encode(), (self._prefix + target).encode(), self._head)
        if body is not None:
            head += b"Content-Type: %s\r\nContent-Length: %d\r\n" % (content_type.encode(), len(body))
        message = head + b"\r\n" + (body or b"")
        async with self._slots:
            connection = self._idle.pop() if self._idle else None
            if connection is not None:
                try:
                    return await self._exchange(connection, message)
                except StaleConnection:
                    if method not in RESENDABLE:
                        raise
                    # closed by the server while idle: once more, on a new connection
            return await self._exchange(await self._connect(), message)

    async def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    async def _connect(self) -> _Connection:
        if self._proxy is None:
            name = self._server_name if self._ssl else None
            reader, writer = await asyncio.open_connection(
                self._host, self._port, ssl=self._ssl, server_hostname=name
            )
            return _Connection(reader, writer)
        proxy = self._proxy
        try:
            reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
        except OSError as exc:
            raise ProxyError(f"cannot reach the proxy {proxy.address}: {exc}") from exc
        connection = _Connection(reader, writer)
        if self._ssl is None:  # plain HTTP: requests in absolute form, no tunnel
            return connection
        try:
            await self._tunnel(connection, proxy)
            await writer.start_tls(self._ssl, server_hostname=self._server_name)
        except BaseException:
            connection.close()
            raise
        return connection

    async def _tunnel(self, connection: _Connection, proxy: Proxy) -> None:
        """Ask the proxy for a tunnel to the server: ``CONNECT``, then a 2xx answer (RFC 9110, 9.3.6)."""
        auth = f"Proxy-Authorization: {proxy.authorization}\r\n" if proxy.authorization else ""
        request = f"CONNECT {self._host_header} HTTP/1.1\r\nHost: {self._host_header}\r\n{auth}\r\n"
        connection.writer.write(request.encode("latin-1"))
        status_line = await connection.reader.readline()
        if not status_line:
            raise ProxyError(f"the proxy {proxy.address} closed the connection after CONNECT")
        _, status, _ = await _read_head(connection.reader, status_line)
        if 200 <= status < 300:
            return  # a 2xx to CONNECT has no content: what follows is the server's
        answer = status_line.decode("latin-1").strip()
        hint = ""
        if status == 407:
            hint = (
                ": it refused the credentials of its URL"
                if proxy.authorization
                else ": it asks for credentials, which go in its URL (http://user:password@host:port)"
            )
        raise ProxyError(
            f"the proxy {proxy.address} refused the tunnel to {self._host_header}: {answer!r}{hint}"
        )

    async def _exchange(self, connection: _Connection, message: bytes) -> Response:
        keep = False
        try:
            try:
                connection.writer.write(message)
                status_line = await connection.reader.readline()
            except (OSError, EOFError) as exc:  # reset or closed before any byte of an answer
                raise StaleConnection(f"{type(exc).__name__}: {exc}") from exc
            if not status_line:
                raise StaleConnection("the server closed the connection")
            response, keep = await _read_response(connection.reader, status_line)
            return response
        finally:
            if keep:
                self._idle.append(connection)
            else:  # closed by the server, an error, a timeout or a cancellation: state unknown
                connection.close()


async def _read_response(reader: asyncio.StreamReader, status_line: bytes) -> tuple[Response, bool]:
    """The final response after its status line (interim 1xx ones skipped), and whether the
    connection can serve another one."""
    version, status, headers = await _read_head(reader, status_line)
    while 100 <= status < 200 and status != 101:
        version, status, headers = await _read_head(reader, await reader.readline())
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif status in (204, 304):
        body = b""
    else:  # framed by the end of the connection
        body, keep = await reader.read(), False
    return Response(status, headers, body), keep


async def _read_head(reader: asyncio.StreamReader, status_line: bytes) -> tuple[str, int, Headers]:
    """The version, status and header fields of one response; a field sent twice is joined with
    commas (RFC 9110, 5.3), except Content-Length, which must then agree."""
    version, _, rest = status_line.decode("latin-1").partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise ConnectionError(f"not an HTTP/1.1 response: {status_line[:80]!r}")
    headers: Headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n"):
        if not line:
            raise ConnectionError("the connection ended within the response headers")
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip()
        if name in headers:
            if name == "content-length" and value != headers[name]:
                raise ConnectionError("the response has two different Content-Length fields")
            value = headers[name] if name == "content-length" else f"{headers[name]}, {value}"
        headers[name] = value
    return version, int(rest[:3]), headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = await reader.readline()
        if not size_line:
            raise ConnectionError("the connection ended within a chunked body")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (trailer := await reader.readline()) not in (b"\r\n", b"\n"):
                if not trailer:
                    raise ConnectionError("the connection ended within the trailers")
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)  # the CRLF after the chunk
