"""An execution's position and variables can be rebuilt from its history alone."""

from __future__ import annotations

import anyio
import pytest

from engine import Engine, ExecutorRegistry, LoopClock, parse_definition
from engine.history import History
from engine.persistence import rebuild_record
from engine.runtime.clock import ImmediateClock

DEFINITION = {
    "StartAt": "Remember",
    "States": {
        "Remember": {
            "Type": "Pass",
            "Parameters": {"step": 1, "n.$": "$.n"},
            "Assign": {"seen.$": "$.n"},
            "Next": "Pick",
        },
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.step", "NumericEquals": 1, "Next": "Pause"}],
            "Default": "Never",
        },
        "Never": {"Type": "Fail", "Error": "Wrong"},
        "Pause": {"Type": "Wait", "Seconds": 50, "Next": "Finish"},
        "Finish": {"Type": "Pass", "Parameters": {"seen.$": "$seen", "step.$": "$.step"}, "End": True},
    },
}


CHOOSING = {
    "StartAt": "Remember",
    "States": {
        "Remember": {
            "Type": "Pass",
            "Parameters": {"step": 1, "n.$": "$.n"},
            "Assign": {"seen.$": "$.n"},
            "Next": "Pick",
        },
        # The rule reads the variable its own Assign changes: it must see the value before.
        "Pick": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$seen",
                    "NumericEquals": 1,
                    "Assign": {"seen": 2, "picked": "high"},
                    "Next": "Finish",
                }
            ],
            "Default": "Never",
        },
        "Never": {"Type": "Fail", "Error": "Wrong"},
        "Finish": {
            "Type": "Pass",
            "Parameters": {"seen.$": "$.n", "n.$": "$seen", "picked.$": "$picked", "step.$": "$.step"},
            "End": True,
        },
    },
}


@pytest.mark.looptime
async def test_a_history_cut_in_a_wait_rebuilds_the_wait_and_the_variables() -> None:
    machine = parse_definition(DEFINITION)
    clock = LoopClock()
    async with Engine(registry=ExecutorRegistry(), clock=clock) as engine:
        execution = engine.start(machine, {"n": 7}, name="first")
        await anyio.sleep(10)
        history = execution.record.history
        record = rebuild_record(
            machine,
            history,
            execution_arn=execution.execution_arn,
            name="again",
            state_machine_arn=execution.record.state_machine_arn,
        )
    assert record.position.state == "Pause"
    assert record.position.input == {"step": 1, "n": 7}
    assert record.variables == {"seen": 7}
    assert record.input == {"n": 7}
    async with Engine(registry=ExecutorRegistry(), clock=clock) as engine:
        result = await engine.resume(machine, record).wait()
    assert result.status == "SUCCEEDED"
    assert result.output == {"seen": 7, "step": 1}


async def test_a_history_cut_right_after_a_choice_resumes_without_recording_it_twice() -> None:
    machine = parse_definition(CHOOSING)
    async with Engine(registry=ExecutorRegistry(), clock=ImmediateClock()) as engine:
        whole = await engine.run(machine, {"n": 1})
    assert (whole.status, whole.output) == ("SUCCEEDED", {"n": 2, "seen": 1, "picked": "high", "step": 1})
    events = list(whole.history)
    cut = next(i for i, e in enumerate(events) if e.type == "ChoiceStateExited") + 1
    partial = History.from_events(events[:cut])
    record = rebuild_record(machine, partial, execution_arn="arn:x", name="x", state_machine_arn="arn:sm")
    assert (record.position.state, record.position.input) == ("Pick", {"step": 1, "n": 1})
    assert record.status == "RUNNING"
    # The Choice chooses with the variables it saw, and assigns its own again.
    assert record.variables == {"seen": 1}
    async with Engine(registry=ExecutorRegistry(), clock=ImmediateClock()) as engine:
        resumed = await engine.resume(machine, record).wait()
    assert (resumed.status, resumed.output) == (whole.status, whole.output)
    assert resumed.history.types == whole.history.types
    assert [e.id for e in resumed.history] == list(range(1, len(events) + 1))
    assert [e.details for e in resumed.history] == [e.details for e in events]


def test_a_history_without_execution_started_is_refused() -> None:
    with pytest.raises(ValueError):
        rebuild_record(
            parse_definition(DEFINITION), History(), execution_arn="a", name="n", state_machine_arn="s"
        )
