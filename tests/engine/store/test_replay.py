"""Replay: recorded histories (tests/fixtures/histories/) against the engine of today.

Each fixture holds a definition, its input and the whole history of one run,
recorded once by ``tests/support/replay.py`` (which also says how to record
them again, deliberately). Three checks per recording:

* a fresh run of the same scenario records exactly the same history, event
  by event (id, previousEventId, timestamp, type, every details field), and
  the same GetExecutionHistory answer: a change of event names, ids, links or
  field names fails here;
* the whole recorded history rebuilds a finished record
  (``engine.persistence.rebuild_record``) with the recorded status and input;
* the history cut at every top-level state boundary is rebuilt and resumed
  on a fresh engine, and ends with the recorded result and events: a change
  that breaks resuming from what a store holds fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine import Engine, HistoryEvent, parse_definition
from engine.history import History
from engine.persistence import rebuild_record
from engine.runtime.clock import ImmediateClock
from tests.support.replay import (
    FIXTURES,
    ORIGIN,
    SCENARIOS,
    document,
    event_json,
    events_of,
    load,
    registry,
    run,
)

NAMES = sorted(SCENARIOS)
FINAL_TYPES = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}


def _cuts(events: list[HistoryEvent], definition: dict[str, Any]) -> list[int]:
    """History lengths that end at a top-level state boundary (entered or exited, outside Map/Parallel).

    A Choice's exit is one (the rebuilt Choice chooses again, recording
    nothing twice). Left out, because the history alone does not say where
    the run went on (rebuild_record's documented rule takes the state's
    ``Next``; stores keep the position itself, so they never resume from there
    by the history alone): the exit of a state that failed and was caught (the
    Catch's ``Next``) and the exit of the last state (the history ends with the
    execution's own end event).
    """
    states = definition["States"]
    last = {name for name, s in states.items() if s.get("End") or s["Type"] in ("Succeed", "Fail")}
    cuts: list[int] = []
    depth = 0
    failed = False
    for n, ev in enumerate(events, 1):
        if depth == 0 and ev.type.endswith("StateEntered"):
            failed = False
        if ev.type.endswith(("Failed", "TimedOut")):
            failed = True
        elif depth == 0 and ev.type == "TaskSucceeded":
            failed = False  # a Retry succeeded
        exits_last = ev.type.endswith("StateExited") and (ev.details or {}).get("name") in last
        if ev.type in ("MapStateEntered", "ParallelStateEntered"):
            depth += 1
            if depth == 1:
                cuts.append(n)
        elif ev.type in ("MapStateExited", "ParallelStateExited"):
            depth -= 1
            if depth == 0 and not failed and not exits_last:
                cuts.append(n)
        elif depth == 0 and ev.type.endswith("StateEntered"):
            cuts.append(n)
        elif depth == 0 and ev.type.endswith("StateExited") and not failed and not exits_last:
            cuts.append(n)
    return cuts


def _untimed(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "timestamp"}


def _first_difference(recorded: list[Any], fresh: list[Any]) -> str:
    for index, (old, new) in enumerate(zip(recorded, fresh, strict=False)):
        if old != new:
            return f"event {index + 1} differs:\n recorded {old}\n now      {new}"
    return f"{len(recorded)} events recorded, {len(fresh)} now"


def test_every_scenario_is_recorded_and_every_recording_is_a_scenario() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.json")) == NAMES


def test_the_recordings_cover_the_state_types_a_failure_and_a_store_resume() -> None:
    types = {event["type"] for name in NAMES for event in load(name)["events"]}
    for state in ("Pass", "Task", "Choice", "Wait", "Map", "Parallel", "Succeed"):
        assert f"{state}StateEntered" in types, state
    assert {"TaskFailed", "MapIterationFailed", "ExecutionFailed"} <= types
    assert any(SCENARIOS[name].durable for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_recording_is_one_linked_history_from_start_to_end(name: str) -> None:
    doc = load(name)
    events = doc["events"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(0 <= e["previousEventId"] < e["id"] for e in events)
    assert events[0]["type"] == "ExecutionStarted" and events[0]["timestamp"] == ORIGIN.timestamp()
    assert events[-1]["type"] in FINAL_TYPES
    assert [(w["id"], w["previousEventId"], w["type"]) for w in doc["wire"]] == [
        (e["id"], e["previousEventId"], e["type"]) for e in events
    ]


@pytest.mark.parametrize("name", NAMES)
async def test_a_fresh_run_records_exactly_the_recorded_history(name: str) -> None:
    recorded = load(name)
    fresh = document(SCENARIOS[name], await run(SCENARIOS[name]))
    assert fresh["definition"] == recorded["definition"], "the scenario changed: record it again"
    for key in ("status", "output", "error", "cause"):
        assert fresh[key] == recorded[key], key
    assert fresh["events"] == recorded["events"], _first_difference(recorded["events"], fresh["events"])
    assert fresh["wire"] == recorded["wire"], _first_difference(recorded["wire"], fresh["wire"])


@pytest.mark.parametrize("name", NAMES)
def test_the_whole_recorded_history_rebuilds_a_finished_record(name: str) -> None:
    doc = load(name)
    machine = parse_definition(doc["definition"])
    record = rebuild_record(
        machine,
        History.from_events(events_of(doc)),
        execution_arn="arn:replay",
        name="replay",
        state_machine_arn="arn:sm",
    )
    assert record.status == doc["status"]
    assert record.input == doc["input"]


@pytest.mark.parametrize("name", NAMES)
async def test_a_history_cut_at_any_state_boundary_resumes_to_the_recorded_history(name: str) -> None:
    doc = load(name)
    machine = parse_definition(doc["definition"])
    events = events_of(doc)
    cuts = _cuts(events, doc["definition"])
    assert cuts
    # Timestamps restart with the fresh engine's clock; everything else is as recorded.
    recorded = [_untimed(e) for e in doc["events"]]
    for cut in cuts:
        record = rebuild_record(
            machine,
            History.from_events(events[:cut]),
            execution_arn=f"arn:replay:{cut}",
            name=f"replay-{cut}",
            state_machine_arn="arn:sm",
        )
        async with Engine(registry=registry(), load_plugins=False, clock=ImmediateClock(ORIGIN)) as engine:
            result = await engine.resume(machine, record).wait()
        assert (result.status, result.output) == (doc["status"], doc["output"]), f"cut after event {cut}"
        resumed = [_untimed(event_json(e)) for e in result.history]
        assert resumed == recorded, f"cut after event {cut}: " + _first_difference(recorded, resumed)
