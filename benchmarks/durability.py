"""Crash harness: a worker SIGKILLed at random moments loses nothing and does nothing twice.

    python -m benchmarks.durability [--executions 1000] [--kills 10] [--faults 0.05] [--seed 1]
    python -m benchmarks.durability --store postgresql://USER@HOST:PORT/DB --workers 3 --executions 3000 \
        --kill-workers 5 [--lease-seconds 15]

The simulators run in their own process (``benchmarks.simproc``) with
``--faults`` of the Kubernetes API answered 429/500/503. ``--executions``
executions of a mixed workload (Pass chains, Choice, Wait, Map, Parallel,
Retry/Catch and ``eks:runJob.sync`` Jobs on the simulator) are recorded in a
SQLite store, and real ``statewright worker`` processes run them: first once
without kills (the reference outputs), then on a second store while the
worker is SIGKILLed ``--kills`` times at seeded random moments and restarted
each time, until every execution has ended.

Prints one JSON line: ``executions``, ``succeeded``, ``failed``, ``lost`` (not
ended or not findable), ``duplicated_side_effects`` (Jobs the simulator saw
created more than once for one execution, state and attempt — each Job
carries a ``bench.statewright.io/call`` label naming them), ``wrong_outputs``
(status or output different from the reference run), ``kills``,
``resume_p99_s`` (from a restart to every execution running again),
``transitions_per_s`` (states entered per second of the crashed run) and
``wall_s``. Targets: 0 lost, 0 duplicated, 0 wrong, over at least 10 kills.

With ``--store postgresql://...`` the crashed run uses that database (its
statewright tables are dropped first; the reference run stays on a SQLite
file), and ``--workers N --kill-workers K [--pause-workers P]`` runs it on N
workers sharing the store, K of which are SIGKILLed at seeded moments and
replaced, P paused past their lease and let go on (``benchmarks.takeover``);
the line then also has ``takeover_p99_s`` (a killed or paused worker's
executions owned by another worker again; target: the lease plus 2 s),
``double_owner_writes`` (writes refused by the fencing epoch; none lands) and
``history_errors`` (histories that are not one unbroken sequence).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from benchmarks._common import emit
from benchmarks._workers import Worker, running, until_done
from benchmarks.simproc import CALL_LABEL, SimOptions, SimProcess
from engine import Engine
from engine.jsonvalue import dumps_str
from engine.store import open_store

# Waits and Jobs last long enough (in wall time, which runs on while a worker is dead)
# for the kills to land while much is still in flight.
WAIT_SECONDS: Final = 30
JOB_SECONDS: Final = 15
KILL_INTERVAL_S: Final = (0.2, 2.0)
KINDS: Final = ("chain", "chain", "wait", "map", "parallel", "retry", "job", "job")


def workload(cluster: dict[str, str]) -> dict[str, Any]:
    """One state machine; ``$.kind`` picks the branch an execution takes."""
    chain: dict[str, Any] = {}
    for n in range(10):
        chain[f"C{n}"] = {
            "Type": "Pass",
            "Parameters": {"kind.$": "$.kind", "i.$": "$.i", "step": n},
            "Next": f"C{n + 1}" if n < 9 else "Done",
        }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "generateName": "bench-",
            "labels": {
                f"{CALL_LABEL}.$": "States.Format('{}.J.{}', $$.Execution.Name, $$.State.RetryCount)"
            },
        },
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {"sim.statewright.io/seconds": str(JOB_SECONDS)}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
            },
        },
    }
    branch = {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "End": True}}}
    slow = {
        "StartAt": "S",
        "States": {"S": {"Type": "Wait", "Seconds": WAIT_SECONDS // 2, "Next": "T"}, "T": {"Type": "Pass", "Result": "s", "End": True}},
    }
    flaky = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Flaky", "Cause": "always"}}}
    return {
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.kind", "StringEquals": "wait", "Next": "W"},
                    {"Variable": "$.kind", "StringEquals": "map", "Next": "MPrep"},
                    {"Variable": "$.kind", "StringEquals": "parallel", "Next": "P"},
                    {"Variable": "$.kind", "StringEquals": "retry", "Next": "R"},
                    {"Variable": "$.kind", "StringEquals": "job", "Next": "J"},
                ],
                "Default": "C0",
            },
            **chain,
            "W": {"Type": "Wait", "Seconds": WAIT_SECONDS, "Next": "Done"},
            "MPrep": {"Type": "Pass", "Result": [1, 2, 3], "ResultPath": "$.items", "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "MI",
                    "States": {
                        "MI": {"Type": "Pass", "Parameters": {"v.$": "$"}, "Next": "MW"},
                        "MW": {"Type": "Wait", "Seconds": WAIT_SECONDS // 2, "End": True},
                    },
                },
                "ResultPath": "$.mapped",
                "Next": "Done",
            },
            "P": {"Type": "Parallel", "Branches": [branch, slow], "ResultPath": "$.par", "Next": "Done"},
            "R": {
                "Type": "Parallel",
                "Branches": [flaky],
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": WAIT_SECONDS // 3, "MaxAttempts": 2, "BackoffRate": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Caught"}],
                "Next": "Done",
            },
            "Caught": {"Type": "Pass", "Parameters": {"kind.$": "$.kind", "i.$": "$.i", "error.$": "$.caught.Error"}, "Next": "Done"},
            "J": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:runJob.sync",
                "Parameters": {
                    "ClusterName": cluster["name"],
                    "Endpoint": cluster["endpoint"],
                    "CertificateAuthority": cluster["ca"],
                    "Namespace": "default",
                    "Job": job,
                },
                # The injected API faults fail calls now and then: AWS users retry them the same way.
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 1}],
                "ResultSelector": {"succeeded.$": "$.status.succeeded"},
                "ResultPath": "$.job",
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }


async def _create_all(url: str, definition: dict[str, Any], prefix: str, kinds: list[str]) -> list[str]:
    engine = Engine()
    machine = engine.compile(definition)
    store = open_store(url)
    await store.open()
    arns: list[str] = []
    try:
        text = dumps_str(machine.raw)
        for i, kind in enumerate(kinds):
            _, record = engine.prepare(machine, {"kind": kind, "i": i}, name=f"{prefix}-{i:05d}", state_machine_name="bench")
            await store.create_execution(record, text)
            arns.append(record.execution_arn)
    finally:
        await store.close()
    return arns


async def _outcomes(url: str, arns: list[str]) -> tuple[list[tuple[str, Any] | None], int]:
    """Each execution's (status, output) or None when not findable, and the number of states entered."""
    store = open_store(url, create=False)
    await store.open()
    out: list[tuple[str, Any] | None] = []
    entered = 0
    try:
        for arn in arns:
            found = await store.get_execution(arn)
            if found is None:
                out.append(None)
                continue
            out.append((found.status, found.output))
            entered += sum(1 for e in await store.history(arn) if e.type.endswith("StateEntered"))
    finally:
        await store.close()
    return out, entered


