"""Transitions per second: many executions of a 20-state Pass chain.

Each state is ``{"Type": "Pass", "Parameters": {"i": N, "v.$": "$.v"},
"ResultPath": "$.last"}``; the size guard is on and the history recorded.
The definition is parsed once; all executions run concurrently on one event
loop (one core). Prints one JSON line per run and a median line, plus the
size guard's share measured by a run with the guard off.

Python's cyclic garbage collector matters here: every transition allocates
history events and JSON dicts, and the live history of 10,000 executions is
hundreds of thousands of objects. Each configuration is therefore measured
twice: with the interpreter's default GC thresholds, and with the young
generation's threshold raised (``gc.set_threshold(100_000, 50, 100)``, what a
service embedding the engine would set at start-up; the engine itself never
changes process-wide GC settings).

    python -m benchmarks.transitions [--executions 10000] [--states 20] [--repeat 3]
        [--store sqlite:///PATH]

With ``--store`` every execution is kept in that durable store (the file is
replaced before each run) and a run ends once the store has committed
everything, so the rate includes the group commits. Each store run is then
followed by the same run in memory, and the median lines give the store's
rate as a share of it (``store_vs_memory``): on a shared machine the load
changes between runs, and a ratio of neighbouring runs is steadier than
either rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shutil
import statistics
import subprocess
import time

from benchmarks._common import emit
from engine import Engine, ExecutorRegistry, parse_definition


def chain(n: int) -> dict[str, object]:
    states: dict[str, object] = {}
    for i in range(n):
        st: dict[str, object] = {"Type": "Pass", "Parameters": {"i": i, "v.$": "$.v"}, "ResultPath": "$.last"}
        if i == n - 1:
            st["End"] = True
        else:
            st["Next"] = f"S{i + 1}"
        states[f"S{i}"] = st
    return {"StartAt": "S0", "States": states}


TUNED_GC = (100_000, 50, 100)


async def run_once(
    executions: int,
    states: int,
    *,
    guard: bool,
    history: bool,
    tuned_gc: bool = False,
    store: str | None = None,
    as_dict: bool = False,
) -> dict[str, object]:
    machine: object = chain(states) if as_dict else parse_definition(chain(states))
    registry = ExecutorRegistry()
    gc.collect()
    saved = gc.get_threshold()
    if tuned_gc:
        gc.set_threshold(*TUNED_GC)
    try:
        if store is not None:
            _fresh(store)
        return await _measure(
            machine, registry, executions, states, guard=guard, history=history, tuned_gc=tuned_gc, store=store
        )
    finally:
        gc.set_threshold(*saved)


async def _measure(
    machine: object,
    registry: ExecutorRegistry,
    executions: int,
    states: int,
    *,
    guard: bool,
    history: bool,
    tuned_gc: bool,
    store: str | None = None,
) -> dict[str, object]:
    async with Engine(
        registry=registry, size_limit=262_144 if guard else None, record_history=history, seed=1, store=store
    ) as engine:
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        loop_cpu0 = time.thread_time()
        handles = [engine.start(machine, {"v": k}) for k in range(executions)]  # type: ignore[arg-type]
        results = [await h.wait() for h in handles]
        ended = time.perf_counter()
        if engine.store is not None:
            await engine.store.flush()  # a durable run ends when everything is committed
        done = time.perf_counter()
        seconds = done - t0
        cpu = time.process_time() - cpu0
        loop_cpu = time.thread_time() - loop_cpu0
    ok = sum(1 for r in results if r.status == "SUCCEEDED")
    transitions = executions * states
    return {
        "name": "transitions",
        "executions": executions,
        "states": states,
        "size_guard": guard,
        "history": history,
        "gc": "tuned" if tuned_gc else "default",
        "store": store,
        "definition": "parsed" if not isinstance(machine, dict) else "dict",
        "succeeded": ok,
        "n": transitions,
        "seconds": round(seconds, 4),
        "cpu_s": round(cpu, 4),
        "rate": round(transitions / seconds, 1),
        "rate_cpu": round(transitions / cpu, 1),
        # With a store: the event loop's own CPU (cpu_s adds the store's thread), and how long the
        # last commits took after every execution had ended.
        "loop_cpu_s": round(loop_cpu, 4),
        "commit_tail_s": round(done - ended, 4),
    }


def _fresh(url: str) -> None:
    """Remove a SQLite store's files so each run starts empty (names repeat: the engine is seeded)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///").partition("?")[0]
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path + suffix)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--states", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", metavar="URL", help="keep executions in this store (sqlite:///PATH; replaced per run)")
    parser.add_argument(
        "--dict", action="store_true", help="pass the definition dict to every start (default GC), beside parsed-once"
    )
    parser.add_argument(
        "--node-modules", metavar="DIR", help="with --dict: also run aws-local-stepfunctions installed in DIR"
    )
    args = parser.parse_args()
    if args.dict:
        _dict_mode(args)
        return
    rates: dict[tuple[bool, bool], list[float]] = {}
    memory: dict[tuple[bool, bool], list[float]] = {}
    shares: dict[tuple[bool, bool], list[float]] = {}
    for _ in range(args.repeat):
        for tuned in (False, True):
            for guard in (True, False):
                rec = asyncio.run(
                    run_once(
                        args.executions, args.states, guard=guard, history=True, tuned_gc=tuned, store=args.store
                    )
                )
                rate = float(rec["rate"])  # type: ignore[arg-type]
                rates.setdefault((tuned, guard), []).append(rate)
                emit(rec)
                if args.store is not None:
                    mem = asyncio.run(run_once(args.executions, args.states, guard=guard, history=True, tuned_gc=tuned))
                    mem_rate = float(mem["rate"])  # type: ignore[arg-type]
                    memory.setdefault((tuned, guard), []).append(mem_rate)
                    shares.setdefault((tuned, guard), []).append(rate / mem_rate)
                    emit(mem)
    for tuned in (False, True):
        on, off = statistics.median(rates[(tuned, True)]), statistics.median(rates[(tuned, False)])
        line: dict[str, object] = {
            "name": "transitions.median",
            "executions": args.executions,
            "states": args.states,
            "repeat": args.repeat,
            "gc": "tuned" if tuned else "default",
            "store": args.store,
            "rate_p50_guard_on": on,
            "rate_p50_guard_off": off,
            "size_guard_cost_us_per_transition": round((1 / on - 1 / off) * 1e6, 3),
        }
        if args.store is not None:
            # The median of each run's share of the memory run beside it, not a ratio of medians.
            line["memory_rate_p50_guard_on"] = statistics.median(memory[(tuned, True)])
            line["memory_rate_p50_guard_off"] = statistics.median(memory[(tuned, False)])
            line["store_vs_memory_guard_on"] = round(statistics.median(shares[(tuned, True)]), 3)
            line["store_vs_memory_guard_off"] = round(statistics.median(shares[(tuned, False)]), 3)
        emit(line)


