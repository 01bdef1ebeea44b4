"""Virtual time through the pytest plugin's ``statewright_engine``: waits, back-off and timeouts skip ahead.

Each test states the real-time budget it must stay under and checks the
history's timestamps against what a real run would record.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from statewright import CallableExecutor, Engine


def _stamp(result: Any, event_type: str) -> float:
    return next(e.timestamp for e in result.history if e.type == event_type)


async def test_an_hour_of_waits_takes_no_real_time_and_keeps_real_timestamps(
    statewright_engine: Engine,
) -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Wait", "Seconds": 1200, "Next": "B"},
            "B": {"Type": "Wait", "Seconds": 2400, "End": True},
        },
    }
    started, wall = time.monotonic(), time.time()
    result = await statewright_engine.run(definition, {})
    assert time.monotonic() - started < 2
    assert result.status == "SUCCEEDED"
    assert round(_stamp(result, "ExecutionSucceeded") - _stamp(result, "ExecutionStarted")) == 3600
    assert abs(_stamp(result, "ExecutionStarted") - wall) < 5, "virtual time starts at the real now"


async def test_task_timeouts_and_heartbeats_fire_at_their_virtual_deadlines(
    statewright_engine: Engine,
) -> None:
    async def slow(call: Any, ctx: Any) -> Any:
        await asyncio.sleep(7200)
        return {"done": True}

    statewright_engine.registry.register("arn:aws:states:::custom:slow", CallableExecutor(slow))
    definition = {
        "StartAt": "Timeout",
        "States": {
            "Timeout": {
                "Type": "Task",
                "Resource": "arn:aws:states:::custom:slow",
                "TimeoutSeconds": 1800,
                "Catch": [
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Heartbeat"}
                ],
                "Next": "Heartbeat",
            },
            "Heartbeat": {
                "Type": "Task",
                "Resource": "arn:aws:states:::custom:slow",
                "HeartbeatSeconds": 60,
                "End": True,
            },
        },
    }
    started = time.monotonic()
    result = await statewright_engine.run(definition, {})
    assert time.monotonic() - started < 2
    assert (result.status, result.error) == ("FAILED", "States.HeartbeatTimeout")
    timed_out = [e for e in result.history if e.type == "TaskTimedOut"]
    scheduled = [e for e in result.history if e.type == "TaskScheduled"]
    assert round(timed_out[0].timestamp - scheduled[0].timestamp) == 1800
    assert round(timed_out[1].timestamp - scheduled[1].timestamp) == 60
