"""Unbounded JSONata: every evaluation is bounded in time, depth and allocation.

Invariant: a runaway expression (endless recursion, a huge sequence, a map
over millions of items) fails its state with ``States.QueryEvaluationError``
instead of running on, and while it runs a one-second Wait in another
execution still ends within about half a second of its time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine import Engine


def _output(expression: str) -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Output": {"x": "{% " + expression + " %}"}, "End": True}},
    }


@pytest.mark.parametrize(
    "expression",
    [
        "($f := function($x){ $f($x+1) }; $f(0))",
        "$sum([1..10000000])",
        "$count($range(1, 100000000, 1))",
        "$count($map([1..2000000], function($v){ $v * 2 }))",
    ],
    ids=["endless-recursion", "sum-of-1e7", "range-1e8", "map-2e6"],
)
async def test_a_runaway_expression_fails_with_query_evaluation_error(expression: str) -> None:
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(_output(expression), {})
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")


async def test_bounded_expressions_still_work_recursion_included() -> None:
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(_output("($f := function($x){ $x > 0 ? $x + $f($x-1) : 0 }; $f(100))"), {})
        ranged = await engine.run(_output("$count($range(1, 10000, 1))"), {})
    assert (result.status, result.output) == ("SUCCEEDED", {"x": 5050})
    assert ranged.output == {"x": 10000}


async def test_a_wait_elsewhere_ends_on_time_while_runaway_expressions_run() -> None:
    # Real time: the point is how long the loop is held.
    runaway = _output("($f := function($x){ $f($x+1) }; $f(0))")
    waiter = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    loop = asyncio.get_running_loop()
    async with Engine(load_plugins=False) as engine:
        start = loop.time()
        waiting = engine.start(waiter)
        busy = [engine.start(runaway, {})]
        await waiting.wait()
        ended = loop.time() - start
        results = [await ex.wait() for ex in busy]
    assert all(r.error == "States.QueryEvaluationError" for r in results)
    assert ended < 1.6
