"""Cancelling a lean GET at each stage leaves the pool consistent (after httpcore's test_cancellations).

Each test cancels a request at one precise point against a real TLS server on
loopback (plain TCP accepted first, TLS started by the server when the stage
calls for it) and checks the same invariants, stated in its docstring:

* no read timer of the lean client is left armed in the event loop;
* the cancelled connection is not in the pool, and the server sees it closed;
* the next request works, on a fresh connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import pytest
import trustme

from executors.eks.http1 import LeanPool, _Connection

BODY = b'{"kind":"Job","status":{"succeeded":1}}'
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)

# What the server does with one request: answer it, or stop at a stage and hold the connection open.
ANSWER = "answer"
HOLD_HANDSHAKE = "hold handshake"  # accept TCP, never start TLS
HOLD_REQUEST = "hold request"  # finish the handshake, never read the request
HOLD_HEAD = "hold head"  # send half a status line and headers
HOLD_BODY = "hold body"  # send the head and a tenth of the body


@dataclass
class StagedServer:
    """A TLS server whose n-th connection follows ``plans[n]``, one step per request (then answers)."""

    plans: list[list[str]]
    ca: trustme.CA = field(default_factory=trustme.CA)
    connections: int = 0
    closed: list[asyncio.Event] = field(default_factory=list)
    reached: list[asyncio.Event] = field(default_factory=list)
    server: asyncio.Server | None = None

    def tls(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1").configure_cert(context)
        return context

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.connections
        self.connections += 1
        plan = self.plans[index] if index < len(self.plans) else []
        closed, reached = asyncio.Event(), asyncio.Event()
        self.closed.append(closed)
        self.reached.append(reached)
        try:
            if plan[:1] == [HOLD_HANDSHAKE]:
                reached.set()
                await reader.read()  # until the client gives up and closes
                return
            await writer.start_tls(self.tls())
            for step in [*plan, *[ANSWER] * 100]:
                if step == HOLD_REQUEST:
                    reached.set()
                    await reader.read()
                    return
                await reader.readuntil(b"\r\n\r\n")
                if step == ANSWER:
                    writer.write(OK)
                    continue
                cut = OK.index(b"Content-Type") + 8 if step == HOLD_HEAD else len(OK) - len(BODY) + 4
                writer.write(OK[:cut])
                await writer.drain()
                reached.set()
                await reader.read()
                return
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            closed.set()
            writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    def pool(self) -> LeanPool:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ca.configure_trust(context)
        return LeanPool(f"https://127.0.0.1:{self.port}", context)


Staged = Callable[..., Awaitable[StagedServer]]
"""Makes a ``StagedServer`` from one plan per connection."""


@pytest.fixture
async def staged() -> AsyncIterator[Staged]:
    servers: list[StagedServer] = []

    async def make(*plans: list[str]) -> StagedServer:
        staged = StagedServer(list(plans))
        staged.server = await asyncio.start_server(staged.handle, "127.0.0.1", 0)
        servers.append(staged)
        return staged

    yield make
    for staged in servers:
        assert staged.server is not None
        staged.server.close()


def in_flight() -> list[_Connection]:
    """The lean connections whose read timer is armed in the running loop (a request in flight)."""
    loop = asyncio.get_running_loop()
    scheduled = getattr(loop, "_scheduled", None)
    assert scheduled is not None, "these tests inspect asyncio's own event loop"
    return [
        handle._callback.__self__
        for handle in scheduled
        if not handle.cancelled() and getattr(handle._callback, "__func__", None) is _Connection._timed_out
    ]


async def until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(10):
        while not condition():
            await asyncio.sleep(0.001)


async def cancel_once(pool: LeanPool, ready: Callable[[], bool]) -> None:
    """Send a GET and cancel it as soon as ``ready()`` holds; it must not finish first."""
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def cancel_when_ready() -> None:
                await until(ready)
                scope.cancel()

            tg.start_soon(cancel_when_ready)
            await pool.request("GET", "/apis/batch/v1/namespaces/default/jobs/a", [], [])
            pytest.fail("the request finished before it was cancelled")
    assert scope.cancelled_caught


async def assert_consistent_after_cancel(server: StagedServer, pool: LeanPool, connection: int) -> None:
    """The invariants every cancellation must leave (see the module docstring)."""
    assert in_flight() == []
    assert pool.idle == 0
    with anyio.fail_after(10):
        await server.closed[connection].wait()
    before = server.connections
    answer = await pool.request("GET", "/apis/batch/v1/namespaces/default/jobs/a", [], [])
    assert (answer.status, answer.body) == (200, BODY)
    assert server.connections == before + 1
    assert in_flight() == [] and pool.idle == 1
    pool.close()


async def test_cancelled_during_connect_leaves_no_connection_and_no_timer(staged: Staged) -> None:
    """Cancelled in the TLS handshake: the socket is closed, nothing is pooled, the next GET connects anew."""
    server = await staged([HOLD_HANDSHAKE])
    pool = server.pool()
    await cancel_once(pool, lambda: bool(server.reached) and server.reached[0].is_set())
    await assert_consistent_after_cancel(server, pool, 0)


async def test_cancelled_during_write_disarms_the_timer_and_closes_the_connection(
    staged: Staged,
) -> None:
    """Cancelled with the request handed to the transport and unread by the server: timer disarmed, socket closed.

    The lean client writes without awaiting (``transport.write``), so "during the
    write" is the span between the request leaving the client and the server reading it.
    """
    server = await staged([HOLD_REQUEST])
    pool = server.pool()
    await cancel_once(pool, lambda: bool(server.reached) and server.reached[0].is_set() and bool(in_flight()))
    await assert_consistent_after_cancel(server, pool, 0)


async def test_cancelled_while_reading_the_head_disarms_the_timer_and_closes_the_connection(
    staged: Staged,
) -> None:
    """Cancelled with half a head received: timer disarmed, the connection closed, never pooled half-read."""
    server = await staged([HOLD_HEAD])
    pool = server.pool()
    await cancel_once(pool, lambda: any(conn.received_any for conn in in_flight()))
    await assert_consistent_after_cancel(server, pool, 0)


async def test_cancelled_while_reading_the_body_disarms_the_timer_and_closes_the_connection(
    staged: Staged,
) -> None:
    """Cancelled with the head and part of the body received: timer disarmed, connection closed, not pooled."""
    server = await staged([HOLD_BODY])
    pool = server.pool()
    await cancel_once(pool, lambda: any(conn._headers is not None for conn in in_flight()))
    await assert_consistent_after_cancel(server, pool, 0)


async def test_a_reused_connection_cancelled_mid_body_is_not_returned_to_the_pool(
    staged: Staged,
) -> None:
    """A keep-alive connection cancelled in its second answer leaves the pool; the third GET gets a fresh one."""
    server = await staged([ANSWER, HOLD_BODY])
    pool = server.pool()
    first = await pool.request("GET", "/apis/batch/v1/namespaces/default/jobs/a", [], [])
    assert first.body == BODY and pool.idle == 1
    await cancel_once(pool, lambda: any(conn._headers is not None for conn in in_flight()))
    await assert_consistent_after_cancel(server, pool, 0)
