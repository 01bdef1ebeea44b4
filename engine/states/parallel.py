"""The Parallel state: run every branch at once on the same input, collect their outputs in order.

The first branch to fail decides the error (the others are cancelled), as on
AWS; finished branches' results are kept in the position, so a resumed
Parallel runs only the others.
"""

from __future__ import annotations

from collections import ChainMap

import anyio
import anyio.abc

from engine.definition.model import ParallelState, State
from engine.errors import StatesError
from engine.jsonvalue import JSON
from engine.runtime.record import MapProgress, Position
from engine.size_guard import RESULT_WHAT
from engine.states.io import IO
from engine.states.runner import Failure, Runner, Variables, stored_failure


async def run(runner: Runner, state: State, pos: Position, variables: Variables) -> tuple[JSON, str | None]:
    """Run a Parallel state; return (output, next state)."""
    assert isinstance(state, ParallelState)
    step = IO[state.query_language].begin(runner, state, pos, variables)
    branch_input = step.arguments(state.parameters)
    while True:
        if pos.due is not None:  # resumed in a retry back-off: wait what remains
            await runner.sleep_until_due(pos)
        if pos.map_progress is None:  # not when resumed with branches already under way
            runner.event("ParallelStateStarted")
        try:
            results = await runner.branches(state, pos, variables, branch_input)
            break
        except Failure as f:
            delay = runner.retry(state.retry, pos, f.error)
            if delay is None:
                runner.event("ParallelStateFailed")
                raise f.error from None
            pos.map_progress = None
            await runner.retry_sleep(pos, delay)
    runner.guard.check(results, RESULT_WHAT, state.name)
    runner.event("ParallelStateSucceeded")
    out = step.finish_result(state, results, state.result_selector, task_like=True)
    runner.guard.check(out, RESULT_WHAT, state.name)
    runner.exited(state, out)
    return out, state.next


async def branches(
    runner: Runner, state: ParallelState, pos: Position, variables: Variables, branch_input: JSON
) -> list[JSON]:
    """Run the branches not finished yet; return every branch's output in order.

    Raises:
        Failure: a branch failed.
    """
    results: list[JSON] = [None] * len(state.branches)
    failure: list[StatesError] = []
    # Finished branches' results (MapProgress serves Parallel too): a resumed Parallel runs only the others.
    if pos.map_progress is None:
        pos.map_progress = MapProgress()
    progress = pos.map_progress
    if progress.failure is not None:
        # Resumed after a branch's failure was committed, before the Parallel's end: none runs again.
        pos.children.clear()
        raise Failure(stored_failure(progress.failure))
    fatal: list[Exception] = []

    async def one(i: int, tg: anyio.abc.TaskGroup) -> None:
        child = pos.children.get(f"branch{i}")
        if child is None:
            child = Position(state.branches[i].start_at, branch_input)
            pos.children[f"branch{i}"] = child
        try:
            results[i] = progress.results[i] = await runner.run_scope(
                state.branches[i], child, ChainMap(child.own_variables(), variables)
            )
            if runner.config.on_transition is not None:  # the branch's result is progress to keep
                runner.config.on_transition(runner.record)
        except Failure as f:
            # The first branch to fail decides the error, as on AWS; the others are cancelled.
            if not failure and not fatal:
                failure.append(f.error)
                progress.failure = (f.error.error, f.error.cause)
                tg.cancel_scope.cancel()
        except Exception as exc:  # no ASL failure (the history quota, a fault): it ends the execution
            if not fatal:
                fatal.append(exc)
                tg.cancel_scope.cancel()
        finally:
            pos.children.pop(f"branch{i}", None)

    async with anyio.create_task_group() as tg:
        for i in range(len(state.branches)):
            if i in progress.results:
                results[i] = progress.results[i]
            else:
                tg.start_soon(one, i, tg)
    if fatal:
        raise fatal[0]
    if failure:
        raise Failure(failure[0])
    return results
