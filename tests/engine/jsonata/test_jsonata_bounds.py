"""Unbounded JSONata: every evaluation is bounded in time, depth and allocation.

Invariant: a runaway expression (endless recursion, a huge sequence, a map
over millions of items) fails its state with ``States.QueryEvaluationError``
instead of running on, and while it runs a one-second Wait in another
execution still ends within about half a second of its time. Runaways at
the same moment share one budget, so many of them hold the loop little
longer than one.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from engine import Engine
from engine.jsonata import JsonataEvaluationError, compile_expression, evaluation_pause


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
        # The 1e7 items are each evaluated, so the time limit stops it at 500 ms. (A bare
        # $sum([1..10000000]) is stopped only after the library has type-checked every item
        # of $sum's argument in one go, uninterrupted: from 1 to over 20 s on this machine.)
        "$sum([1..10000000].($ * 2))",
        "$count($range(1, 100000000, 1))",
        "$count($map([1..2000000], function($v){ $v * 2 }))",
    ],
    ids=["endless-recursion", "sum-of-1e7", "range-1e8", "map-2e6"],
)
async def test_a_runaway_expression_fails_with_query_evaluation_error(expression: str) -> None:
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(_output(expression), {})
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")


def _pause_in_a_new_loop() -> float:
    async def pause() -> float:
        return evaluation_pause()

    return asyncio.run(pause())


def test_evaluations_without_a_loop_make_no_loop_pause() -> None:
    runaway = compile_expression("($f := function($x){ $f($x+1) }; $f(0))")
    for _ in range(2):
        with pytest.raises(JsonataEvaluationError):
            runaway.evaluate({"states": {"input": {}}}, rng=random.Random(0))
    # They held no loop: one that starts now has nothing to wait out (it waited 1 s, their sum).
    assert _pause_in_a_new_loop() == 0


def test_a_loop_does_not_wait_out_the_pause_another_loop_earned() -> None:
    runaway = compile_expression("($f := function($x){ $f($x+1) }; $f(0))")

    async def spend() -> float:
        with pytest.raises(JsonataEvaluationError):
            runaway.evaluate({"states": {"input": {}}}, rng=random.Random(0))
        return evaluation_pause()

    assert 0.3 < asyncio.run(spend()) <= 0.6
    # The next asyncio.run on this thread was held by nothing (it paused 0.5 s before its first state).
    assert _pause_in_a_new_loop() == 0


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


async def _watch_lag(period: float, worst: list[float]) -> None:
    """Record, in ``worst[0]``, how late the loop came back to a ``period`` sleep (its own clock)."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(period)
        worst[0] = max(worst[0], loop.time() - asked - period)


async def test_concurrent_runaway_expressions_share_one_budget_so_the_loop_stays_answering() -> None:
    # Each runaway alone may hold the loop for the evaluation time limit (500 ms). Eight at the
    # same moment must not add up to 8 x 500 ms: together they get one turn's budget, and a plain
    # execution beside them, with the loop's own clock watching, is held far less than that.
    runaways = 8
    runaway = _output("($f := function($x){ $f($x+1) }; $f(0))")
    plain = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "P"}, "P": {"Type": "Pass", "End": True}},
    }
    loop = asyncio.get_running_loop()
    worst = [0.0]
    async with Engine(load_plugins=False) as engine:
        watcher = asyncio.create_task(_watch_lag(0.01, worst))
        await asyncio.sleep(0.05)
        start = loop.time()
        waiting = engine.start(plain)
        busy = [engine.start(runaway, {}) for _ in range(runaways)]
        await waiting.wait()
        plain_took = loop.time() - start
        results = [await ex.wait() for ex in busy]
        watcher.cancel()
    assert all(r.error == "States.QueryEvaluationError" for r in results)
    # Before the shared budget: about 4 s of lag. Now one runaway at a stretch, then as long
    # free: about 0.5 s, which a loaded 2-core machine may stretch to twice that.
    assert worst[0] < 1.5, worst[0]
    assert plain_took < 1 + 1.5, plain_took


async def test_a_spent_budget_pauses_jsonata_as_long_but_never_cuts_an_evaluation_short() -> None:
    # No await between the evaluations: they are all one turn of the loop.
    runaway = compile_expression("($f := function($x){ $f($x+1) }; $f(0))")
    slow = compile_expression("$sum($map([1..3000], function($v){ $v * 2 }))")
    bindings: dict[str, Any] = {"states": {"input": {}}}
    rng = random.Random(0)
    await asyncio.sleep(evaluation_pause())
    assert evaluation_pause() == 0
    with pytest.raises(JsonataEvaluationError) as first:
        runaway.evaluate(bindings, rng=rng)
    assert first.value.code == "D1012"
    # The turn spent its 500 ms: JSONata states wait as long again before they evaluate.
    assert 0.3 < evaluation_pause() <= 0.6
    # Slow but sound, in a spent turn: it still gets the whole limit and its answer.
    assert slow.evaluate(bindings, rng=rng) == 3000 * 3001
    await asyncio.sleep(evaluation_pause())
    assert evaluation_pause() == 0


def _slow_chain(states: int) -> dict[str, Any]:
    """A JSONata Pass chain whose every state evaluates a slow but sound expression (tens of ms)."""
    names = [f"S{i}" for i in range(states)]
    return {
        "QueryLanguage": "JSONata",
        "StartAt": names[0],
        "States": {
            name: {
                "Type": "Pass",
                "Output": {"n": "{% $states.input.n + $count($map([1..3000], function($v){ $v * 2 })) %}"},
                **({"Next": names[i + 1]} if i + 1 < states else {"End": True}),
            }
            for i, name in enumerate(names)
        },
    }


async def test_slow_sound_expressions_beside_runaways_all_succeed() -> None:
    # Runaways spend every turn's budget; the chain's states then wait for the next turn instead
    # of being cut short, so all of them succeed (a per-turn cut failed them with D1012).
    runaway = _output("($f := function($x){ $f($x+1) }; $f(0))")
    async with Engine(load_plugins=False) as engine:
        chains = [engine.start(_slow_chain(6), {"n": 0}) for _ in range(3)]
        busy = [engine.start(runaway, {}) for _ in range(4)]
        results = [await ex.wait() for ex in chains]
        failed = [await ex.wait() for ex in busy]
    assert [(r.status, r.output) for r in results] == [("SUCCEEDED", {"n": 6 * 3000})] * 3
    assert all(r.error == "States.QueryEvaluationError" for r in failed)
