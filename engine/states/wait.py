"""The Wait state: sleep for Seconds or until Timestamp (literal, from a path, or from JSONata).

The due time is written into the position before the sleep, so a resumed
execution waits only for what remains.
"""

from __future__ import annotations

from engine.definition.choice import parse_timestamp
from engine.definition.model import State, WaitState
from engine.jsonvalue import JSON
from engine.runtime.record import Position
from engine.states.io import IO
from engine.states.runner import Runner, Variables


async def run(runner: Runner, state: State, pos: Position, variables: Variables) -> tuple[JSON, str | None]:
    """Run a Wait state; return (output, next state)."""
    assert isinstance(state, WaitState)
    step = IO[state.query_language].begin(runner, state, pos, variables)
    seconds, stamp = step.wait(state)
    await _wait(runner, seconds, stamp, pos)
    out = step.finish_value(step.effective, state.assign, state.output)
    runner.exited(state, out)
    return out, state.next


async def _wait(runner: Runner, seconds: float | None, stamp: str | None, pos: Position) -> None:
    if pos.due is not None:  # resumed: the due time is part of the position
        await runner.sleep_until_due(pos)
        return
    if seconds is not None:
        delay = seconds
    elif stamp is not None:
        when = parse_timestamp(stamp)
        delay = when.timestamp() - runner.clock.timestamp() if when is not None else 0.0
    else:
        delay = 0.0
    await runner.sleep_for(pos, delay)
