"""The lean HTTP/1.1 client: framing, keep-alive, failures (its own errors), TLS, and a parser property."""

from __future__ import annotations

import asyncio
import errno
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
import trustme
from hypothesis import given, settings
from hypothesis import strategies as st

from executors.eks.http1 import (
    MAX_HEAD_BYTES,
    LeanClosedError,
    LeanConnectError,
    LeanPool,
    LeanPoolClosed,
    LeanProtocolError,
    LeanResponse,
    LeanTimeout,
    LeanTLSError,
    _Connection,
)

Answer = Callable[[bytes], bytes | None]
"""Given a request's head, the raw bytes to answer (None: close without answering)."""


@dataclass
class RawServer:
    """A TLS server on loopback answering each request with bytes a test chooses."""

    answer: Answer
    ca: trustme.CA = field(default_factory=trustme.CA)
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)
    close_after_each: bool = False
    server: asyncio.Server | None = None
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                reply = self.answer(head)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if self.close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass  # closed by the client, or by a test mid-request
        finally:
            writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    def client_context(self, ca: trustme.CA | None = None) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        (ca or self.ca).configure_trust(context)
        return context

    def pool(self, **kwargs: Any) -> LeanPool:
        return LeanPool(f"https://127.0.0.1:{self.port}", self.client_context(), **kwargs)


@pytest.fixture
async def make_server() -> AsyncIterator[Callable[[Answer], Any]]:
    servers: list[RawServer] = []

    async def make(answer: Answer) -> RawServer:
        raw = RawServer(answer)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        raw.ca.issue_cert("127.0.0.1").configure_cert(context)
        raw.server = await asyncio.start_server(raw.handle, "127.0.0.1", 0, ssl=context)
        servers.append(raw)
        return raw

    yield make
    for raw in servers:
        assert raw.server is not None
        for writer in raw.writers:
            writer.close()
        raw.server.close()


def ok(body: bytes, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        + body
    )


def chunked(body: bytes, size: int = 7) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    encoded = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts)
    return (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
        + encoded
        + b"0\r\n\r\n"
    )


async def test_a_content_length_answer_is_read_whole_and_the_connection_reused(make_server: Any) -> None:
    server = await make_server(lambda head: ok(b'{"kind":"Job"}'))
    pool = server.pool()
    first = await pool.request(
        "GET", "/apis/batch/v1/namespaces/default/jobs/a", [], [("Accept", "application/json")]
    )
    second = await pool.request(
        "GET", "/apis/batch/v1/namespaces/default/jobs/b", [("x", "a b"), ("y", "1,2")], []
    )
    assert second.status == 200
    assert (first.status, first.reason, await first.read()) == (200, "OK", b'{"kind":"Job"}')
    assert first.headers.get("content-type") == "application/json"
    assert server.connections == 1
    assert server.heads[1].startswith(
        b"GET /apis/batch/v1/namespaces/default/jobs/b?x=a%20b&y=1%2C2 HTTP/1.1\r\n"
    )
    assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in server.heads[0]
    pool.close()


async def test_a_chunked_answer_is_reassembled(make_server: Any) -> None:
    body = b"line one\nline two\n" * 50
    server = await make_server(lambda head: chunked(body))
    pool = server.pool()
    answer = await pool.request("GET", "/api/v1/namespaces/default/pods/p/log", [], [])
    assert await answer.read() == body
    again = await pool.request("GET", "/api/v1/namespaces/default/pods/p/log", [], [])
    assert await again.read() == body and server.connections == 1
    pool.close()


async def test_an_answer_without_length_is_read_until_close_and_not_reused(make_server: Any) -> None:
    server = await make_server(lambda head: b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end")
    server.close_after_each = True
    pool = server.pool()
    assert await (await pool.request("GET", "/a", [], [])).read() == b"to the end"
    assert await (await pool.request("GET", "/a", [], [])).read() == b"to the end"
    assert server.connections == 2 and pool.idle == 0
    pool.close()


async def test_connection_close_and_interim_answers(make_server: Any) -> None:
    server = await make_server(lambda head: b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"{}", "Connection: close"))
    pool = server.pool()
    answer = await pool.request("GET", "/a", [], [])
    assert answer.status == 200 and await answer.read() == b"{}"
    assert pool.idle == 0
    pool.close()


