"""Map Runs in the engine: their end is kept before the Map exits, and nested runs have ARNs of their own.

The end is kept through ``MapRuns.persist`` (awaited by ``MapRuns.end``): a
server writes the run's document there, and the Map's exit is committed
with the execution only after it, so no restart finds an execution past its
Map with the run still RUNNING in the store. A Map Run started in a
Distributed Map's child is seeded with the outer run and the child's index.
"""

from __future__ import annotations

from typing import Any

import anyio

from engine.map_runs import MapRun

_PROCESSOR = {
    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    "StartAt": "C",
    "States": {
        "C": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "Bad"}],
            "Default": "Ok",
        },
        "Bad": {"Type": "Fail", "Error": "Bad"},
        "Ok": {"Type": "Pass", "End": True},
    },
}


def _machine(**map_fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {"Type": "Map", "ItemProcessor": _PROCESSOR, "Next": "After", **map_fields},
            "After": {"Type": "Pass", "End": True},
        },
    }


async def test_the_end_is_kept_before_the_map_state_exits(harness: Any) -> None:
    for items, status in (([0, 2], "SUCCEEDED"), ([0, 1], "FAILED")):
        async with harness.engine() as engine:
            kept: list[tuple[str, list[str]]] = []
            handles: list[Any] = []

            async def persist(
                run: MapRun, kept: list[tuple[str, list[str]]] = kept, handles: list[Any] = handles
            ) -> None:
                await anyio.sleep(0)  # an awaited write: the Map waits for it
                types = [e.type for e in handles[0].record.history]
                kept.append((run.status, types))

            engine.map_runs.persist = persist
            handles.append(engine.start(_machine(), items))
            await handles[0].wait()
            assert len(kept) == 1
            seen, types = kept[0]
            assert seen == status
            assert types[-1] == ("MapRunSucceeded" if status == "SUCCEEDED" else "MapRunFailed")
            assert "MapStateExited" not in types and "MapStateFailed" not in types


async def test_a_stopped_execution_keeps_its_run_aborted(harness: Any) -> None:
    async with harness.engine() as engine:
        kept: list[str] = []
        gate = anyio.Event()

        async def hold(call: Any, ctx: Any) -> Any:
            await gate.wait()
            return {}

        harness.handle("arn:aws:states:::hold", hold)
        processor = {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "H",
            "States": {"H": {"Type": "Task", "Resource": "arn:aws:states:::hold", "End": True}},
        }

        async def persist(run: MapRun) -> None:
            await anyio.sleep(0)  # awaited although the execution is being cancelled
            kept.append(run.status)

        engine.map_runs.persist = persist
        handle = engine.start(
            {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": processor, "End": True}}},
            [1, 2],
        )
        with anyio.fail_after(10):
            while not engine.map_runs.of(handle.record.execution_arn):
                await anyio.sleep(0.01)
        handle.stop()
        await handle.wait()
        assert kept == ["ABORTED"]


def _nested(label: str) -> dict[str, Any]:
    inner = {
        "Type": "Map",
        "Label": "inner",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }
    return {
        "Type": "Map",
        "Label": label,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Inner",
            "States": {"Inner": inner},
        },
    }


async def test_nested_map_runs_of_other_outer_children_and_runs_have_their_own_arns(harness: Any) -> None:
    # Two outer runs (one per state), two children each, each child one inner run labelled alike.
    machine = {
        "StartAt": "First",
        "States": {
            "First": {**_nested("outer"), "ResultPath": None, "Next": "Second"},
            "Second": {**_nested("outer"), "End": True},
        },
    }
    async with harness.engine() as engine:
        handle = engine.start(machine, [{"items": [1]}, {"items": [2]}])
        result = await handle.wait()
        assert result.status == "SUCCEEDED", result
        runs = engine.map_runs.of(handle.record.execution_arn)
        inner = [r.arn for r in runs if r.label == "inner"]
        assert len([r for r in runs if r.label == "outer"]) == 2
        assert len(inner) == 4 and len(set(inner)) == 4, inner
