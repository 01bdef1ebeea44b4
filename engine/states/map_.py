"""The Map state: run the processor once per item (inline or distributed), collect the results.

``run`` resolves the items (ItemsPath or Items, ItemSelector, ItemBatcher),
records MapStateStarted, retries as Retry says and makes the output;
``iterations`` runs the children, as many at once as MaxConcurrency allows,
and decides the Map's failure the way AWS does: the first failure in time
(no tolerated-failure threshold), or that threshold (ToleratedFailureCount,
ToleratedFailurePercentage, in either mode, as the ASL defines them). A distributed
Map's children record their events in a history of their own.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable
from typing import Final

import anyio

from engine.definition.model import MapState, State
from engine.errors import ExceedToleratedFailureThreshold, QueryEvaluationError, StatesError, StatesRuntime
from engine.jsonvalue import JSON, dumps, dumps_str
from engine.map_runs import ABORTED, FAILED, SUCCEEDED, TIMED_OUT, Child, MapRun, map_run_arn
from engine.runtime.record import MapProgress, Position
from engine.size_guard import RESULT_WHAT
from engine.states.io import IO, StepIO
from engine.states.runner import Failure, Runner, Variables, stored_failure

THRESHOLD_CAUSE: Final = "The specified tolerated failure threshold was exceeded"


async def run(runner: Runner, state: State, pos: Position, variables: Variables) -> tuple[JSON, str | None]:
    """Run a Map state; return (output, next state)."""
    assert isinstance(state, MapState)
    try:
        step = IO[state.query_language].begin(runner, state, pos, variables)
        items = step.map_items(state)
        max_conc = step.max_concurrency(state)
        if state.item_batcher is not None:
            items = _batches(runner, state, step, items)
    except QueryEvaluationError as err:
        # AWS: EvaluationFailed, then MapStateFailed (conformance map_state_items_*).
        runner.event("EvaluationFailed", {"error": err.error, "cause": err.cause or "", "state": state.name})
        err.evaluation_recorded = True
        runner.event("MapStateFailed")
        raise
    if pos.due is not None:  # resumed in a retry back-off: wait what remains
        await runner.sleep_until_due(pos)
    if pos.map_progress is None:  # not when resumed with iterations already under way
        runner.event("MapStateStarted", {"length": len(items)})
    tolerated_count, tolerated_pct = step.tolerated(state)
    while True:
        try:
            results = await runner.map_iterations(
                state, pos, variables, items, step.effective, max_conc, tolerated_count, tolerated_pct
            )
            break
        except Failure as f:
            delay = runner.retry(state.retry, pos, f.error)
            if delay is None:
                runner.event("MapStateFailed")
                raise f.error from None
            pos.map_progress = None
            await runner.retry_sleep(pos, delay)
            runner.event("MapStateStarted", {"length": len(items)})
    runner.guard.check(results, RESULT_WHAT, state.name)
    runner.event("MapStateSucceeded")
    out = step.finish_result(state, results, state.result_selector, task_like=True)
    runner.guard.check(out, RESULT_WHAT, state.name)
    runner.exited(state, out)
    return out, state.next


def _batches(runner: Runner, state: MapState, step: StepIO, items: list[JSON]) -> list[JSON]:
    """ItemBatcher: each item through ItemSelector, then grouped; a child's input is ``{"Items": [...]}``."""
    batcher = state.item_batcher
    assert batcher is not None
    effective = step.effective
    selected = [
        runner.select_item(state, step.pos, step.variables, effective, i, item)
        for i, item in enumerate(items)
    ]
    max_items, max_bytes, batch_input = step.batch_limits(batcher)
    return group(selected, max_items, max_bytes, batch_input, batcher.batch_input is not None)


