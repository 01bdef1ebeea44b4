"""Replay: recorded histories (tests/fixtures/histories/) fed back give the recorded result.

Each fixture holds a definition, its input and the whole history of one run,
recorded once. The history is cut at every top-level state boundary; the
execution's record is rebuilt from the cut history alone
(``engine.persistence.rebuild_record``) and resumed on a fresh engine. The
resumed run must end with the recorded status and output, and together with
the cut history record exactly the recorded event types with ids 1…n. A
change to the history format or to the interpreter that breaks resuming
from what a store holds fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, ExecutorRegistry, HistoryEvent, parse_definition
from engine.history import History
from engine.persistence import rebuild_record
from engine.runtime.clock import ImmediateClock

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "histories"
RECORDED = sorted(FIXTURES.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _events(doc: dict[str, Any]) -> list[HistoryEvent]:
    return [HistoryEvent(e["id"], e["previousEventId"], e["timestamp"], e["type"], e["details"]) for e in doc["events"]]


def _cuts(events: list[HistoryEvent]) -> list[int]:
    """History lengths that end at a top-level state boundary (entered or exited, outside Map/Parallel)."""
    cuts: list[int] = []
    depth = 0
    for n, ev in enumerate(events, 1):
        if ev.type in ("MapStateEntered", "ParallelStateEntered"):
            depth += 1
            if depth == 1:
                cuts.append(n)
        elif ev.type in ("MapStateExited", "ParallelStateExited"):
            depth -= 1
            if depth == 0:
                cuts.append(n)
        elif depth == 0 and ev.type == "ChoiceStateExited":
            # The exit does not say which branch was taken: a history cut here re-enters the
            # Choice (rebuild_record's documented rule), which records it twice. Stores keep the
            # position itself, so they never resume from here by the history alone.
            continue
        elif depth == 0 and (ev.type.endswith("StateEntered") or ev.type.endswith("StateExited")):
            cuts.append(n)
    return cuts


def test_there_are_recorded_histories() -> None:
    assert RECORDED, f"no fixtures in {FIXTURES}"


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_the_whole_recorded_history_rebuilds_a_finished_record(path: Path) -> None:
    doc = _load(path)
    machine = parse_definition(doc["definition"])
    record = rebuild_record(
        machine, History.from_events(_events(doc)), execution_arn="arn:replay", name="replay", state_machine_arn="arn:sm"
    )
    assert record.status == doc["status"]
    assert record.input == doc["input"]


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
async def test_a_history_cut_at_any_state_boundary_resumes_to_the_recorded_result(path: Path) -> None:
    doc = _load(path)
    machine = parse_definition(doc["definition"])
    events = _events(doc)
    recorded_types = [e.type for e in events]
    cuts = _cuts(events)
    assert len(cuts) >= 5
    for cut in cuts[:-1]:
        record = rebuild_record(
            machine,
            History.from_events(events[:cut]),
            execution_arn=f"arn:replay:{cut}",
            name=f"replay-{cut}",
            state_machine_arn="arn:sm",
        )
        async with Engine(registry=ExecutorRegistry(), clock=ImmediateClock()) as engine:
            result = await engine.resume(machine, record).wait()
        assert (result.status, result.output) == (doc["status"], doc["output"]), f"cut after event {cut}"
        assert result.history.types == recorded_types, f"cut after event {cut}"
        assert [e.id for e in result.history] == list(range(1, len(recorded_types) + 1))
