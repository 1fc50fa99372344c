"""The lean HTTP/1.1 client (``kube/http1.py``) against scripted servers: every response framing a
Kubernetes API server uses, keep-alive, a connection the server closed while idle, and TLS."""

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from greenshift.kube.http1 import Http1Pool

Answer = Callable[[bytes], bytes]


class Server:
    """Answers each request on a connection with ``answer(request)``; counts connections."""

    def __init__(self, answer: Answer, *, close_after: int = 0) -> None:
        self.answer = answer
        self.close_after = close_after  # close a connection after this many answers (0: never)
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                writer.write(self.answer(request))
                await writer.drain()
                served += 1
                if self.close_after and served >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _serve(server: Server, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=ssl_context)
    try:
        yield listener.sockets[0].getsockname()[1]
    finally:
        listener.close()


def _json(body: bytes, *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s" % (
        b"".join(extra),
        len(body),
        body,
    )


async def test_content_length_keep_alive_and_the_request_as_sent() -> None:
    server = Server(lambda _: _json(b'{"a":1}'))
    async for port in _serve(server):
        pool = Http1Pool(
            f"http://127.0.0.1:{port}", ssl_context=None, headers={"Accept": "application/json"}, limit=4
        )
        for _ in range(3):
            response = await pool.request(
                "PATCH", "/api/v1/x?force=true", b'{"k":"v"}', "application/merge-patch+json"
            )
            assert (response.status, response.body) == (200, b'{"a":1}')
        await pool.close()
    assert server.connections == 1  # kept alive
    first = server.requests[0]
    assert first.startswith(b"PATCH /api/v1/x?force=true HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in first
    assert b"\r\nAccept: application/json\r\n" in first
    assert b'\r\nContent-Type: application/merge-patch+json\r\nContent-Length: 9\r\n\r\n{"k":"v"}' in first


async def test_chunked_bodies_with_extensions_and_trailers() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;ext=1\r\n{"a"\r\n3\r\n:12\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n'
    )
    server = Server(lambda _: chunked)
    async for port in _serve(server):
        pool = Http1Pool(f"http://127.0.0.1:{port}", ssl_context=None, headers={}, limit=1)
        assert (await pool.request("GET", "/", None, "")).body == b'{"a":12}'
        assert (await pool.request("GET", "/", None, "")).body == b'{"a":12}'  # the connection is reusable
        await pool.close()
    assert server.connections == 1


async def test_a_body_framed_by_the_end_of_the_connection_and_connection_close() -> None:
    server = Server(lambda _: b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nnot here", close_after=1)
    async for port in _serve(server):
        pool = Http1Pool(f"http://127.0.0.1:{port}", ssl_context=None, headers={}, limit=1)
        for _ in range(2):
            response = await pool.request("GET", "/x", None, "")
            assert (response.status, response.body, response.headers["connection"]) == (
                404,
                b"not here",
                "close",
            )
        await pool.close()
    assert server.connections == 2  # not reused after close


async def test_a_kept_alive_connection_the_server_closed_is_replaced_once() -> None:
    server = Server(lambda _: _json(b"{}", b"Retry-After: 3\r\n"), close_after=1)  # closes after each answer
    async for port in _serve(server):
        pool = Http1Pool(f"http://127.0.0.1:{port}", ssl_context=None, headers={}, limit=1)
        for _ in range(3):
            response = await pool.request("DELETE", "/x", b"{}", "application/json")
            assert response.headers["retry-after"] == "3"
        await pool.close()
    assert server.connections == 3
    assert len(server.requests) == 3  # each request answered once, none lost or doubled


async def test_a_new_connection_that_fails_is_an_error_not_a_retry() -> None:
    server = Server(lambda _: b"", close_after=1)  # answers nothing, closes
    async for port in _serve(server):
        pool = Http1Pool(f"http://127.0.0.1:{port}", ssl_context=None, headers={}, limit=1)
        with pytest.raises(ConnectionError):
            await pool.request("GET", "/", None, "")
        await pool.close()
    assert server.connections == 1


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


async def test_tls(tmp_path: Path) -> None:
    key, cert = await asyncio.to_thread(_self_signed, tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    server = Server(lambda _: _json(b'{"tls":true}'))
    async for port in _serve(server, served):
        pool = Http1Pool(f"https://127.0.0.1:{port}", ssl_context=trusting, headers={}, limit=1)
        assert (await pool.request("GET", "/version", None, "")).body == b'{"tls":true}'
        await pool.close()
        untrusting = Http1Pool(
            f"https://127.0.0.1:{port}", ssl_context=ssl.create_default_context(), headers={}, limit=1
        )
        with pytest.raises(ssl.SSLError):
            await untrusting.request("GET", "/version", None, "")


async def test_a_post_on_a_connection_the_server_closed_is_not_sent_again() -> None:
    server = Server(lambda _: _json(b"{}"), close_after=1)
    async for port in _serve(server):
        pool = Http1Pool(f"http://127.0.0.1:{port}", ssl_context=None, headers={}, limit=1)
        await pool.request("POST", "/events", b"{}", "application/json")
        await asyncio.sleep(0.05)  # the server has closed the kept-alive connection
        with pytest.raises(ConnectionError):  # an Event with generateName must not be created twice
            await pool.request("POST", "/events", b"{}", "application/json")
        await pool.close()
    assert len(server.requests) == 1


async def test_interim_responses_are_skipped_and_repeated_fields_joined() -> None:
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b'HTTP/1.1 200 OK\r\nWarning: 299 - "one"\r\nWarning: 299 - "two"\r\n'
        b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"
    )
    server = Server(lambda _: answer)
    async for port in _serve(server):
        pool = Http1Pool(f"http://127.0.0.1:{port}", ssl_context=None, headers={}, limit=1)
        response = await pool.request("GET", "/", None, "")
        assert (response.status, response.body) == (200, b"{}")
        assert response.headers["warning"] == '299 - "one", 299 - "two"'
        assert (await pool.request("GET", "/", None, "")).body == b"{}"  # still in step
        await pool.close()