async def iterations(
    runner: Runner,
    state: MapState,
    pos: Position,
    variables: Variables,
    items: list[JSON],
    effective: JSON,
    max_conc: int,
    tolerated_count: int | None,
    tolerated_pct: float | None,
) -> list[JSON]:
    """Run the iterations not finished yet; return every item's result in order.

    Raises:
        Failure: the Map failed (an iteration, or the tolerated threshold).
    """
    fresh = pos.map_progress is None
    if pos.map_progress is None:
        pos.map_progress = MapProgress()
    progress = pos.map_progress
    n = len(items)
    failures: list[StatesError] = []
    first_failure: list[StatesError] = []
    record = runner.record
    run = (
        _map_run(runner, state, pos, items, max_conc, tolerated_count, tolerated_pct, fresh)
        if state.distributed
        else None
    )
    limiter: anyio.Semaphore | anyio.CapacityLimiter | None
    if run is not None:
        # A limiter whose size UpdateMapRun can change while the children run.
        limiter = run.limiter = anyio.CapacityLimiter(run.tokens())
    else:
        limiter = anyio.Semaphore(max_conc) if max_conc and max_conc > 0 else None

    def tolerances() -> tuple[int | None, float | None]:
        return (
            (run.tolerated_count, run.tolerated_pct) if run is not None else (tolerated_count, tolerated_pct)
        )

    def tolerates() -> bool:
        count, pct = tolerances()
        return count is not None or pct is not None

    def threshold_exceeded() -> bool:
        count, pct = tolerances()
        if count is None and pct is None:
            return bool(failures)
        ok_count = count is not None and len(failures) <= count
        ok_pct = pct is not None and n > 0 and (len(failures) * 100.0 / n) <= pct
        return not (ok_count or ok_pct)

    # An exception that is no ASL failure (the history quota, a fault): it ends the execution.
    fatal: list[Exception] = []

    def fail(index: int, err: StatesError, cancel: Callable[[], None]) -> None:
        failures.append(err)
        if state.distributed or tolerates():
            # Kept with the next commit: a resume counts it again instead of running the child again.
            progress.failed[index] = (err.error, err.cause)
            if runner.config.on_transition is not None:
                runner.config.on_transition(record)
        if threshold_exceeded() and not first_failure:
            # The first failure in time decides the Map's error, as on AWS; the siblings are cancelled.
            first_failure.append(err)
            if not state.distributed:
                final = ExceedToleratedFailureThreshold(cause=THRESHOLD_CAUSE) if tolerates() else err
                progress.failure = (final.error, final.cause)
            cancel()

    for index, stored in progress.failed.items():
        # Resumed: the children that failed before count as they did, in the order they failed.
        fail(index, stored_failure(stored), _nothing_to_cancel)
    if first_failure:
        # Their failures had crossed the threshold already: the children still running then were
        # being cancelled, and none runs again.
        pos.children.clear()

    if progress.failure is not None and not state.distributed:
        # Resumed after an iteration's failure was committed, before the Map's end: the
        # iterations still running then are aborted, as they were being, and none runs again.
        for key in sorted(pos.children, key=int):
            runner.event("MapIterationAborted", {"name": state.name, "index": int(key)})
        pos.children.clear()
        raise Failure(stored_failure(progress.failure))

    def child_ended(index: int, status: str, err: StatesError | None = None) -> None:
        if run is not None and (child := run.children.get(index)) is not None:
            child.status, child.stop = status, runner.config.clock.timestamp()
            if err is not None:
                child.error, child.cause = err.error, err.cause

    async def one(index: int, cancel: Callable[[], None]) -> None:
        item = items[index]
        key = f"{index}"
        started = False
        # A distributed Map's child runs detached, scoped by its run and its index.
        child_runner = runner if run is None else runner.detached(f"{run.arn}|{index}")
        try:
            child = pos.children.get(key)
            child_input: str | None = None
            if child is None:
                # (With ItemBatcher the selector ran on each item before batching.)
                item_input = (
                    runner.select_item(state, pos, variables, effective, index, item)
                    if state.item_batcher is None
                    else item
                )
                child = Position(state.processor.start_at, item_input)
                pos.children[key] = child
                if run is not None:
                    child_input = dumps_str(item_input)
                child_runner.event("MapIterationStarted", {"name": state.name, "index": index})
            # else: resumed in the middle of this iteration; it continues where it was (its
            # input is taken up from the run's document).
            if run is not None:
                now = runner.config.clock.timestamp()
                before = run.taken.pop(index, None)
                if before is not None and child_input is None:
                    now, child_input = before.start, before.input  # the same child, going on
                run.children[index] = Child(index, _item_count(run, index), now, input=child_input)
            started = True
            out = await child_runner.run_scope(
                state.processor, child, ChainMap(child.own_variables(), variables)
            )
        except Failure as f:
            child_ended(index, TIMED_OUT if f.error.error == "States.Timeout" else FAILED, f.error)
            child_runner.event("MapIterationFailed", {"name": state.name, "index": index})
            fail(index, f.error, cancel)
            return
        except StatesError as err:  # the ItemSelector failed: the iteration never started
            fail(index, err, cancel)
            return
        except anyio.get_cancelled_exc_class():
            if started:
                child_ended(index, ABORTED)
                child_runner.event("MapIterationAborted", {"name": state.name, "index": index})
            raise
        except Exception as exc:
            if not fatal:
                fatal.append(exc)
                cancel()
            return
        finally:
            pos.children.pop(key, None)
        child_ended(index, SUCCEEDED)
        if run is not None and (ended := run.children.get(index)) is not None:
            ended.output = dumps_str(out)
        progress.results[index] = out
        child_runner.event("MapIterationSucceeded", {"name": state.name, "index": index})
        if runner.config.on_transition is not None:  # the iteration's result is progress to keep
            runner.config.on_transition(record)

    async def guarded(index: int, cancel: Callable[[], None]) -> None:
        if limiter is None:
            await one(index, cancel)
            return
        async with limiter:
            if not first_failure and not fatal:
                await one(index, cancel)

    try:
        if first_failure:
            pass
        elif run is None and limiter is not None and max_conc == 1:
            # Sequential iterations need no task group: cheaper, and events stay in item order.
            for i in range(n):
                if i in progress.results or i in progress.failed:
                    continue
                await one(i, _nothing_to_cancel)
                if first_failure or fatal:
                    break
        else:
            async with anyio.create_task_group() as tg:
                if run is not None:
                    run.on_update = lambda: _recheck(
                        threshold_exceeded, failures, first_failure, tg.cancel_scope.cancel
                    )
                for i in range(n):
                    if i not in progress.results and i not in progress.failed:
                        tg.start_soon(guarded, i, tg.cancel_scope.cancel)
    except anyio.get_cancelled_exc_class():
        config = runner.config
        if run is not None and not config.suspending and record.execution_arn not in config.dropped:
            # Stopped (not suspended: a resumed run goes on), as AWS's MapRunAborted.
            await config.map_runs.end(run, ABORTED, config.clock.timestamp())
        raise
    if fatal:
        if run is not None:
            await runner.config.map_runs.end(run, FAILED, runner.config.clock.timestamp())
        raise fatal[0]
    if first_failure:
        err = first_failure[0]
        if run is not None:
            runner.event("MapRunFailed")
            await runner.config.map_runs.end(run, FAILED, runner.config.clock.timestamp())
        if tolerates():
            raise Failure(ExceedToleratedFailureThreshold(cause=THRESHOLD_CAUSE))
        raise Failure(err)
    if run is not None:
        runner.event("MapRunSucceeded")
        await runner.config.map_runs.end(run, SUCCEEDED, runner.config.clock.timestamp())
    # A tolerated failed iteration: AWS reports it as null in the results (no ResultWriter).
    return [progress.results.get(i) for i in range(n)]