def _node_run(node_modules: str | None, executions: int, states: int) -> dict[str, object]:
    """One run of the workload on aws-local-stepfunctions, or why it could not run."""
    node = shutil.which("node")
    if node is None:
        return {"name": "transitions.node", "skipped": "node is not installed"}
    if not node_modules or not os.path.isdir(os.path.join(node_modules, "node_modules", "aws-local-stepfunctions")):
        return {
            "name": "transitions.node",
            "skipped": "aws-local-stepfunctions not found: npm install it in a folder and pass --node-modules FOLDER",
        }
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_transitions.cjs")
    done = subprocess.run(
        [node, script, node_modules, str(executions), str(states)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return {"name": "transitions.node", "skipped": f"node failed: {done.stderr.strip()[-300:]}"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _dict_mode(args: argparse.Namespace) -> None:
    rates: dict[bool, list[float]] = {False: [], True: []}
    node_rates: list[float] = []
    for _ in range(args.repeat):
        for as_dict in (False, True):
            rec = asyncio.run(
                run_once(args.executions, args.states, guard=True, history=True, store=args.store, as_dict=as_dict)
            )
            rates[as_dict].append(float(rec["rate"]))  # type: ignore[arg-type]
            emit(rec)
        node_rec = _node_run(args.node_modules, args.executions, args.states)
        emit(node_rec)
        if "rate" in node_rec:
            node_rates.append(float(node_rec["rate"]))  # type: ignore[arg-type]
    parsed, given = statistics.median(rates[False]), statistics.median(rates[True])
    node_p50 = statistics.median(node_rates) if node_rates else None
    emit(
        {
            "name": "transitions.node.median",
            "rate_p50_node": node_p50,
            "dict_vs_node": round(given / node_p50, 2) if node_p50 else None,
        }
    )
    emit(
        {
            "name": "transitions.dict.median",
            "executions": args.executions,
            "states": args.states,
            "repeat": args.repeat,
            "gc": "default",
            "rate_p50_parsed_once": parsed,
            "rate_p50_dict": given,
            "dict_vs_parsed": round(given / parsed, 3),
        }
    )


if __name__ == "__main__":
    main()
