"""The crash harness with several workers on one PostgreSQL store (``benchmarks.durability --workers N``).

``benchmarks.durability`` records the workload, runs the reference and
counts lost executions, duplicated Jobs and wrong outputs; this module runs
the crashed run with ``workers`` real ``statewright worker`` processes on a
PostgreSQL store: ``kill_workers`` times, at seeded random moments, it
SIGKILLs a random live worker and starts a new one in its place. It measures:

- ``takeover_s``: for each execution the killed worker owned, the time from
  the kill until the store shows it owned by another (live) worker — or
  ended, when that came first. Expected within the lease plus the claim poll
  (a worker polls each second when no notification comes).
- With ``pause_workers``, some of the victims are not killed but SIGSTOPped
  for the lease plus 3 s and then SIGCONTed: a paused worker comes back to
  executions that others own by then, and its writes must be refused.
- ``double_owner_writes``: writes refused by the fencing epoch (each worker
  logs ``another worker owns execution ... now; dropping it here`` when its
  write is refused), read from the workers' stderr.
- ``history_errors``: executions whose stored history is not one unbroken
  sequence (ids 1..n, the stored event count n, one end event): what a
  refused write would have broken had it landed.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import asyncpg

from benchmarks._workers import Worker, running, until_done

TAKEOVER_POLL_S: Final = 0.05
END_EVENTS: Final = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")
TABLES: Final = (
    "history", "history_chunks", "stop_requests", "executions", "state_machines", "definitions", "workers", "statewright_schema",
)  # fmt: skip


async def empty(url: str) -> None:
    """Drop the statewright tables of the harness's database (it says so in its help)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {', '.join(TABLES)} CASCADE")
    finally:
        await conn.close()


async def _owner_ids(conn: asyncpg.Connection, workers: Sequence[Worker]) -> dict[int, str]:
    rows = await conn.fetch("SELECT id, name FROM workers")
    pids = {w.process.pid: w for w in workers if w.process is not None}
    return {pid: r["id"] for r in rows for pid in pids if r["name"].endswith(f":{pid}")}


async def _watch_takeover(url: str, doomed: str, arns: list[str], killed_at: float, out: list[float]) -> None:
    conn = await asyncpg.connect(url)
    try:
        pending = set(arns)
        while pending:
            rows = await conn.fetch(
                "SELECT arn FROM executions WHERE arn = ANY($1::text[]) AND (status <> 'RUNNING' OR "
                "(owner IS NOT NULL AND owner <> $2 AND owner IN (SELECT id FROM workers WHERE lease_expires > now())))",
                list(pending),
                doomed,
            )
            now = time.monotonic()
            for r in rows:
                pending.discard(r["arn"])
                out.append(now - killed_at)
            await asyncio.sleep(TAKEOVER_POLL_S)
    finally:
        await conn.close()


async def crash_run(
    url: str,
    env_file: str,
    *,
    record: Callable[[], Awaitable[None]],
    workers: int,
    kill_workers: int,
    pause_workers: int = 0,
    lease_seconds: float,
    rng: random.Random,
    kill_interval: tuple[float, float],
) -> dict[str, Any]:
    """Start ``workers`` workers, ``record()`` the executions, and kill ``kill_workers`` workers on the way."""
    live = [Worker(url, env_file, lease_seconds) for _ in range(workers)]
    retired: list[Worker] = []
    for w in live:
        await w.start()
    for w in live:
        await w.resumed.wait()
    await record()
    takeovers: list[float] = []
    watchers: list[asyncio.Task[None]] = []
    kills = pauses = 0
    plan = ["kill"] * kill_workers + ["pause"] * pause_workers
    rng.shuffle(plan)
    conn = await asyncpg.connect(url)
    try:
        for what in plan:
            await asyncio.sleep(rng.uniform(*kill_interval))
            if await running(url) == 0:
                break
            victim = rng.choice(live)
            process = victim.process
            assert process is not None
            ids = await _owner_ids(conn, live)
            doomed = ids.get(process.pid)
            owned: list[str] = []
            if doomed is not None:
                rows = await conn.fetch("SELECT arn FROM executions WHERE owner = $1 AND status = 'RUNNING'", doomed)
                owned = [r["arn"] for r in rows]
            if what == "pause":
                process.send_signal(signal.SIGSTOP)
                paused_at = time.monotonic()
                pauses += 1
                if doomed is not None and owned:
                    await _watch_takeover(url, doomed, owned, paused_at, takeovers)
                await asyncio.sleep(max(0.0, paused_at + lease_seconds + 3 - time.monotonic()))
                process.send_signal(signal.SIGCONT)
                continue
            await victim.kill()
            killed_at = time.monotonic()
            kills += 1
            if doomed is not None and owned:
                watchers.append(asyncio.get_running_loop().create_task(
                    _watch_takeover(url, doomed, owned, killed_at, takeovers)
                ))  # fmt: skip
            live.remove(victim)
            retired.append(victim)
            fresh = Worker(url, env_file, lease_seconds)
            await fresh.start()
            live.append(fresh)
        await until_done(url, live[0])
        await asyncio.gather(*watchers)
        errors = await _history_errors(url)
    finally:
        await conn.close()
        for w in live:
            await w.stop()
    resumes = [w.resumed_after for w in live + retired if w.resumed.is_set()]
    takeovers.sort()
    p99 = takeovers[min(len(takeovers) - 1, round(0.99 * (len(takeovers) - 1)))] if takeovers else None
    return {
        "workers": workers,
        "kills": kills,
        "pauses": pauses,
        "resumes": resumes,
        "lease_seconds": lease_seconds,
        "taken_over": len(takeovers),
        "takeover_p50_s": round(takeovers[len(takeovers) // 2], 3) if takeovers else None,
        "takeover_p99_s": round(p99, 3) if p99 is not None else None,
        "double_owner_writes": sum(w.fenced for w in live + retired),
        "history_errors": errors,
    }


async def _history_errors(url: str) -> int:
    """Executions whose stored history is not ids 1..n (n the stored count) with one end event if ended."""
    from engine.store import open_store

    store = open_store(url, create=False)
    await store.open()
    errors = 0
    try:
        token: str | None = None
        while True:
            page = await store.list_executions(max_results=1000, next_token=token)
            for execution in page.items:
                events = await store.history(execution.execution_arn)
                ends = sum(1 for e in events if e.type in END_EVENTS)
                whole = [e.id for e in events] == list(range(1, len(events) + 1))
                if not whole or ends != (0 if execution.status == "RUNNING" else 1):
                    errors += 1
            token = page.next_token
            if token is None:
                return errors
    finally:
        await store.close()
