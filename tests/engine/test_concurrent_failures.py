"""Several children of a Map or Parallel failing at once.

Invariant: however many iterations or branches fail, and whenever, the state
fails with the error and cause of the child that failed first (the one AWS
reports), every other child is cancelled and recorded as AWS records it
(``MapIterationAborted`` for a started iteration), no exception group
escapes, and nothing is logged as an engine crash.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Engine, ExecutorCall, ExecutorContext, ExecutorRegistry, StatesError
from engine.runtime.clock import ImmediateClock
from executors.local import CallableExecutor

CUSTOM = "arn:aws:states:::custom:call"


def _map(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "S", "States": {"S": processor}},
                "End": True,
                **fields,
            }
        },
    }


async def test_six_iterations_whose_item_selector_fails_fail_the_map_with_states_runtime(
    caplog: pytest.LogCaptureFixture,
) -> None:
    definition = _map({"Type": "Pass", "End": True}, ItemSelector={"x.$": "$$.Map.Item.Value.missing"})
    with caplog.at_level(logging.DEBUG, logger="engine"):
        async with Engine(load_plugins=False) as engine:
            result = await engine.run(definition, [{"a": 1}] * 6)
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "$$.Map.Item.Value.missing" in (result.cause or "")
    assert result.history.types[-2:] == ["MapStateFailed", "ExecutionFailed"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_branches_failing_together_report_the_first_and_nothing_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def branch(error: str) -> dict[str, Any]:
        return {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": error, "Cause": f"{error} cause"}}}

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [branch("One"), branch("Two"), branch("Three")],
                "End": True,
            }
        },
    }
    with caplog.at_level(logging.DEBUG):
        async with Engine(load_plugins=False) as engine:
            result = await engine.run(definition)
    assert (result.status, result.error, result.cause) == ("FAILED", "One", "One cause")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


class Children:
    """A Task resource whose calls succeed or fail after a given number of scheduling points."""

    def __init__(self, plan: list[tuple[bool, int]]) -> None:
        self.plan = plan
        self.failed_in_order: list[int] = []
        self.cancelled: list[int] = []

    async def __call__(self, call: ExecutorCall, ctx: ExecutorContext) -> Any:
        index = call.parameters["i"]  # type: ignore[index]
        fails, steps = self.plan[index]
        try:
            for _ in range(steps):
                await anyio.lowlevel.checkpoint()
        except anyio.get_cancelled_exc_class():
            self.cancelled.append(index)
            raise
        if fails:
            self.failed_in_order.append(index)
            raise StatesError(f"Child.Failed{index}", f"child {index} failed")
        return index


plans = st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=1, max_size=8).filter(
    lambda plan: any(fails for fails, _ in plan)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans, shape=st.sampled_from(["map", "map-serial", "map-2", "parallel"]))
def test_k_of_n_failing_children_fail_with_the_first_failure_and_cancel_the_rest(
    plan: list[tuple[bool, int]], shape: str
) -> None:
    children = Children(plan)
    registry = ExecutorRegistry()
    registry.register(CUSTOM, CallableExecutor(children))
    task = {"Type": "Task", "Resource": CUSTOM, "Parameters": {"i.$": "$.i"}, "End": True}
    if shape == "parallel":
        branches = [
            {"StartAt": "T", "States": {"T": {**task, "Parameters": {"i": i}}}} for i in range(len(plan))
        ]
        definition: dict[str, Any] = {
            "StartAt": "P",
            "States": {"P": {"Type": "Parallel", "Branches": branches, "End": True}},
        }
    else:
        limit = {"map": 0, "map-serial": 1, "map-2": 2}[shape]
        definition = _map(task, MaxConcurrency=limit)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)

    async def run() -> Any:
        async with Engine(load_plugins=False, registry=registry, clock=ImmediateClock()) as engine:
            return await engine.run(definition, [{"i": i} for i in range(len(plan))])

    try:
        result = asyncio.run(run())
    finally:
        logging.getLogger().removeHandler(handler)
    first = children.failed_in_order[0]
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        f"Child.Failed{first}",
        f"child {first} failed",
    )
    assert not [r for r in records if r.levelno >= logging.ERROR]
    types = result.history.types
    assert types[-1] == "ExecutionFailed"
    if shape != "parallel":
        started = types.count("MapIterationStarted")
        ended = sum(
            types.count(t) for t in ("MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted")
        )
        assert started == ended
        assert types.count("MapIterationAborted") == len(children.cancelled)
        assert "MapStateFailed" in types
    else:
        assert "ParallelStateFailed" in types
