"""Retry and Catch: what a Task, Map or Parallel state does when it fails.

``retry`` counts the attempt against the first Retrier whose ErrorEquals
matches (counters live in the position, so a resumed execution keeps them)
and returns the back-off to sleep, or None when the error is not retried.
``catch`` finds the first matching Catcher and makes the state's output from
the error (``{"Error", "Cause"}``), in the state's query language. Matching
by name and the delays themselves are the pure functions of ``engine.retry``.
"""

from __future__ import annotations

from engine.definition.model import Catcher, MapState, ParallelState, Retrier, State, TaskState
from engine.errors import StatesError
from engine.jsonvalue import JSON
from engine.paths import PathSetError
from engine.retry import error_matches, retry_delay
from engine.runtime.record import Position
from engine.states.io import IO
from engine.states.runner import Runner, Variables


def retry(runner: Runner, retriers: tuple[Retrier, ...], pos: Position, err: StatesError) -> float | None:
    """The delay before the next attempt, or None when no Retrier retries ``err`` any more."""
    if not retriers:
        return None
    if len(pos.retry_counts) != len(retriers):
        pos.retry_counts = [0] * len(retriers)
    for i, r in enumerate(retriers):
        if error_matches(r.error_equals, err.error):
            used = pos.retry_counts[i]
            if used >= r.max_attempts:
                return None
            pos.retry_counts[i] = used + 1
            delay = retry_delay(r, used, runner.rng)
            on_progress = runner.config.on_progress
            if on_progress is not None:
                on_progress(
                    runner.record,
                    "RetryScheduled",
                    {"state": pos.state, "error": err.error, "retry": used + 1,
                     "maxAttempts": r.max_attempts, "delaySeconds": delay},
                )  # fmt: skip
            return delay
    return None


def catch(
    runner: Runner, state: State, pos: Position, variables: Variables, err: StatesError
) -> tuple[JSON, str] | None:
    """(output, next state) of the first Catcher that matches ``err``, or None when none does."""
    catchers: tuple[Catcher, ...] = (
        state.catch if isinstance(state, TaskState | MapState | ParallelState) else ()
    )
    for c in catchers:
        if not error_matches(c.error_equals, err.error):
            continue
        error_output: dict[str, JSON] = {
            "Error": err.error,
            "Cause": err.cause if err.cause is not None else "",
        }
        try:
            out = IO[state.query_language].caught(runner, state, pos, variables, c, error_output)
        except PathSetError:
            return None
        runner.exited(state, out)
        return out, c.next
    return None
