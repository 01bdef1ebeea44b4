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
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
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
    executions: int, states: int, *, guard: bool, history: bool, tuned_gc: bool = False
) -> dict[str, object]:
    machine = parse_definition(chain(states))
    registry = ExecutorRegistry()
    gc.collect()
    saved = gc.get_threshold()
    if tuned_gc:
        gc.set_threshold(*TUNED_GC)
    try:
        return await _measure(
            machine, registry, executions, states, guard=guard, history=history, tuned_gc=tuned_gc
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
) -> dict[str, object]:
    async with Engine(
        registry=registry, size_limit=262_144 if guard else None, record_history=history, seed=1
    ) as engine:
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        handles = [engine.start(machine, {"v": k}) for k in range(executions)]
        results = [await h.wait() for h in handles]
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    ok = sum(1 for r in results if r.status == "SUCCEEDED")
    transitions = executions * states
    return {
        "name": "transitions",
        "executions": executions,
        "states": states,
        "size_guard": guard,
        "history": history,
        "gc": "tuned" if tuned_gc else "default",
        "succeeded": ok,
        "n": transitions,
        "seconds": round(seconds, 4),
        "cpu_s": round(cpu, 4),
        "rate": round(transitions / seconds, 1),
        "rate_cpu": round(transitions / cpu, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--states", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rates: dict[tuple[bool, bool], list[float]] = {}
    for _ in range(args.repeat):
        for tuned in (False, True):
            for guard in (True, False):
                rec = asyncio.run(
                    run_once(args.executions, args.states, guard=guard, history=True, tuned_gc=tuned)
                )
                rates.setdefault((tuned, guard), []).append(float(rec["rate"]))  # type: ignore[arg-type]
                emit(rec)
    for tuned in (False, True):
        on, off = statistics.median(rates[(tuned, True)]), statistics.median(rates[(tuned, False)])
        emit(
            {
                "name": "transitions.median",
                "executions": args.executions,
                "states": args.states,
                "repeat": args.repeat,
                "gc": "tuned" if tuned else "default",
                "rate_p50_guard_on": on,
                "rate_p50_guard_off": off,
                "size_guard_cost_us_per_transition": round((1 / on - 1 / off) * 1e6, 3),
            }
        )


if __name__ == "__main__":
    main()
