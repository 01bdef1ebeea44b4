"""The Fail state: the scope fails with its Error and Cause (literal, from a path, or from JSONata)."""

from __future__ import annotations

from typing import NoReturn

from engine.definition.model import FailState, State
from engine.errors import StatesError
from engine.runtime.record import Position
from engine.states.io import IO
from engine.states.runner import Failure, Runner, Variables


def run(runner: Runner, state: State, pos: Position, variables: Variables) -> NoReturn:
    """Run a Fail state: raise its failure (never caught: a Fail state has no Catch)."""
    assert isinstance(state, FailState)
    step = IO[state.query_language].begin(runner, state, pos, variables, select_input=False)
    error, cause = step.fail_fields(state)
    raise Failure(StatesError(error or "", cause))
