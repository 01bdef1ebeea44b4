"""Transitions per second with the PostgreSQL store: 10,000 executions run by 1, then 2, worker processes.

The workload is ``benchmarks.transitions``' 20-state Pass chain (so the figure
compares with the in-memory one). The executions are recorded in an empty
database first, as ``statewright start`` records them; then W real worker
processes (``statewright worker --store URL --quiet``) are started together
and the clock runs from the moment all of them hold a lease to the moment the
database says every execution SUCCEEDED. Every transition, history event and
end is committed to PostgreSQL by the workers' group commits.

What limits it is printed alongside: the CPU seconds the workers and the
PostgreSQL server processes used in that time (from /proc), next to the wall
time and the machine's core count — on two shared cores, two workers and the
server compete for the same CPUs.

    python -m benchmarks.scaleout --store postgresql://USER@HOST:PORT/DB \\
        [--executions 10000] [--states 20] [--workers 1,2] [--repeat 3]

The database must be one this benchmark may empty: its statewright tables are
dropped before each run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from benchmarks._common import emit
from benchmarks.transitions import chain
from engine import Engine
from engine.jsonvalue import dumps_str
from engine.store.postgres import PostgresStore

TABLES = ("history", "history_chunks", "stop_requests", "executions", "state_machines", "definitions", "workers", "statewright_schema")
RECORDING_CONCURRENCY = 16


def _target(url: str) -> str:
    return PostgresStore(url).url  # the URL without its password, for the output


async def _reset(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {', '.join(TABLES)} CASCADE")
    finally:
        await conn.close()


async def _record(url: str, executions: int, states: int) -> float:
    """Record the executions as ``statewright start`` does; returns the seconds it took."""
    planner = Engine(load_plugins=False)
    machine = planner.compile(chain(states))
    text = dumps_str(machine.raw)
    store = PostgresStore(url, pool_size=RECORDING_CONCURRENCY // 2)
    await store.open()
    started = time.perf_counter()
    try:
        gate = asyncio.Semaphore(RECORDING_CONCURRENCY)

        async def one(k: int) -> None:
            _m, record = planner.prepare(machine, {"v": k}, name=f"bench-{k}", state_machine_name="bench")
            async with gate:
                await store.create_execution(record, text)

        await asyncio.gather(*(one(k) for k in range(executions)))
    finally:
        await store.close()
    return time.perf_counter() - started


def _cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each process has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime (fields 14-17 of proc(5), counted after the command name).
        out[pid] = sum(int(f) for f in fields[11:15]) / ticks
    return out


def _used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def _server_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


async def _scalar(conn: asyncpg.Connection, sql: str) -> int:
    try:
        return int(await conn.fetchval(sql))
    except asyncpg.UndefinedTableError:
        return 0


async def run_once(url: str, executions: int, states: int, workers: int) -> dict[str, object]:
    await _reset(url)
    recording_s = await _record(url, executions, states)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "statewright", "worker", "--store", url, "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    conn = await asyncpg.connect(url)
    try:
        while await _scalar(conn, "SELECT count(*) FROM workers WHERE lease_expires > now()") < workers:
            await asyncio.sleep(0.01)
        t0 = time.perf_counter()
        # The server forks a backend per connection: those the workers open later start from 0 s.
        server_cpu0 = _cpu(_server_pids())
        workers_cpu0 = _cpu([p.pid for p in procs])
        while await _scalar(conn, "SELECT count(*) FROM executions WHERE status = 'RUNNING'") > 0:
            await asyncio.sleep(0.02)
        seconds = time.perf_counter() - t0
        workers_cpu = _used(workers_cpu0, _cpu([p.pid for p in procs]))
        server_cpu = _used(server_cpu0, _cpu(_server_pids()))
        succeeded = await _scalar(conn, "SELECT count(*) FROM executions WHERE status = 'SUCCEEDED'")
        events = await _scalar(conn, "SELECT coalesce(sum(last_id - first_id + 1), 0) FROM history_chunks")
        chunks = await _scalar(conn, "SELECT count(*) FROM history_chunks")
        shares = sorted(
            int(r["n"]) for r in await conn.fetch("SELECT owner, count(*) AS n FROM executions GROUP BY owner")
        )
    finally:
        await conn.close()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
    transitions = executions * states
    return {
        "name": "scaleout.transitions",
        "store": _target(url),
        "workers": workers,
        "executions": executions,
        "states": states,
        "succeeded": succeeded,
        "history_events": events,
        "history_rows": chunks,
        "executions_per_worker": shares,
        "n": transitions,
        "seconds": round(seconds, 3),
        "rate": round(transitions / seconds, 1),
        "workers_cpu_s": round(workers_cpu, 2),
        "server_cpu_s": round(server_cpu, 2),
        "cpu_busy": round((workers_cpu + server_cpu) / seconds, 2),
        "recording_s": round(recording_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True, metavar="URL", help="postgresql://USER@HOST:PORT/DB (emptied)")
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--states", type=int, default=20)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    rates: dict[int, list[float]] = {w: [] for w in counts}
    for _ in range(args.repeat):
        for w in counts:
            rec = asyncio.run(run_once(args.store, args.executions, args.states, w))
            rates[w].append(float(rec["rate"]))  # type: ignore[arg-type]
            emit(rec)
    for w in counts:
        emit(
            {
                "name": "scaleout.median",
                "store": _target(args.store),
                "workers": w,
                "executions": args.executions,
                "states": args.states,
                "repeat": args.repeat,
                "rate_p50": statistics.median(rates[w]),
            }
        )


if __name__ == "__main__":
    main()