async def test_a_head_answer_has_no_body_even_with_a_length(make_server: Any) -> None:
    server = await make_server(lambda head: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    pool = server.pool()
    answer = await pool.request("HEAD", "/a", [], [])
    assert answer.status == 200 and await answer.read() == b""
    assert (await pool.request("HEAD", "/a", [], [])).status == 200
    assert server.connections == 1
    pool.close()


async def test_an_idle_connection_the_server_closed_is_replaced_without_an_error(make_server: Any) -> None:
    server = await make_server(lambda head: ok(b"{}"))
    pool = server.pool()
    await pool.request("GET", "/a", [], [])
    for writer in server.writers:
        writer.close()
    await asyncio.sleep(0.05)
    answer = await pool.request("GET", "/a", [], [])
    assert answer.status == 200 and server.connections == 2
    pool.close()


async def test_a_connection_closed_while_the_first_try_waits_is_not_the_second_try(make_server: Any) -> None:
    """The server closes every idle connection (it died): the first try is sent on one that does not
    know yet, and by the time it fails the next idle one is known closed. The retry must not be sent on
    that one: nothing more comes on a closed connection, so the request waited for its read timeout."""
    server = await make_server(lambda head: ok(b"{}"))
    pool = server.pool()
    await asyncio.gather(pool.request("GET", "/a", [], []), pool.request("GET", "/b", [], []))
    assert pool.idle == 2
    for writer in server.writers:
        writer.close()
    # No pause: the client has not heard of the closes yet, so the first try is sent.
    with anyio.fail_after(5):
        answer = await pool.request("GET", "/c", [], [], read_timeout=60)
    assert answer.status == 200 and server.connections == 3
    pool.close()


async def test_a_server_that_hangs_up_mid_request_is_a_disconnect(make_server: Any) -> None:
    observed: list[tuple[str, str, int | None]] = []
    server = await make_server(lambda head: None)
    pool = server.pool(observer=lambda m, t, s, seconds: observed.append((m, t, s)))
    with pytest.raises(LeanClosedError):
        await pool.request("GET", "/a", [], [])
    assert observed == [("GET", "/a", None)]
    pool.close()


async def test_a_server_that_never_finishes_the_handshake_is_a_connect_timeout() -> None:
    # A TCP peer that accepts and then says nothing (a blackholed TLS endpoint): the connect and
    # handshake are bounded together, and nothing is left in the pool.
    held: list[asyncio.StreamWriter] = []

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()

    silent = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    pool = LeanPool(f"https://127.0.0.1:{port}", ssl.create_default_context(), connect_timeout=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(LeanTimeout, match=r"connecting to 127.0.0.1:\d+ took over 0.3 s"):
        await pool.request("GET", "/a", [], [])
    assert loop.time() - started < 5
    assert pool.idle == 0
    pool.close()
    for writer in held:
        writer.close()
    silent.close()


async def test_no_answer_in_time_is_a_timeout(make_server: Any) -> None:
    async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server = await make_server(lambda head: ok(b"{}"))
    assert server.server is not None
    server.server.close()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.ca.issue_cert("127.0.0.1").configure_cert(context)
    silent = await asyncio.start_server(never, "127.0.0.1", 0, ssl=context)
    port = silent.sockets[0].getsockname()[1]
    pool = LeanPool(f"https://127.0.0.1:{port}", server.client_context())
    with pytest.raises(LeanTimeout):
        await pool.request("GET", "/a", [], [], read_timeout=0.2)
    pool.close()
    silent.close()


async def test_a_server_certificate_from_another_ca_is_refused(make_server: Any) -> None:
    server = await make_server(lambda head: ok(b"{}"))
    pool = LeanPool(f"https://127.0.0.1:{server.port}", server.client_context(trustme.CA()))
    with pytest.raises(LeanTLSError) as info:
        await pool.request("GET", "/a", [], [])
    assert info.value.verification
    assert server.heads == []
    pool.close()


async def test_only_reads_and_clean_headers_are_sent(make_server: Any) -> None:
    server = await make_server(lambda head: ok(b"{}"))
    pool = server.pool()
    with pytest.raises(ValueError):
        await pool.request("POST", "/a", [], [])
    with pytest.raises(ValueError):
        await pool.request("GET", "/a", [], [("Authorization", "Bearer x\r\nX-Evil: 1")])
    assert server.heads == []
    pool.close()


async def test_a_malformed_answer_is_a_protocol_error_and_its_connection_is_not_reused(
    make_server: Any,
) -> None:
    answers = iter([b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}", ok(b"{}")])
    server = await make_server(lambda head: next(answers))
    pool = server.pool()
    with pytest.raises(LeanProtocolError):
        await pool.request("GET", "/a", [], [])
    assert pool.idle == 0
    assert (await pool.request("GET", "/a", [], [])).status == 200
    assert server.connections == 2
    pool.close()


async def test_a_head_over_the_limit_is_refused(make_server: Any) -> None:
    server = await make_server(lambda head: ok(b"{}", f"X-Padding: {'p' * MAX_HEAD_BYTES}"))
    pool = server.pool()
    with pytest.raises(LeanProtocolError, match="too large"):
        await pool.request("GET", "/a", [], [])
    assert pool.idle == 0
    pool.close()


async def test_a_body_cut_short_by_the_server_is_a_closed_connection(make_server: Any) -> None:
    server = await make_server(lambda head: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    server.close_after_each = True
    pool = server.pool()
    with pytest.raises(LeanClosedError) as info:
        await pool.request("GET", "/a", [], [])
    assert info.value.os_error is None
    pool.close()


async def test_bytes_after_the_answer_keep_the_connection_out_of_the_pool(make_server: Any) -> None:
    server = await make_server(lambda head: ok(b'{"n":1}') + ok(b'{"n":2}'))
    pool = server.pool()
    assert (await pool.request("GET", "/a", [], [])).body == b'{"n":1}'
    assert (await pool.request("GET", "/a", [], [])).body == b'{"n":1}'
    assert server.connections == 2 and pool.idle == 0
    pool.close()


async def test_a_head_answer_then_a_get_on_the_same_connection(make_server: Any) -> None:
    server = await make_server(
        lambda head: (
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n" if head.startswith(b"HEAD") else ok(b"{}")
        )
    )
    pool = server.pool()
    assert (await pool.request("HEAD", "/a", [], [])).status == 200
    answer = await pool.request("GET", "/a", [], [])
    assert (answer.status, answer.body) == (200, b"{}")
    assert server.connections == 1 and pool.idle == 1
    pool.close()


async def test_a_no_content_answer_has_no_body_and_keeps_the_connection(make_server: Any) -> None:
    server = await make_server(lambda head: b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n")
    pool = server.pool()
    answer = await pool.request("GET", "/a", [], [])
    assert (answer.status, answer.reason, answer.body, answer.headers.get("x-a")) == (
        204,
        "No Content",
        b"",
        "1",
    )
    assert (await pool.request("GET", "/a", [], [])).status == 204
    assert server.connections == 1
    pool.close()


async def test_an_http_1_0_answer_is_read_and_its_connection_not_reused(make_server: Any) -> None:
    server = await make_server(lambda head: b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    pool = server.pool()
    assert (await pool.request("GET", "/a", [], [])).body == b"{}"
    assert pool.idle == 0
    pool.close()


async def test_a_chunked_answer_with_extensions_and_trailers(make_server: Any) -> None:
    server = await make_server(
        lambda head: (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3;name=value\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n"
        )
    )
    pool = server.pool()
    assert (await pool.request("GET", "/a", [], [])).body == b"abcde"
    assert (await pool.request("GET", "/a", [], [])).body == b"abcde"
    assert server.connections == 1
    pool.close()


async def test_a_refused_connection_is_a_connect_error_with_the_errno() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    pool = LeanPool(f"https://127.0.0.1:{port}", ssl.create_default_context())
    with pytest.raises(LeanConnectError) as info:
        await pool.request("GET", "/a", [], [])
    assert info.value.errno == errno.ECONNREFUSED


async def test_a_closed_pool_refuses_requests(make_server: Any) -> None:
    server = await make_server(lambda head: ok(b"{}"))
    pool = server.pool()
    pool.close()
    with pytest.raises(LeanPoolClosed):
        await pool.request("GET", "/a", [], [])
    assert server.connections == 0


async def test_a_request_on_a_connection_already_lost_fails_at_once() -> None:
    """connection_lost came between the connect (or the pool's check) and the send: no answer and no
    further close can come, so the request fails now instead of at its read timeout."""

    class _Sink:
        def write(self, data: bytes) -> None:
            pass  # what a closed transport does: the bytes are dropped

        def close(self) -> None:
            pass

        def is_closing(self) -> bool:
            return True

    conn = _Connection()
    conn.connection_made(_Sink())  # type: ignore[arg-type]
    conn.received_any = True  # it answered an earlier request
    conn.connection_lost(None)
    waiter = conn.send(b"GET / HTTP/1.1\r\n\r\n", head=False, timeout=60)
    assert waiter.done()
    with pytest.raises(LeanClosedError):
        waiter.result()
    # Nothing of this request came: the pool may try it again on a fresh connection.
    assert not conn.received_any


def _feed(raw: bytes, cuts: list[int], *, head: bool = False) -> LeanResponse:
    loop = asyncio.new_event_loop()
    try:
        conn = _Connection()

        class _Transport:
            def write(self, data: bytes) -> None:
                pass

            def close(self) -> None:
                pass

            def is_closing(self) -> bool:
                return False

        conn.connection_made(_Transport())  # type: ignore[arg-type]

        async def run() -> LeanResponse:
            waiter = conn.send(b"GET / HTTP/1.1\r\n\r\n", head=head, timeout=5)
            start = 0
            for cut in [*sorted(set(cuts)), len(raw)]:
                if cut > start:
                    conn.data_received(raw[start:cut])
                    start = cut
            return await waiter

        return loop.run_until_complete(run())
    finally:
        loop.close()


@settings(max_examples=150, deadline=None)
@given(
    body=st.binary(max_size=3000),
    chunk=st.integers(min_value=1, max_value=700),
    use_chunked=st.booleans(),
    data=st.data(),
)
def test_any_body_split_anywhere_reads_back_exactly(
    body: bytes, chunk: int, use_chunked: bool, data: Any
) -> None:
    raw = chunked(body, chunk) if use_chunked else ok(body)
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(raw)), max_size=12))
    response = _feed(raw, cuts)
    assert response.status == 200
    assert response._body == body
