"""Virtual time: how long a state machine with an hour of Waits takes on the fast-forwarding loop.

Runs ``--executions`` executions of a machine whose Waits add up to
``--wait-seconds`` (default 3600, in ``--waits`` Wait states) on the loop that
``statewright run --virtual-time`` uses, one engine per run, and prints one
JSON line per configuration: real seconds per execution (p50/p95/p99), the
virtual seconds the history spans, and whether that span equals the Waits.

    python -m benchmarks.virtual_time [--waits 6] [--wait-seconds 3600] [--runs 20] [--executions 1]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from benchmarks._common import emit, percentiles
from engine import Engine, ExecutorRegistry
from statewright.commands.virtual_time import run_virtual, virtual_clock


def machine(waits: int, total: float) -> dict[str, Any]:
    each = total / waits
    states: dict[str, Any] = {}
    for i in range(waits):
        states[f"W{i}"] = {
            "Type": "Wait",
            "Seconds": each,
            **({"Next": f"W{i + 1}"} if i + 1 < waits else {"End": True}),
        }
    return {"StartAt": "W0", "States": states}


async def one_run(definition: dict[str, Any], executions: int) -> tuple[float, float]:
    started = time.perf_counter()
    async with Engine(registry=ExecutorRegistry(), load_plugins=False, clock=virtual_clock()) as engine:
        runs = [engine.start(definition, {}) for _ in range(executions)]
        results = await asyncio.gather(*(r.wait() for r in runs))
    real = time.perf_counter() - started
    history = list(results[0].history)
    return real, history[-1].timestamp - history[0].timestamp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waits", type=int, default=6)
    parser.add_argument("--wait-seconds", type=float, default=3600.0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--executions", type=int, default=1)
    args = parser.parse_args()
    definition = machine(args.waits, args.wait_seconds)
    reals: list[float] = []
    spans: list[float] = []
    for _ in range(args.runs):
        real, span = run_virtual(one_run(definition, args.executions))
        reals.append(real)
        spans.append(span)
    emit(
        {
            "name": "virtual_time",
            "waits": args.waits,
            "wait_seconds": args.wait_seconds,
            "executions": args.executions,
            "n": args.runs,
            **{f"{k}_s": v for k, v in percentiles(reals).items()},
            "history_span_s": round(spans[0], 3),
            "span_equals_waits": all(abs(s - args.wait_seconds) < 1e-3 for s in spans),
        }
    )


if __name__ == "__main__":
    main()