def _map_run(
    runner: Runner,
    state: MapState,
    pos: Position,
    items: list[JSON],
    max_conc: int,
    tolerated_count: int | None,
    tolerated_pct: float | None,
    fresh: bool,
) -> MapRun:
    """The Map Run of a Distributed Map: started (MapRunStarted), or taken up again on resume."""
    record = runner.record
    # Named after the state's Label when it has one (AWS: "Label" names Map Runs); one run per
    # attempt of the state (a Retry starts another), the same one again when resumed.
    label = state.label if state.label is not None else state.name
    seed = f"{pos.entered_event_id}/{sum(pos.retry_counts)}"
    if runner.map_run_scope:
        # In a Distributed Map's child: event ids are the child's own, so the outer run and the
        # child's index make the seed unique (both stay when resumed, and so does the ARN).
        seed = f"{runner.map_run_scope}|{seed}"
    arn = map_run_arn(record.execution_arn, record.state_machine_name, label, seed)
    now = runner.config.clock.timestamp()
    run = MapRun(
        arn=arn,
        execution_arn=record.execution_arn,
        state_machine_arn=record.state_machine_arn,
        start=now,
        max_concurrency=max_conc,
        tolerated_count=tolerated_count,
        tolerated_pct=tolerated_pct,
        total=len(items),
        item_counts=[_batch_size(item) for item in items] if state.item_batcher is not None else [],
    )
    progress = pos.map_progress
    if progress is not None and not fresh:
        # Resumed: what ended before counts as it ended (when it started is the run's record, not ours).
        for index, result in progress.results.items():
            count = _item_count(run, index)
            run.children[index] = Child(index, count, now, now, SUCCEEDED, output=dumps_str(result))
        for index, (error, cause) in progress.failed.items():
            status = TIMED_OUT if error == "States.Timeout" else FAILED
            run.children[index] = Child(
                index, _item_count(run, index), now, now, status, error=error, cause=cause
            )
    if fresh:
        runner.event("MapRunStarted", {"mapRunArn": arn})
    runner.config.map_runs.started(run, resumed=not fresh)
    return run


