"""Worker processes on one PostgreSQL store, through the command line, as users run them.

Real processes: ``statewright start``, ``statewright worker`` (several at
once), ``statewright stop``, ``describe``; a worker is SIGKILLed and the
others take its executions over once its lease lapses. The two lease tests
fork theirs from fork servers started at their beginning, which imported the
command line meanwhile (``tests.e2e.crash_worker``): each is still a process of
its own, sent real signals; only the interpreter start-up is shared. The
last two tests run ``python -m statewright`` from scratch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import anyio
import asyncpg
import pytest

from tests.e2e.crash_worker import Forked, ForkServer, fork_server
from tests.e2e.support import REPO

WAIT_THEN_PASS = {
    "StartAt": "W",
    "States": {
        "W": {"Type": "Wait", "Seconds": 3, "Next": "P"},
        "P": {"Type": "Pass", "Parameters": {"done.$": "$.i"}, "End": True},
    },
}
WAIT_LONG = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "statewright", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"statewright {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


class Workers:
    """Worker processes started by one test (one fork server each), and the commands it runs (one more)."""

    def __init__(self, url: str, folder: Path, servers: list[ForkServer]) -> None:
        self.url = url
        self.folder = folder
        self.commands, *self.free = servers
        self.procs: list[Forked] = []

    async def start(self, *extra: str) -> Forked:
        log = self.folder / f"worker{len(self.procs)}.log"
        argv = ["worker", "--store", self.url, "--quiet", *extra]
        proc = await self.free.pop(0).start(argv, stdout=log)
        self.procs.append(proc)
        return proc

    async def cli(self, *args: str) -> str:
        """``statewright ARGS`` forked from the commands' server; its standard output."""
        out, err = self.folder / "cli.out", self.folder / "cli.err"
        for path in (out, err):
            path.write_text("")
        code = await (await self.commands.start(args, stdout=out, stderr=err)).wait()
        if code != 0:
            raise AssertionError(f"statewright {' '.join(args)} exited {code}: {err.read_text()}")
        return out.read_text()

    def logs(self) -> str:
        return "".join(p.read_text() for p in sorted(self.folder.glob("worker*.log")))


@pytest.fixture
async def workers(postgres_url: str, tmp_path: Path) -> AsyncIterator[Workers]:
    # Three servers, started at once: they import the command line while the test sets up.
    async with AsyncExitStack() as stack:
        servers = [await stack.enter_async_context(fork_server(os.environ, REPO)) for _ in range(3)]
        yield Workers(postgres_url, tmp_path, servers)  # leaving kills what still runs


async def record(workers: Workers, definition: dict[str, object], names: list[str]) -> list[str]:
    path = workers.folder / "machine.json"
    path.write_text(json.dumps(definition))
    arns = []
    for i, name in enumerate(names):
        argv = ("start", str(path), "--store", workers.url, "--name", name, "--input", json.dumps({"i": i}))
        arns.append(json.loads(await workers.cli(*argv))["executionArn"])
    return arns


