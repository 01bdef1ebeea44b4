"""Execution history: AWS's event types and order per state type, id chaining and ``to_aws()``."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import ExecutorCall, ExecutorContext, History, StatesError
from engine.runtime.clock import ImmediateClock

CUSTOM = "arn:aws:states:::custom:call"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _ok(value: Any) -> Any:
    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        return value

    return handler


def _failing(error: str, cause: str) -> Any:
    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        raise StatesError(error, cause)

    return handler


def _one(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": {**state}}}


EVENT_ORDERS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("Pass", {"Type": "Pass", "End": True}, ["PassStateEntered", "PassStateExited", "ExecutionSucceeded"]),
    (
        "Wait",
        {"Type": "Wait", "Seconds": 1, "End": True},
        ["WaitStateEntered", "WaitStateExited", "ExecutionSucceeded"],
    ),
    ("Succeed", {"Type": "Succeed"}, ["SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]),
    ("Fail", {"Type": "Fail", "Error": "E"}, ["FailStateEntered", "ExecutionFailed"]),
    (
        "Choice",
        {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": False, "Next": "S2"}]},
        [
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ],
    ),
    (
        "Task success",
        {"Type": "Task", "Resource": CUSTOM, "End": True},
        [
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ],
    ),
    (
        "Parallel",
        {
            "Type": "Parallel",
            "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}],
            "End": True,
        },
        [
            "ParallelStateEntered",
            "ParallelStateStarted",
            "PassStateEntered",
            "PassStateExited",
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "ExecutionSucceeded",
        ],
    ),
    (
        "Map",
        {
            "Type": "Map",
            "ItemsPath": "$.one",
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
            "End": True,
        },
        [
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded",
        ],
    ),
]


@pytest.mark.parametrize(
    ("state", "expected"), [c[1:] for c in EVENT_ORDERS], ids=[c[0] for c in EVENT_ORDERS]
)
async def test_each_state_type_records_aws_event_types_in_order(
    harness: Any, state: dict[str, Any], expected: list[str]
) -> None:
    harness.handle(CUSTOM, _ok({"r": 1}))
    definition = _one(state)
    if state["Type"] == "Choice":
        definition["States"]["S2"] = {"Type": "Pass", "End": True}
    result = await harness.run(definition, {"one": [1]})
    assert result.history.types == ["ExecutionStarted", *expected]


async def test_a_failed_task_records_task_failed_then_execution_failed(harness: Any) -> None:
    harness.handle(CUSTOM, _failing("Boom", "it broke"))
    result = await harness.run(_one({"Type": "Task", "Resource": CUSTOM, "End": True}), {})
    assert result.history.types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "ExecutionFailed",
    ]
    failed = result.history[4]
    assert failed.details == {
        "resourceType": "custom",
        "resource": "call",
        "error": "Boom",
        "cause": "it broke",
    }
    assert result.history[5].details == {"error": "Boom", "cause": "it broke"}


async def test_event_ids_count_from_one_and_chain_to_the_previous_event(harness: Any) -> None:
    harness.handle(CUSTOM, _ok(1))
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "T"},
            "T": {"Type": "Task", "Resource": CUSTOM, "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 5, "End": True},
        },
    }
    result = await harness.run(definition, {})
    events = result.history.to_aws()
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert [e["previousEventId"] for e in events] == list(range(0, len(events)))
    assert len(result.history) == len(events)


async def test_timestamps_follow_the_engine_clock(harness: Any) -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 61, "End": True}}}
    result = await harness.run(definition, {}, clock=ImmediateClock())
    stamps = [e["timestamp"] for e in result.history.to_aws()]
    assert all(TIMESTAMP.match(s) for s in stamps)
    assert stamps[0] == "2026-01-01T00:00:00.000Z"
    assert stamps[-1] == "2026-01-01T00:01:01.000Z"
    assert stamps == sorted(stamps)


async def test_to_aws_renders_details_with_aws_key_names_and_json_strings(harness: Any) -> None:
    harness.handle(CUSTOM, _ok({"out": [1, 2]}))
    definition = _one(
        {
            "Type": "Task",
            "Resource": CUSTOM,
            "Parameters": {"p.$": "$.in"},
            "TimeoutSeconds": 60,
            "HeartbeatSeconds": 10,
            "End": True,
        }
    )
    async with harness.engine(region="eu-west-1", role_arn="arn:aws:iam::123456789012:role/R") as engine:
        result = await engine.run(definition, {"in": "x"})
    events = {e["type"]: e for e in result.history.to_aws()}
    assert set(events["ExecutionStarted"]) == {
        "id",
        "previousEventId",
        "timestamp",
        "type",
        "executionStartedEventDetails",
    }
    started = events["ExecutionStarted"]["executionStartedEventDetails"]
    assert started == {
        "input": '{"in":"x"}',
        "inputDetails": {"truncated": False},
        "roleArn": "arn:aws:iam::123456789012:role/R",
    }
    entered = events["TaskStateEntered"]["stateEnteredEventDetails"]
    assert entered == {"name": "S", "input": '{"in":"x"}', "inputDetails": {"truncated": False}}
    scheduled = events["TaskScheduled"]["taskScheduledEventDetails"]
    assert scheduled == {
        "resourceType": "custom",
        "resource": "call",
        "region": "eu-west-1",
        "parameters": '{"p":"x"}',
        "parametersDetails": {"truncated": False},
        "timeoutInSeconds": 60,
        "heartbeatInSeconds": 10,
    }
    assert events["TaskStarted"]["taskStartedEventDetails"] == {"resourceType": "custom", "resource": "call"}
    succeeded = events["TaskSucceeded"]["taskSucceededEventDetails"]
    assert orjson.loads(succeeded["output"]) == {"out": [1, 2]}
    assert succeeded["outputDetails"] == {"truncated": False}
    exited = events["TaskStateExited"]["stateExitedEventDetails"]
    assert exited["name"] == "S" and orjson.loads(exited["output"]) == {"out": [1, 2]}
    assert orjson.loads(events["ExecutionSucceeded"]["executionSucceededEventDetails"]["output"]) == {
        "out": [1, 2]
    }


async def test_the_history_rendering_is_json_serializable(harness: Any) -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}],
                "End": True,
            }
        },
    }
    result = await harness.run(definition, {})
    events = orjson.loads(orjson.dumps(result.history.to_aws()))
    assert events[-1]["type"] == "ExecutionFailed"
    assert events[-1]["executionFailedEventDetails"] == {"error": "E", "cause": "C"}
    assert events[-2]["type"] == "ParallelStateFailed"


async def test_history_can_be_turned_off_without_changing_the_result(harness: Any) -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}}
    result = await harness.run(definition, {}, record_history=False)
    assert (result.status, result.output) == ("SUCCEEDED", 1)
    assert len(result.history) == 0
    assert result.history.to_aws() == []


async def test_every_event_reaches_the_on_event_callback(harness: Any) -> None:
    seen: list[str] = []
    harness.handle(CUSTOM, _ok(1))
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "T"},
            "T": {"Type": "Task", "Resource": CUSTOM, "End": True},
        },
    }
    result = await harness.run(definition, {}, on_event=lambda record, etype, details: seen.append(etype))
    assert seen == result.history.types


def test_a_history_appends_events_with_chained_ids() -> None:
    history = History()
    clock = ImmediateClock()
    # Events take the clock's reading (POSIX seconds where the clock offers them).
    stamp: Any = clock.timestamp() if hasattr(clock, "timestamp") else clock.now()
    assert history.append("ExecutionStarted", stamp, {"input": {}}) == 1
    assert history.append("PassStateEntered", stamp, {"name": "A", "input": {}}) == 2
    assert history.append("PassStateExited", stamp, {"name": "A", "output": 1}, previous=1) == 3
    assert [(e.id, e.previous_event_id) for e in history] == [(1, 0), (2, 1), (3, 1)]
    assert history.types == ["ExecutionStarted", "PassStateEntered", "PassStateExited"]
    assert history[2].to_aws()["stateExitedEventDetails"] == {
        "name": "A",
        "output": "1",
        "outputDetails": {"truncated": False},
    }


def test_long_json_text_in_event_details_reads_back_exactly() -> None:
    from engine.history import PACK_THRESHOLD, History

    history = History()
    long_text = '{"items":[' + ",".join(f'{{"n":{i},"name":"item-{i}"}}' for i in range(200)) + "]}"
    assert len(long_text) > PACK_THRESHOLD
    details = {"resourceType": "eks", "resource": "runJob.sync", "output": long_text}
    history.append("TaskSubmitted", 1.0, details)
    history.append("TaskSucceeded", 2.0, {"resourceType": "eks", "resource": "runJob.sync", "output": "x" * 10})
    first, second = history
    assert first.details == details
    assert first.to_aws()["taskSubmittedEventDetails"]["output"] == long_text
    assert second.details == {"resourceType": "eks", "resource": "runJob.sync", "output": "x" * 10}


@given(st.text(min_size=0, max_size=3000), st.sampled_from(["input", "output", "parameters", "cause"]))
def test_any_details_text_reads_back_exactly(text: str, key: str) -> None:
    from engine.history import History

    history = History()
    history.append("TaskSubmitted", 1.0, {"resourceType": "eks", "resource": "r", key: text})
    (event,) = history
    assert event.details == {"resourceType": "eks", "resource": "r", key: text}
