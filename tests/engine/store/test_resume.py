"""Resume from a durable store: each state kind continues where it was, nothing is done twice.

Every test runs on both durable backends, a real SQLite file and a real
PostgreSQL database. Each runs an execution on one engine, leaves the
``async with`` block while the execution is in the middle (the engine
suspends it: it stays RUNNING in the file), then enters a new engine on the
same file, which resumes it on entry.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from engine import ExecutorCall, ExecutorContext, LoopClock, SystemClock
from engine.store import open_store

CUSTOM = "arn:aws:states:::custom:call"

pytestmark = pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)


async def _until(predicate: Any, timeout: float = 5) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.001)


async def _stored_status(url: str, arn: str) -> str:
    store = open_store(url)
    await store.open()
    try:
        found = await store.get_execution(arn)
        assert found is not None
        return found.status
    finally:
        await store.close()


@pytest.mark.looptime
async def test_a_wait_resumed_waits_only_what_remains(harness: Any, store_url: str) -> None:
    definition = {
        "StartAt": "Before",
        "States": {
            "Before": {"Type": "Pass", "Result": 1, "ResultPath": "$.before", "Next": "Pause"},
            "Pause": {"Type": "Wait", "Seconds": 100, "Next": "After"},
            "After": {"Type": "Pass", "Result": 2, "ResultPath": "$.after", "End": True},
        },
    }
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    start = loop.time()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(definition, {"n": 1}, name="waits")
        await anyio.sleep(30)
        arn = execution.execution_arn
    # Leaving the block suspended the execution: it is still RUNNING in the file.
    assert execution.status == "RUNNING"
    assert await _stored_status(store_url, arn) == "RUNNING"
    async with harness.engine(clock=clock, store=store_url) as engine:
        resumed = engine.get(arn)
        assert resumed is not None
        result = await resumed.wait()
    assert result.status == "SUCCEEDED"
    assert result.output == {"n": 1, "before": 1, "after": 2}
    assert loop.time() - start == pytest.approx(100, abs=1)
    assert result.history.types == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "WaitStateEntered",
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert [e.id for e in result.history] == list(range(1, 9))
    assert await _stored_status(store_url, arn) == "SUCCEEDED"


@pytest.mark.looptime
async def test_a_wait_whose_time_has_passed_fires_at_once(harness: Any, store_url: str) -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": True}}}
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        engine.start(definition, {}, name="late")
        await anyio.sleep(1)
    await anyio.sleep(60)  # the process is "down" longer than the Wait
    resumed_at = loop.time()
    async with harness.engine(clock=clock, store=store_url) as engine:
        [execution] = list(engine._executions.values())
        result = await execution.wait()
    assert result.status == "SUCCEEDED"
    assert loop.time() - resumed_at < 1


async def test_a_task_with_a_saved_handle_reattaches_without_a_second_call(harness: Any, store_url: str) -> None:
    calls: list[Any] = []
    release = asyncio.Event()

    async def job(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        calls.append((ctx.handle, ctx.resumed))
        if ctx.handle is None:
            ctx.save_handle({"job": "j-1"})
        await release.wait()
        return {"picked_up": ctx.handle}

    harness.handle(CUSTOM, job)
    definition = {
        "StartAt": "Prep",
        "States": {
            "Prep": {"Type": "Pass", "Result": "p", "ResultPath": "$.prep", "Next": "Job"},
            "Job": {"Type": "Task", "Resource": CUSTOM, "ResultPath": "$.job", "End": True},
        },
    }
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        execution = engine.start(definition, {})
        await _until(lambda: calls == [(None, False)])
        await anyio.sleep(0.05)  # the handle's commit
    release.set()
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert result.status == "SUCCEEDED"
    assert result.output == {"prep": "p", "job": {"picked_up": {"job": "j-1"}}}
    assert calls == [(None, False), ({"job": "j-1"}, True)]
    types = result.history.types
    assert types.count("TaskScheduled") == 1 and types.count("TaskStarted") == 1
    assert types.count("TaskStateEntered") == 1 and types.count("PassStateEntered") == 1


async def test_a_task_is_called_only_after_the_record_scheduling_it_is_committed(
    harness: Any, store_url: str
) -> None:
    seen_in_file: list[list[str]] = []

    async def probe(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        # Another store object (another connection), as another process would read the store.
        reader = open_store(store_url)
        await reader.open()
        try:
            seen_in_file.append([e.type for e in await reader.history(ctx.execution_arn)])
        finally:
            await reader.close()
        return "done"

    harness.handle(CUSTOM, probe)
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": CUSTOM, "End": True}}}
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        result = await engine.run(definition, {})
    assert result.status == "SUCCEEDED"
    assert seen_in_file == [["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted"]]


@pytest.mark.looptime
async def test_retry_counters_and_the_back_off_survive_a_restart(harness: Any, store_url: str) -> None:
    attempts: list[int] = []

    async def flaky(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        attempts.append(ctx.attempt)
        if len(attempts) < 3:
            from engine import TaskFailed

            raise TaskFailed(cause="not yet")
        return "ok"

    harness.handle(CUSTOM, flaky)
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": CUSTOM,
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 100, "BackoffRate": 1, "MaxAttempts": 5}],
                "End": True,
            }
        },
    }
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    start = loop.time()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(definition, {}, name="retries")
        await anyio.sleep(150)  # first failure at 0, second at 100, now in the second back-off
        assert attempts == [0, 1]
    async with harness.engine(clock=clock, store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert result.status == "SUCCEEDED"
    assert attempts == [0, 1, 2]  # the counter went on from where it was
    assert loop.time() - start == pytest.approx(200, abs=1)
    assert result.history.types.count("TaskScheduled") == 3


async def test_a_map_resumes_without_rerunning_finished_iterations(harness: Any, store_url: str) -> None:
    seen: list[int] = []
    gate = {"open": False}

    async def item(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        n = call.parameters
        assert isinstance(n, int)
        seen.append(n)
        while n == 2 and not gate["open"]:
            await anyio.sleep(0.01)
        return n * 10

    harness.handle(CUSTOM, item)
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Task", "Resource": CUSTOM, "End": True}}},
                "End": True,
            }
        },
    }
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        execution = engine.start(definition, [0, 1, 2, 3])
        await _until(lambda: seen == [0, 1, 2])
        await anyio.sleep(0.05)
    gate["open"] = True
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert (result.status, result.output) == ("SUCCEEDED", [0, 10, 20, 30])
    # Iteration 2's Task had started: resumed (called again: it saved no handle), 0 and 1 not rerun.
    assert seen == [0, 1, 2, 2, 3]
    types = result.history.types
    assert types.count("MapStateStarted") == 1
    assert types.count("MapIterationStarted") == 4
    assert types.count("TaskScheduled") == 4


async def test_a_parallel_resumes_without_rerunning_finished_branches(harness: Any, store_url: str) -> None:
    seen: list[str] = []
    gate = {"open": False}

    async def branch(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        name = str(call.parameters)
        seen.append(name)
        while name == "slow" and not gate["open"]:
            await anyio.sleep(0.01)
        return name.upper()

    harness.handle(CUSTOM, branch)

    def b(name: str) -> dict[str, Any]:
        return {"StartAt": name, "States": {name: {"Type": "Task", "Resource": CUSTOM, "Parameters": name, "End": True}}}

    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [b("fast"), b("slow")], "End": True}},
    }
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        execution = engine.start(definition, {})
        await _until(lambda: sorted(seen) == ["fast", "slow"])
        await anyio.sleep(0.05)
    gate["open"] = True
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert (result.status, result.output) == ("SUCCEEDED", ["FAST", "SLOW"])
    assert sorted(seen) == ["fast", "slow", "slow"]
    assert result.history.types.count("ParallelStateStarted") == 1


@pytest.mark.looptime
async def test_variables_are_kept_across_a_restart(harness: Any, store_url: str) -> None:
    definition = {
        "StartAt": "Remember",
        "States": {
            "Remember": {"Type": "Pass", "Assign": {"seen.$": "$.n"}, "Next": "Pause"},
            "Pause": {"Type": "Wait", "Seconds": 50, "Next": "Use"},
            "Use": {"Type": "Pass", "Parameters": {"seen.$": "$seen"}, "End": True},
        },
    }
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(definition, {"n": 7})
        await anyio.sleep(10)
    async with harness.engine(clock=clock, store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert result.output == {"seen": 7}


@pytest.mark.looptime
async def test_the_machine_timeout_counts_from_the_original_start(harness: Any, store_url: str) -> None:
    definition = {
        "StartAt": "W",
        "TimeoutSeconds": 100,
        "States": {"W": {"Type": "Wait", "Seconds": 1000, "End": True}},
    }
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    start = loop.time()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(definition, {})
        await anyio.sleep(60)
    async with harness.engine(clock=clock, store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert result.status == "TIMED_OUT"
    assert loop.time() - start == pytest.approx(100, abs=1)


@pytest.mark.looptime
async def test_a_waiting_execution_keeps_no_history_in_memory(harness: Any, store_url: str) -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 100, "Next": "B"},
            "B": {"Type": "Pass", "End": True},
        },
    }
    async with harness.engine(clock=LoopClock(), store=store_url) as engine:
        execution = engine.start(definition, {})
        await anyio.sleep(10)
        assert len(execution.record.history) == 0
        assert execution.record.history.last_id == 4
        stored = await engine.store.history(execution.execution_arn)  # type: ignore[union-attr]
        assert [e.type for e in stored][-1] == "WaitStateEntered"
        result = await execution.wait()
    # The whole history, read back from the store.
    assert result.history.types[0] == "ExecutionStarted"
    assert len(result.history.types) == 8
    assert [e.id for e in result.history] == list(range(1, 9))


async def test_executions_that_transition_together_share_commits(harness: Any, store_url: str) -> None:
    harness.fn("f", lambda p: p)
    definition = {"StartAt": "T", "States": {"T": harness.task("f", Next="U"), "U": harness.task("f")}}
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        handles = [engine.start(definition, {"i": i}) for i in range(200)]
        results = [await h.wait() for h in handles]
        store = engine.store
    assert all(r.status == "SUCCEEDED" for r in results)
    # 200 executions x (2 Task calls + the end): far fewer commits than that.
    assert store.batches < 60  # type: ignore[union-attr]


async def test_a_stop_request_in_the_store_aborts_the_running_execution(harness: Any, store_url: str) -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        execution = engine.start(definition, {}, name="to-stop")
        assert engine.store is not None
        await anyio.sleep(0.05)
        await engine.store.flush()  # the execution is in the store before the stop is asked for
        await engine.store.request_stop(execution.execution_arn, "Operator", "no longer needed")
        assert await engine.apply_stop_requests() == 1
        result = await execution.wait()
        assert await engine.store.stop_requests() == []
    assert (result.status, result.error, result.cause) == ("ABORTED", "Operator", "no longer needed")
    assert await _stored_status(store_url, execution.execution_arn) == "ABORTED"


async def test_submit_refuses_a_name_the_store_already_holds(harness: Any, store_url: str) -> None:
    from engine import ExecutionAlreadyExists

    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        first = await engine.submit(definition, {}, name="once")
        assert (await first.wait()).status == "SUCCEEDED"
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        with pytest.raises(ExecutionAlreadyExists):
            await engine.submit(definition, {}, name="once")
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        # start() checks this engine's names only; the store refuses the duplicate at commit.
        dup = engine.start(definition, {}, name="once")
        result = await dup.wait()
        await engine.store.flush()  # type: ignore[union-attr]
        page = await engine.store.list_executions()  # type: ignore[union-attr]
    assert [e.name for e in page.items] == ["once"]
    assert page.items[0].status == "SUCCEEDED"
    assert result.status in ("SUCCEEDED", "ABORTED")