async def _single_worker(url: str, env_file: str, kill: int, rng: random.Random, resumes: list[float]) -> int:
    """One worker, SIGKILLed ``kill`` times and restarted; returns the kills made."""
    kills = 0
    worker = Worker(url, env_file)
    await worker.start()
    while kills < kill:
        await worker.resumed.wait()
        resumes.append(worker.resumed_after)
        await asyncio.sleep(rng.uniform(*KILL_INTERVAL_S))
        if await running(url) == 0:
            break
        await worker.kill()
        kills += 1
        worker = Worker(url, env_file)
        await worker.start()
    await worker.resumed.wait()
    resumes.append(worker.resumed_after)
    await until_done(url, worker)
    await worker.stop()
    return kills


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    kinds = [rng.choice(KINDS) for _ in range(args.executions)]
    options = SimOptions(fault_rate=args.faults, fault_seed=args.seed, faults="kube")
    with tempfile.TemporaryDirectory(prefix="statewright-durability-") as tmp:
        async with SimProcess(options) as sim:
            definition = workload(sim.cluster)
            reference_url = f"sqlite:///{Path(tmp) / 'reference.db'}"
            crash_url = f"sqlite:///{Path(tmp) / 'crash.db'}"
            reference_arns = await _create_all(reference_url, definition, "ref", kinds)
            worker = Worker(reference_url, sim.env_file)
            await worker.start()
            await until_done(reference_url, worker)
            await worker.stop()
            expected, _ = await _outcomes(reference_url, reference_arns)

            if args.store is not None:
                crash_url = args.store
                if _shared(crash_url):
                    from benchmarks import takeover

                    await takeover.empty(crash_url)
            t0 = time.monotonic()
            resumes: list[float] = []
            kills = 0
            shared: dict[str, Any] = {}
            arns: list[str] = []
            if args.workers > 1 or args.kill_workers or args.pause_workers:
                from benchmarks import takeover

                async def record() -> None:
                    arns.extend(await _create_all(crash_url, definition, "run", kinds))

                # The workers run first and the executions arrive while they do, so each gets a share.
                shared = await takeover.crash_run(
                    crash_url,
                    sim.env_file,
                    record=record,
                    workers=args.workers,
                    kill_workers=args.kill_workers,
                    pause_workers=args.pause_workers,
                    lease_seconds=args.lease_seconds,
                    rng=rng,
                    kill_interval=KILL_INTERVAL_S,
                )
                kills = shared.pop("kills")
                resumes = shared.pop("resumes")
            else:
                arns = await _create_all(crash_url, definition, "run", kinds)
                t0 = time.monotonic()
                kills = await _single_worker(crash_url, sim.env_file, args.kills, rng, resumes)
            wall = time.monotonic() - t0
            got, entered = await _outcomes(crash_url, arns)
            creations = (await sim.ask("creations"))["creations"]
    duplicated = sum(n - 1 for key, n in creations.items() if key.startswith("run-") and n > 1)
    lost = sum(1 for g in got if g is None or g[0] == "RUNNING")
    wrong = sum(1 for g, e in zip(got, expected, strict=True) if g is not None and g[0] != "RUNNING" and g != e)
    resumes.sort()
    p99 = resumes[min(len(resumes) - 1, round(0.99 * (len(resumes) - 1)))] if resumes else None
    return {
        "name": "durability",
        "executions": args.executions,
        "succeeded": sum(1 for g in got if g is not None and g[0] == "SUCCEEDED"),
        "failed": sum(1 for g in got if g is not None and g[0] not in ("SUCCEEDED", "RUNNING")),
        "lost": lost,
        "duplicated_side_effects": duplicated,
        "wrong_outputs": wrong,
        "kills": kills,
        "resume_p99_s": round(p99, 3) if p99 is not None else None,
        "transitions_per_s": round(entered / wall, 1),
        "wall_s": round(wall, 2),
        **shared,
        "store": _display(crash_url),
        "faults": args.faults,
        "seed": args.seed,
        "jobs_created": sum(n for key, n in creations.items() if key.startswith("run-")),
    }


