"""The simulators' server base: a low-level handler gets full Requests, faults come first, bodies are bounded."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from sim.faults import FaultConfig
from sim.server import SimServer


class Echo(SimServer):
    """Routes by itself: one handler on aiohttp's low-level server, recording what it was handed."""

    max_body_bytes = 16

    def __init__(self, faults: FaultConfig | None = None) -> None:
        super().__init__(faults=faults)
        self.kinds: list[type] = []

    def build_handler(self) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.kinds.append(type(request))
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return web.Response(status=413)
            return web.Response(body=body)

        return handle


async def test_a_low_level_handler_is_handed_a_full_request() -> None:
    async with Echo() as server, aiohttp.ClientSession() as session:
        async with session.post(server.url + "/any/path", data=b"hello") as answer:
            assert answer.status == 200
            assert await answer.read() == b"hello"
    assert server.kinds == [web.Request]


async def test_a_body_over_max_body_bytes_is_refused_on_the_low_level_path() -> None:
    async with Echo() as server, aiohttp.ClientSession() as session:
        async with session.post(server.url + "/", data=b"x" * 17) as answer:
            assert answer.status == 413


async def test_faults_answer_before_a_low_level_handler_is_called() -> None:
    async with Echo(FaultConfig(error_rate=1.0)) as server, aiohttp.ClientSession() as session:
        async with session.get(server.url + "/") as answer:
            assert answer.status == 500
            assert await answer.text() == "injected fault 500\n"
    assert server.kinds == []
