"""Executions that never await: stop, timeouts, the history quota and the rest of the loop.

Invariant: a machine of plain states (Pass, Choice) cannot keep the event loop
to itself. It yields every ``SYNC_STEPS_PER_YIELD`` states, so other
executions progress, ``stop`` wins from the moment ``start`` returns, the
machine's ``TimeoutSeconds`` fires, and a Standard execution fails at AWS's
25,000-event quota exactly as AWS records it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine import Engine, SystemClock
from engine.history import MAX_EVENTS

PASS_LOOP: dict[str, Any] = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
CHOICE_LOOP: dict[str, Any] = {
    "StartAt": "C",
    "States": {
        "C": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.spin", "BooleanEquals": True, "Next": "C"}],
            "Default": "D",
        },
        "D": {"Type": "Succeed"},
    },
}
CHAIN: dict[str, Any] = {
    "StartAt": "A",
    "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}},
}


async def test_stop_right_after_start_aborts_a_machine_that_never_awaits() -> None:
    async with Engine(load_plugins=False) as engine:
        execution = engine.start(CHAIN, {"n": 1})
        execution.stop("Operator.Cancelled", "no longer needed")
        result = await execution.wait()
    assert (result.status, result.error, result.cause) == (
        "ABORTED",
        "Operator.Cancelled",
        "no longer needed",
    )
    assert result.history.types == ["ExecutionStarted", "ExecutionAborted"]


@pytest.mark.parametrize("definition", [PASS_LOOP, CHOICE_LOOP], ids=["pass", "choice"])
async def test_a_standard_loop_fails_at_the_history_quota_as_aws_records_it(definition: Any) -> None:
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(definition, {"spin": True})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == "The execution reached the maximum number of history events (25000)."
    assert len(result.history) == MAX_EVENTS
    last, before = result.history[-1], result.history[-2]
    assert (last.id, last.type, last.previous_event_id) == (25_000, "ExecutionFailed", 24_999)
    assert before.type.endswith("StateExited")


async def test_the_quota_counts_events_even_when_history_is_not_kept() -> None:
    async with Engine(load_plugins=False, record_history=False) as engine:
        result = await engine.run(PASS_LOOP)
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


async def test_the_quota_holds_inside_parallel_branches() -> None:
    branch = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [branch] * 3, "End": True}},
    }
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(definition)
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "25000" in (result.cause or "")


# Real time (about a second each): virtual loop time never moves while a loop is kept busy.
@pytest.mark.parametrize("definition", [PASS_LOOP, CHOICE_LOOP], ids=["pass", "choice"])
async def test_an_express_loop_ends_at_its_timeout(definition: Any) -> None:
    loop = asyncio.get_running_loop()
    async with Engine(load_plugins=False, clock=SystemClock()) as engine:
        start = loop.time()
        result = await engine.run(
            {**definition, "TimeoutSeconds": 1}, {"spin": True}, state_machine_type="EXPRESS"
        )
    assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")
    assert 1 <= loop.time() - start < 2


async def test_a_loop_can_be_stopped_while_it_runs_and_others_progress_meanwhile() -> None:
    waiter = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    loop = asyncio.get_running_loop()
    async with Engine(load_plugins=False, clock=SystemClock()) as engine:
        spinning = engine.start(CHOICE_LOOP, {"spin": True}, state_machine_type="EXPRESS")
        start = loop.time()
        waited = await engine.run(waiter)
        ended = loop.time() - start
        assert spinning.status == "RUNNING"
        spinning.stop("Operator.Cancelled", "spinning")
        result = await spinning.wait()
    assert waited.status == "SUCCEEDED"
    # Real time on a shared machine: the bound is loose, the point is that the Wait ends at all.
    assert 1 <= ended < 3
    assert (result.status, result.error) == ("ABORTED", "Operator.Cancelled")