def _batch_size(item: JSON) -> int:
    batch = item.get("Items") if isinstance(item, dict) else None
    return len(batch) if isinstance(batch, list) else 1


def _item_count(run: MapRun, index: int) -> int:
    return run.item_counts[index] if run.item_counts else 1


def _recheck(
    exceeded: Callable[[], bool],
    failures: list[StatesError],
    first_failure: list[StatesError],
    cancel: Callable[[], None],
) -> None:
    """After UpdateMapRun: a lowered threshold that the failures so far exceed fails the run now."""
    if failures and not first_failure and exceeded():
        first_failure.append(failures[-1])
        cancel()


def _nothing_to_cancel() -> None:
    """Sequential iterations run in no task group: a failure just stops the loop."""


def group(
    items: list[JSON], max_items: int | None, max_bytes: int | None, batch_input: JSON, with_input: bool
) -> list[JSON]:
    """Items in order into batches of at most ``max_items`` items and ``max_bytes`` bytes of child input."""
    empty: dict[str, JSON] = {"Items": []}
    if with_input:
        empty["BatchInput"] = batch_input
    base = len(dumps(empty))
    batches: list[list[JSON]] = []
    current: list[JSON] = []
    size = base
    for index, item in enumerate(items):
        item_size = len(dumps(item))
        full = current and (
            (max_items is not None and len(current) >= max_items)
            or (max_bytes is not None and size + 1 + item_size > max_bytes)
        )
        if full:
            batches.append(current)
            current, size = [], base
        if max_bytes is not None and not current and base + item_size > max_bytes:
            raise StatesRuntime(
                cause=f"The item at index {index} does not fit in a batch of MaxInputBytesPerBatch {max_bytes} bytes"
            ).scoped()
        size += item_size + (1 if current else 0)
        current.append(item)
    if current:
        batches.append(current)
    out: list[JSON] = []
    for batch in batches:
        child: dict[str, JSON] = {"Items": batch}
        if with_input:
            child["BatchInput"] = batch_input
        out.append(child)
    return out
