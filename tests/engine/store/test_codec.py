"""The stored position: what a resume needs round-trips, and records written before a field existed still read."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.jsonvalue import loads
from engine.runtime.record import Ending, ExecutionRecord, MapProgress, Position
from engine.store.codec import position_from_json, position_to_json, state_from_text, state_to_text


def test_a_map_iteration_keeps_its_variables_and_a_task_its_start_time() -> None:
    pos = Position("M", [1, 2], entered_event_id=3)
    pos.map_progress = MapProgress({0: "a"}, failure=("States.TaskFailed", None))
    child = Position("T", {"v": 2}, entered_event_id=9)
    child.own_variables()["mine"] = {"deep": [1]}
    child.started = True
    child.started_at = 1_700_000_000.25
    pos.children["1"] = child
    back = position_from_json(position_to_json(pos))
    assert back == pos
    assert back.children["1"].variables == {"mine": {"deep": [1]}}
    assert back.children["1"].started_at == 1_700_000_000.25
    assert back.map_progress is not None and back.map_progress.failure == ("States.TaskFailed", None)


def test_a_position_stored_without_the_newer_fields_reads_as_before() -> None:
    old = {
        "state": "M",
        "input": [1],
        "entered": 3,
        "progress": {},
        "children": {"0": {"state": "T", "input": 1, "entered": 5, "started": True}},
    }
    pos = position_from_json(old)
    child = pos.children["0"]
    assert child.started and child.started_at == 0.0  # its timeout then counts from the resume
    assert child.variables is None
    assert pos.variables is None
    assert pos.map_progress is not None and pos.map_progress.failure is None
    # Nothing unset is written: an untouched scope's document is as it was.
    assert position_to_json(Position("P", None)) == {"state": "P", "input": None, "entered": 0}


def test_an_execution_ledger_round_trips_beside_its_decided_end_and_is_written_only_when_set() -> None:
    record = ExecutionRecord("arn", "n", "sm", "sm", {}, datetime.now(UTC), "", Position("Broken", {}))
    assert set(loads(state_to_text(record))) == {"position", "variables"}
    record.note("eks:a", {"kind": "cluster"})
    record.note("eks:b", {"kind": "job"})
    record.note("eks:b", None)
    record.ending = Ending("FAILED", None, "E", None)
    _, _, ending, ledger = state_from_text(state_to_text(record))
    assert ledger == {"eks:a": {"kind": "cluster"}}
    assert ending == Ending("FAILED", None, "E", None)
    record.note("eks:a", None)
    assert record.ledger is None  # an emptied ledger is dropped, not stored as {}
