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
fields are joined. No redirects, cookies or compression, and no proxy: it connects to the API
server directly.

TLS checks the certificate against ``server_name`` when given (the kubeconfig's
``tls-server-name``; it is also the SNI), else against the URL's host.

A request that fails on a connection reused from the pool before any byte of the answer came
back is sent once more on a new connection, when it is idempotent (every method but POST: the
operator's PATCHes are server-side applies and merge patches, which give the same object when
applied twice): the server may have closed the idle connection meanwhile. A POST (an Event
with ``generateName``, a Lease's creation) is never sent twice.
"""

import asyncio
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

Headers = dict[str, str]


RESENDABLE = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"})


class StaleConnection(ConnectionError):
    """The server closed a kept-alive connection before answering: safe to send again."""


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
    URL's host.
    """

    def __init__(
        self,
        server: str,
        *,
        ssl_context: ssl.SSLContext | None,
        headers: Mapping[str, str],
        limit: int,
        server_name: str | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(server)
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = ssl_context
        self._server_name = server_name or self._host
        self._host_header = _netloc(self._host, self._port)
        self._head = b""
        self.set_headers(headers)
        self._prefix = parts.path.rstrip("/")
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[_Connection] = []

    def set_headers(self, headers: Mapping[str, str]) -> None:
        """The header fields of every request from now on (new credentials after a 401)."""
        head = {"Host": self._host_header, **headers}
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
        name = self._server_name if self._ssl else None
        reader, writer = await asyncio.open_connection(
            self._host, self._port, ssl=self._ssl, server_hostname=name
        )
        return _Connection(reader, writer)

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
