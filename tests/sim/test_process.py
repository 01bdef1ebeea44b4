"""A simulator in a child process: its lines are read, it is stopped politely, killed, or reported dead."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from sim.process import ChildProcess


class JsonTool(ChildProcess):
    """``python -m json.tool``: reads a document on stdin, prints it once stdin closes."""

    def __init__(self) -> None:
        super().__init__("python -m json.tool", stop_by_stdin=True)
        self.cleaned = 0

    async def start(self) -> None:
        await self.spawn("json.tool", ["--compact"])

    def cleanup(self) -> None:
        self.cleaned += 1


class Zen(ChildProcess):
    """``python -m this``: prints nineteen lines (and a title) and exits."""

    def __init__(self) -> None:
        super().__init__("python -m this")

    async def start(self) -> None:
        await self.spawn("this", [])


class Server(ChildProcess):
    """``python -m http.server`` on loopback: it runs until it is stopped."""

    def __init__(self) -> None:
        super().__init__("python -m http.server", keep_stderr=True)

    async def start(self) -> None:
        await self.spawn("http.server", ["--bind", "127.0.0.1", "0"])
        await self.readline()  # "Serving HTTP on 127.0.0.1 port …"


class Refused(ChildProcess):
    """``python -m sim.kube`` with an option it does not know: it exits at once."""

    def __init__(self) -> None:
        super().__init__("python -m sim.kube", keep_stderr=True)

    async def start(self) -> None:
        await self.spawn("sim.kube", ["--no-such-option"])
        await self.readline()


async def test_a_child_stopped_by_closing_its_stdin_ends_by_itself_and_is_cleaned_up() -> None:
    tool = JsonTool()
    async with tool:
        await tool.send(b'{"a": [1, 2]}')
        assert tool.pid is not None
        assert tool.returncode is None
    # close() closed its stdin: json.tool printed the document and ended by itself.
    assert tool.pid is None
    assert tool.cleaned == 1
    assert tool.returncode == 0


async def test_lines_are_read_until_the_child_exits_then_its_status_is_reported() -> None:
    async with Zen() as zen:
        first = await zen.readline()
        lines = [first]
        with pytest.raises(RuntimeError, match=r"^python -m this exited with status 0$"):
            while True:
                lines.append(await zen.readline())
    assert first == b"The Zen of Python, by Tim Peters\n"
    assert len(lines) == 21
    assert zen.returncode == 0


async def test_a_killed_child_dies_of_sigkill_and_close_afterwards_does_nothing_more() -> None:
    server = Server()
    async with server:
        await server.kill()
        assert server.returncode == -9
        assert server.pid is None
    assert server.pid is None
    assert server.returncode == -9


async def test_a_line_the_child_prints_without_flushing_is_read_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """http.server prints its "Serving HTTP" line without a flush; a parent run without
    PYTHONUNBUFFERED (a plain shell, CI) must still read it while the child runs."""
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    server = Server()
    with anyio.fail_after(30):
        async with server:
            assert server.returncode is None
    assert server.returncode == -15


async def test_a_running_child_is_stopped_by_sigterm_on_close() -> None:
    server = Server()
    await server.start()
    await asyncio.wait_for(server.close(), 15)
    assert server.returncode == -15


async def test_a_child_that_exits_before_its_first_line_is_reported_with_its_status_and_stderr() -> None:
    refused = Refused()
    with pytest.raises(RuntimeError, match=r"^python -m sim\.kube exited with status 2$"):
        async with refused:
            pass
    assert "unrecognized arguments: --no-such-option" in refused.stderr
    assert refused.pid is None
