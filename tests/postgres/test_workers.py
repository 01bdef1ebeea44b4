"""Worker processes on one PostgreSQL store, through the command line, as users run them.

Real processes: ``statewright start``, ``statewright worker`` (several at
once), ``statewright stop``, ``describe``; a worker is SIGKILLed and the
others take its executions over once its lease lapses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

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
    """Worker processes started by one test, all killed at its end."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, *extra: str) -> subprocess.Popen[str]:
        log = (self.folder / f"worker{len(self.procs)}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "statewright", "worker", "--store", self.url, "--quiet", *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "".join(p.read_text() for p in sorted(self.folder.glob("worker*.log")))

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(postgres_url: str, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(postgres_url, tmp_path)
    try:
        yield w
    finally:
        w.close()


def record(url: str, definition: dict[str, object], tmp_path: Path, names: list[str], **inputs: object) -> list[str]:
    path = tmp_path / "machine.json"
    path.write_text(json.dumps(definition))
    arns = []
    for i, name in enumerate(names):
        out = cli("start", str(path), "--store", url, "--name", name, "--input", json.dumps({"i": i, **inputs}))
        arns.append(json.loads(out.stdout)["executionArn"])
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


def worker_id(rows: list[asyncpg.Record], proc: subprocess.Popen[str]) -> str:
    return next(r["id"] for r in rows if r["name"].endswith(f":{proc.pid}"))


@pytest.mark.slow
async def test_a_killed_workers_executions_run_on_elsewhere_within_the_lease(
    postgres_url: str, workers: Workers, tmp_path: Path
) -> None:
    lease = 2.0
    first = workers.start("--lease-seconds", str(lease))
    second = workers.start("--lease-seconds", str(lease))
    _, registered = await until(postgres_url, "SELECT id, name FROM workers", lambda r: len(r) == 2, 20)
    doomed = worker_id(registered, first)
    # An execution started from another process is picked up within a second.
    (arn,) = record(postgres_url, WAIT_THEN_PASS, tmp_path, ["solo"])
    took, _ = await until(postgres_url, f"SELECT owner FROM executions WHERE arn = '{arn}'", lambda r: r[0]["owner"], 5)
    assert took < 1
    await record_many(postgres_url, WAIT_THEN_PASS, [f"x{i}" for i in range(11)])
    # Spread between the two workers.
    _, owners = await until(postgres_url, OWNERS, lambda r: sum(x["n"] for x in r) == 12, 5)
    assert len(owners) == 2 and all(x["n"] >= 3 for x in owners), [tuple(x) for x in owners]
    first.send_signal(signal.SIGKILL)
    first.wait()
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
    assert second.poll() is None
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0


@pytest.mark.slow
async def test_capacity_caps_a_worker_and_stop_reaches_the_owner_within_a_second(
    postgres_url: str, workers: Workers, tmp_path: Path
) -> None:
    arns = await record_many(postgres_url, WAIT_LONG, [f"c{i}" for i in range(5)])
    workers.start("--capacity", "2")
    _, owners = await until(postgres_url, OWNERS, lambda r: sum(x["n"] for x in r) == 2, 20)
    await until(postgres_url, OWNERS, lambda r: sum(x["n"] for x in r) == 2, 1.5)  # and no more
    workers.start()
    _, owners = await until(postgres_url, OWNERS, lambda r: sum(x["n"] for x in r) == 5, 20)
    assert sorted(x["n"] for x in owners) == [2, 3]
    cli("stop", arns[0], "--store", postgres_url, "--error", "Operator", "--cause", "enough")
    took, _ = await until(
        postgres_url, f"SELECT status FROM executions WHERE arn = '{arns[0]}'", lambda r: r[0]["status"] == "ABORTED", 5
    )
    assert took < 1  # from the stop being recorded to the owner having carried it out
    described = json.loads(cli("describe", arns[0], "--store", postgres_url).stdout)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Operator", "enough")
    # SIGTERM hands the rest back at once: another worker owns them without waiting for a lease.
    for proc in workers.procs:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
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