async def query(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def until(url: str, sql: str, predicate: object, timeout: float) -> tuple[float, list[asyncpg.Record]]:
    import asyncio

    started = time.monotonic()
    rows: list[asyncpg.Record] = []
    while True:
        try:
            rows = await query(url, sql)
        except asyncpg.UndefinedTableError:
            pass  # the first worker has not created the tables yet
        else:
            if predicate(rows):  # type: ignore[operator]
                return time.monotonic() - started, rows
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {sql} -> {[tuple(r) for r in rows]}")
        await asyncio.sleep(0.05)


OWNERS = "SELECT owner, count(*) AS n FROM executions WHERE status = 'RUNNING' AND owner IS NOT NULL GROUP BY owner"


async def record_many(url: str, definition: dict[str, object], names: list[str]) -> list[str]:
    """What ``statewright start`` does for each name (the same store call), without a process per name."""
    from engine import Engine
    from engine.jsonvalue import dumps_str
    from engine.store import open_store

    store = open_store(url)
    await store.open()
    try:
        planner = Engine(load_plugins=False)
        arns = []
        for i, name in enumerate(names):
            machine, rec = planner.prepare(definition, {"i": i}, name=name, state_machine_name="machine")
            await store.create_execution(rec, dumps_str(machine.raw))
            arns.append(rec.execution_arn)
        return arns
    finally:
        await store.close()


def worker_id(rows: list[asyncpg.Record], proc: Forked) -> str:
    return next(r["id"] for r in rows if r["name"].endswith(f":{proc.pid}"))


@pytest.mark.slow
async def test_a_killed_workers_executions_run_on_elsewhere_within_the_lease(
    postgres_url: str, workers: Workers
) -> None:
    lease = 2.0
    first = await workers.start("--lease-seconds", str(lease))
    second = await workers.start("--lease-seconds", str(lease))
    _, registered = await until(postgres_url, "SELECT id, name FROM workers", lambda r: len(r) == 2, 20)
    doomed = worker_id(registered, first)
    # An execution started from another process is picked up within a second.
    (arn,) = await record(workers, WAIT_THEN_PASS, ["solo"])
    took, _ = await until(postgres_url, f"SELECT owner FROM executions WHERE arn = '{arn}'", lambda r: r[0]["owner"], 5)
    assert took < 1
    await record_many(postgres_url, WAIT_THEN_PASS, [f"x{i}" for i in range(11)])
    # Spread between the two workers.
    _, owners = await until(postgres_url, OWNERS, lambda r: sum(x["n"] for x in r) == 12, 5)
    assert len(owners) == 2 and all(x["n"] >= 3 for x in owners), [tuple(x) for x in owners]
    first.send_signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    took, _ = await until(
        postgres_url,
        f"SELECT count(*) AS n FROM executions WHERE owner = '{doomed}' AND status = 'RUNNING'",
        lambda r: r[0]["n"] == 0,
        lease + 10,
    )
    assert took <= lease + 2  # taken over within the lease time plus 2 s
    await until(
        postgres_url, "SELECT count(*) AS n FROM executions WHERE status = 'SUCCEEDED'", lambda r: r[0]["n"] == 12, 10
    )
    rows = await query(postgres_url, "SELECT output FROM executions")
    assert sorted(json.loads(r["output"])["done"] for r in rows) == sorted([0, *range(11)])
    assert await second.poll(0) is None
    second.send_signal(signal.SIGTERM)
    with anyio.fail_after(20):
        assert await second.wait() == 0


@pytest.mark.slow
async def test_capacity_caps_a_worker_and_stop_reaches_the_owner_within_a_second(
    postgres_url: str, workers: Workers
) -> None:
    arns = await record_many(postgres_url, WAIT_LONG, [f"c{i}" for i in range(5)])
    await workers.start("--capacity", "2")
    _, owners = await until(postgres_url, OWNERS, lambda r: sum(x["n"] for x in r) == 2, 20)
    await until(postgres_url, OWNERS, lambda r: sum(x["n"] for x in r) == 2, 1.5)  # and no more
    await workers.start()
    _, owners = await until(postgres_url, OWNERS, lambda r: sum(x["n"] for x in r) == 5, 20)
    assert sorted(x["n"] for x in owners) == [2, 3]
    await workers.cli("stop", arns[0], "--store", postgres_url, "--error", "Operator", "--cause", "enough")
    took, _ = await until(
        postgres_url, f"SELECT status FROM executions WHERE arn = '{arns[0]}'", lambda r: r[0]["status"] == "ABORTED", 5
    )
    assert took < 1  # from the stop being recorded to the owner having carried it out
    described = json.loads(await workers.cli("describe", arns[0], "--store", postgres_url))
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Operator", "enough")
    # SIGTERM hands the rest back at once: another worker owns them without waiting for a lease.
    for proc in workers.procs:
        proc.send_signal(signal.SIGTERM)
        with anyio.fail_after(20):
            assert await proc.wait() == 0
    rows = await query(postgres_url, "SELECT count(*) AS n FROM executions WHERE status = 'RUNNING' AND owner IS NULL")
    assert rows[0]["n"] == 4
    assert urlsplit(postgres_url).password not in workers.logs()


def test_a_wrong_password_exits_2_with_one_line_naming_the_host(postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    wrong = urlunsplit(parts._replace(netloc=f"{parts.username}:wrong-{os.getpid()}@{parts.hostname}:{parts.port}"))
    for args in (["worker", "--store", wrong], ["list", "--store", wrong]):
        result = cli(*args, check=False)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            f"statewright: cannot connect to PostgreSQL at {parts.hostname}:{parts.port}: password authentication failed"
        ]
        assert f"wrong-{os.getpid()}" not in result.stderr + result.stdout


def test_lease_options_need_a_shared_store(tmp_path: Path) -> None:
    result = cli("worker", "--store", f"sqlite:///{tmp_path / 's.db'}", "--lease-seconds", "5", check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "statewright: --lease-seconds is for a store shared by several workers (postgresql://...)"
