"""The Succeed state: the scope ends here, with its input (through InputPath, OutputPath or Output)."""

from __future__ import annotations

from engine.definition.model import State, SucceedState
from engine.jsonvalue import JSON
from engine.runtime.record import Position
from engine.states.io import IO
from engine.states.runner import Runner, Variables


def run(runner: Runner, state: State, pos: Position, variables: Variables) -> tuple[JSON, None]:
    """Run a Succeed state; return (output, None): the scope ends."""
    assert isinstance(state, SucceedState)
    step = IO[state.query_language].begin(runner, state, pos, variables)
    out = step.finish_value(step.effective, state.assign, state.output)
    runner.exited(state, out)
    return out, None
