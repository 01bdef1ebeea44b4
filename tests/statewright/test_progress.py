"""Progress on stderr: retries as "retry 2 of 3 in 4 s", waits named with their status and poll policy."""

from __future__ import annotations

import io
from typing import Any

from engine import JSON, Engine, ExecutorCall, ExecutorContext, ExecutorRegistry, StatesError
from engine.runtime.clock import ImmediateClock
from executors.local import CallableExecutor
from statewright.progress import Progress

FLAKY = "arn:aws:states:::test:flaky"


def machine() -> dict[str, Any]:
    return {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": FLAKY,
                "Retry": [
                    {"ErrorEquals": ["Flaky.Error"], "IntervalSeconds": 4, "MaxAttempts": 3, "BackoffRate": 2}
                ],
                "End": True,
            }
        },
    }


async def test_retries_and_waits_are_reported_by_the_engine_and_printed_by_progress() -> None:
    attempts: list[int] = []

    async def flaky(call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        attempts.append(ctx.attempt)
        ctx.report(
            {"waitingFor": "widget w1", "status": "BAKING", "pollPolicy": "fixed:5", "nextPollSeconds": 5}
        )
        ctx.report(
            {"waitingFor": "widget w1", "status": "BAKING", "pollPolicy": "fixed:5", "nextPollSeconds": 5}
        )
        if len(attempts) < 3:
            raise StatesError("Flaky.Error", "not yet")
        return {"ok": True}

    registry = ExecutorRegistry()
    registry.register(FLAKY, CallableExecutor(flaky))
    stream = io.StringIO()
    progress = Progress(stream)
    async with Engine(
        registry=registry, clock=ImmediateClock(), on_event=progress, on_progress=progress.on_progress
    ) as engine:
        result = await engine.run(machine(), {})
    assert result.status == "SUCCEEDED"
    lines = [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()]
    assert "   Work: Flaky.Error: retry 1 of 3 in 4 s" in lines
    assert "   Work: Flaky.Error: retry 2 of 3 in 8 s" in lines
    waits = [line for line in lines if "waiting for" in line]
    # Repeated unchanged reports within one attempt print once.
    assert waits == ["   Work: waiting for widget w1: BAKING (poll policy fixed:5, next look in 5 s)"] * 3


async def test_without_a_listener_reports_cost_nothing_and_change_nothing() -> None:
    async def quiet(call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        ctx.report({"waitingFor": "x", "status": "y"})
        return 1

    registry = ExecutorRegistry()
    registry.register(FLAKY, CallableExecutor(quiet))
    async with Engine(registry=registry, clock=ImmediateClock()) as engine:
        result = await engine.run(machine(), {})
    assert result.output == 1
    assert "TaskWaiting" not in result.history.types


def test_a_changed_status_prints_at_once() -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    _, record = Engine(registry=ExecutorRegistry()).prepare(
        {"StartAt": "C", "States": {"C": {"Type": "Pass", "End": True}}}, {}, name="n"
    )
    for status in ("CREATING", "CREATING", "ACTIVE"):
        progress.on_progress(
            record, "TaskWaiting", {"state": "C", "waitingFor": "cluster c", "status": status}
        )
    assert [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()] == [
        "   C: waiting for cluster c: CREATING",
        "   C: waiting for cluster c: ACTIVE",
    ]
