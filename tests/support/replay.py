"""Recorded histories: the scenarios behind ``tests/fixtures/histories/`` and how to record them again.

Each scenario is a definition, an input and the deterministic Task resources
it calls. Recording runs it on a fresh engine with the ``ImmediateClock`` from
``ORIGIN`` and a seeded engine, and writes one JSON file per scenario:

* ``definition``, ``input``: what ran;
* ``status``, ``output``, ``error``, ``cause``: how it ended;
* ``events``: the history as stores keep it (``HistoryEvent``: id,
  previousEventId, timestamp, type, details);
* ``wire``: the same history as GetExecutionHistory answers it (the body of
  ``statewright run --history``; AWS's ``…EventDetails`` members).

``tests/engine/store/test_replay.py`` runs every scenario again and compares
with the file, event by event, and resumes runs rebuilt from cut histories.
A change of the history format (an event name, an id, a previousEventId, a
details field) fails there. When such a change is deliberate, record again
and review the diff of the fixtures:

    python -m tests.support.replay            # every scenario
    python -m tests.support.replay task_retry_catch

The ``durable_resume`` scenario runs on a SQLite file: the first engine is
left while its Task is running (the engine suspends the execution), a second
engine on the same file resumes it, and the recorded history is the store's.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import anyio
import orjson

from engine import JSON, Engine, ExecutionResult, ExecutorCall, ExecutorContext, ExecutorRegistry
from engine.errors import StatesError
from engine.history import History, HistoryEvent
from engine.runtime.clock import ImmediateClock
from executors.local import CallableExecutor
from statewright.commands.history_file import wire_history

FIXTURES: Final = Path(__file__).resolve().parents[1] / "fixtures" / "histories"
ORIGIN: Final = datetime(2026, 1, 1, tzinfo=UTC)
SEED: Final = 13
NAME: Final = "replay"

FLAKY: Final = "arn:aws:states:::replay:flaky"
"""Fails with ``Flaky.Unavailable`` on its first two attempts, then echoes its parameters."""
DECLINE: Final = "arn:aws:states:::replay:decline"
"""Always fails with ``Card.Declined``."""
DOUBLE: Final = "arn:aws:states:::replay:double"
"""Returns ``{"doubled": 2 * n}`` for parameters ``{"n": n}``."""
HOLD: Final = "arn:aws:states:::replay:hold"
"""Blocks on a first engine until that engine is left; returns ``{"held": true}`` once resumed."""


async def _flaky(call: ExecutorCall, ctx: ExecutorContext) -> JSON:
    if ctx.attempt < 2:
        raise StatesError("Flaky.Unavailable", f"attempt {ctx.attempt} refused")
    return dict(call.parameters)


async def _decline(call: ExecutorCall, ctx: ExecutorContext) -> JSON:
    raise StatesError("Card.Declined", "insufficient funds")


async def _double(call: ExecutorCall, ctx: ExecutorContext) -> JSON:
    n = call.parameters["n"]
    assert isinstance(n, int)
    return {"doubled": 2 * n}


Handler = Callable[[ExecutorCall, ExecutorContext], Awaitable[JSON]]
HANDLERS: Final[Mapping[str, Handler]] = {FLAKY: _flaky, DECLINE: _decline, DOUBLE: _double}


def _task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, **fields}


@dataclass(frozen=True)
class Scenario:
    """One recorded run: what it starts from and whether it runs on a durable store."""

    definition: Mapping[str, Any]
    input: JSON
    durable: bool = False


SCENARIOS: Final[Mapping[str, Scenario]] = {
    "choice_wait_map_variables": Scenario(
        {
            "Comment": "Pass, Choice, Wait, Map, variables",
            "StartAt": "Remember",
            "States": {
                "Remember": {
                    "Type": "Pass",
                    "Parameters": {"step": 1, "n.$": "$.n", "items": [1, 2]},
                    "Assign": {"seen.$": "$.n"},
                    "Next": "Pick",
                },
                "Pick": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.step", "NumericEquals": 1, "Next": "Pause"}],
                    "Default": "Never",
                },
                "Never": {"Type": "Fail", "Error": "Wrong"},
                "Pause": {"Type": "Wait", "Seconds": 50, "Next": "Each"},
                "Each": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": {
                        "StartAt": "Double",
                        "States": {"Double": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": True}},
                    },
                    "ResultPath": "$.mapped",
                    "Next": "Finish",
                },
                "Finish": {
                    "Type": "Pass",
                    "Parameters": {"seen.$": "$seen", "step.$": "$.step", "mapped.$": "$.mapped"},
                    "End": True,
                },
            },
        },
        {"n": 7},
    ),
    "task_retry_catch": Scenario(
        {
            "Comment": "A Task retried with backoff until it succeeds, then a Task whose error is caught",
            "StartAt": "Fetch",
            "States": {
                "Fetch": _task(
                    FLAKY,
                    Parameters={"order.$": "$.order"},
                    Retry=[
                        {
                            "ErrorEquals": ["Flaky.Unavailable"],
                            "IntervalSeconds": 2,
                            "BackoffRate": 3,
                            "MaxAttempts": 3,
                        }
                    ],
                    ResultPath="$.fetched",
                    Next="Charge",
                ),
                "Charge": _task(
                    DECLINE,
                    Parameters={"order.$": "$.order"},
                    Catch=[{"ErrorEquals": ["Card.Declined"], "ResultPath": "$.declined", "Next": "Refund"}],
                    Next="Done",
                ),
                "Refund": {"Type": "Pass", "Result": "refunded", "ResultPath": "$.refund", "Next": "Done"},
                "Done": {"Type": "Succeed"},
            },
        },
        {"order": "A-1"},
    ),
    "parallel_choice": Scenario(
        {
            # The first branch never awaits, so it ends before the second starts: the
            # order of the recorded events does not hang on how the branches interleave.
            "Comment": "Parallel branches: a Choice in one, a Task and a Wait in the other",
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "Big",
                            "States": {
                                "Big": {
                                    "Type": "Choice",
                                    "Choices": [
                                        {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Large"}
                                    ],
                                    "Default": "Small",
                                },
                                "Large": {"Type": "Pass", "Result": "large", "End": True},
                                "Small": {"Type": "Pass", "Result": "small", "End": True},
                            },
                        },
                        {
                            "StartAt": "Twice",
                            "States": {
                                "Twice": _task(DOUBLE, Parameters={"n.$": "$.n"}, Next="Later"),
                                "Later": {"Type": "Wait", "Seconds": 5, "End": True},
                            },
                        },
                    ],
                    "ResultSelector": {"size.$": "$[0]", "doubled.$": "$[1].doubled"},
                    "End": True,
                },
            },
        },
        {"n": 4},
    ),
    "failed_in_map": Scenario(
        {
            "Comment": "A Map whose second iteration fails: the execution fails with the Task's error",
            "StartAt": "Charge each",
            "States": {
                "Charge each": {
                    "Type": "Map",
                    "ItemsPath": "$.orders",
                    "MaxConcurrency": 1,
                    "ItemProcessor": {
                        "StartAt": "Which",
                        "States": {
                            "Which": {
                                "Type": "Choice",
                                "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Fine"}],
                                "Default": "Charge",
                            },
                            "Fine": {"Type": "Pass", "End": True},
                            "Charge": _task(DECLINE, End=True),
                        },
                    },
                    "End": True,
                },
            },
        },
        {"orders": [{"ok": True}, {"ok": False}]},
    ),
    "durable_resume": Scenario(
        {
            "Comment": "A Task interrupted when its engine is left, resumed by the next engine on the store",
            "StartAt": "Before",
            "States": {
                "Before": {"Type": "Pass", "Result": 1, "ResultPath": "$.before", "Next": "Hold"},
                "Hold": _task(HOLD, ResultPath="$.hold", Next="After"),
                "After": {"Type": "Wait", "Seconds": 10, "Next": "Last"},
                "Last": {"Type": "Pass", "Result": 2, "ResultPath": "$.after", "End": True},
            },
        },
        {"n": 1},
        durable=True,
    ),
}


def registry(hold: Handler | None = None) -> ExecutorRegistry:
    """A registry serving the scenarios' Task resources (``HOLD`` with ``hold`` when given)."""
    found = ExecutorRegistry()
    for resource, handler in HANDLERS.items():
        found.register(resource, CallableExecutor(handler))

    async def held(call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        return {"held": True}

    found.register(HOLD, CallableExecutor(hold or held))
    return found


def _engine(registry: ExecutorRegistry, **kwargs: Any) -> Engine:
    return Engine(registry=registry, load_plugins=False, clock=ImmediateClock(ORIGIN), seed=SEED, **kwargs)


async def run(scenario: Scenario) -> ExecutionResult:
    """Run ``scenario`` to its end, as it was recorded."""
    if scenario.durable:
        return await _run_durable(scenario)
    async with _engine(registry()) as engine:
        return await engine.run(dict(scenario.definition), scenario.input)


async def _run_durable(scenario: Scenario) -> ExecutionResult:
    holding = anyio.Event()

    async def hold(call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        holding.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    with tempfile.TemporaryDirectory(prefix="statewright-replay-") as folder:
        store = f"sqlite:///{folder}/replay.db"
        async with _engine(registry(hold), store=store) as engine:
            execution = engine.start(dict(scenario.definition), scenario.input, name=NAME)
            with anyio.fail_after(10):
                await holding.wait()
        # Leaving the block suspended the execution; the next engine resumes it on entry.
        async with _engine(registry(), store=store) as engine:
            resumed = engine.get(execution.execution_arn)
            assert resumed is not None, "the store did not hand the execution back"
            return await resumed.wait()


def events_of(doc: Mapping[str, Any]) -> list[HistoryEvent]:
    """The recorded events of a fixture as ``HistoryEvent`` objects."""
    return [
        HistoryEvent(e["id"], e["previousEventId"], e["timestamp"], e["type"], e["details"])
        for e in doc["events"]
    ]


def event_json(event: HistoryEvent) -> dict[str, JSON]:
    """One event as the fixtures hold it."""
    return {
        "id": event.id,
        "previousEventId": event.previous_event_id,
        "timestamp": event.timestamp,
        "type": event.type,
        "details": orjson.loads(orjson.dumps(event.details)),
    }


def wire_json(history: History) -> list[JSON]:
    """The events of GetExecutionHistory's answer for ``history``."""
    events: list[JSON] = orjson.loads(wire_history(history))["events"]
    return events


def document(scenario: Scenario, result: ExecutionResult) -> dict[str, Any]:
    """The fixture content for one finished run of ``scenario``."""
    return {
        "definition": scenario.definition,
        "input": scenario.input,
        "status": result.status,
        "output": result.output,
        "error": result.error,
        "cause": result.cause,
        "events": [event_json(e) for e in result.history],
        "wire": wire_json(result.history),
    }


def path_of(name: str) -> Path:
    return FIXTURES / f"{name}.json"


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path_of(name).read_text(encoding="utf-8"))
    return doc


async def _record(names: list[str]) -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name in names:
        scenario = SCENARIOS[name]
        doc = document(scenario, await run(scenario))
        path_of(name).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"recorded {path_of(name)} ({len(doc['events'])} events, {doc['status']})")


def main(argv: list[str]) -> int:
    names = argv or sorted(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(sorted(SCENARIOS))}")
        return 2
    anyio.run(_record, names)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