def _shared(url: str) -> bool:
    return url.startswith(("postgresql:", "postgres:"))


def _display(url: str) -> str:
    """The store's URL without a password (the PostgreSQL store's own name for itself)."""
    if _shared(url):
        from engine.store.postgres import PostgresStore

        return PostgresStore(url).url
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--faults", type=float, default=0.05, help="fraction of Kubernetes API answers faulted")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--store", metavar="URL", help="the crashed run's store (default: a SQLite file); emptied")
    parser.add_argument("--workers", type=int, default=1, help="workers sharing a PostgreSQL store (default 1)")
    parser.add_argument("--kill-workers", type=int, default=0, help="with --workers: SIGKILL and replace this many")
    parser.add_argument(
        "--pause-workers", type=int, default=0, help="with --workers: SIGSTOP this many past their lease, then SIGCONT"
    )
    parser.add_argument("--lease-seconds", type=float, default=15.0, help="the workers' lease (default 15)")
    args = parser.parse_args()
    if args.executions < 1 or args.kills < 0 or not 0 <= args.faults <= 1:
        parser.error("--executions must be positive, --kills not negative, --faults between 0 and 1")
    if args.workers < 1 or args.kill_workers < 0 or args.pause_workers < 0 or args.lease_seconds <= 0:
        parser.error("--workers must be positive, --kill-workers/--pause-workers not negative, --lease-seconds above 0")
    if args.pause_workers and args.workers < 2:
        parser.error("--pause-workers needs --workers 2 or more (another worker takes over)")
    if (args.workers > 1 or args.kill_workers) and not (args.store and _shared(args.store)):
        parser.error("--workers/--kill-workers need a store shared by several workers: --store postgresql://...")
    if (args.workers > 1 or args.kill_workers) and "--kills" in sys.argv[1:]:
        parser.error("with several workers, --kill-workers says how many are killed (not --kills)")
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
