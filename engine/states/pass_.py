"""The Pass state: its input, or Parameters or Result, to its output.

The common JSONPath shape (Parameters or Result, then ResultPath; no
InputPath, OutputPath, Assign or ``$$``) is decided at parse time
(``PassState.simple``) and runs without the general I/O: it is the hot path
of Pass chains (``benchmarks.transitions``).
"""

from __future__ import annotations

from engine.definition.model import PassState, State
from engine.jsonvalue import JSON, dumps
from engine.paths import PathSetError, set_path
from engine.runtime.record import Position
from engine.scope import Scope
from engine.size_guard import RESULT_WHAT
from engine.states.io import IO
from engine.states.runner import Runner, Variables


def run(runner: Runner, state: State, pos: Position, variables: Variables) -> tuple[JSON, str | None]:
    """Run a Pass state; return (output, next state)."""
    assert isinstance(state, PassState)
    if state.simple:
        # Inline, not a call: this is the hot path of Pass chains.
        raw = pos.input
        params = state.parameters
        result: JSON
        if params is not None and params.evaluate is not None:
            # One reused scope: evaluation is synchronous, so nothing else can see it meanwhile.
            sc = runner.fast_scope
            if sc is None:
                sc = runner.fast_scope = Scope(None, None, {}, runner.rng)
            sc.input = raw
            sc.variables = variables
            result = params.evaluate(sc)
        elif state.has_result:
            result = state.result
        else:
            result = raw
        path = state.result_path
        if state.result_path_null:
            out = raw
        elif path is None:
            out = result
        else:
            try:
                out = set_path(raw, path, result)
            except PathSetError:
                out = runner.result_path(state, raw, result)
        guard = runner.guard
        limit = guard.limit
        if limit is not None and len(dumps(out)) > limit:
            guard.check(out, RESULT_WHAT, state.name)
        runner.history.state_event("PassStateExited", runner.timestamp(), state.name, out)
        on_event = runner.config.on_event
        if on_event is not None:
            on_event(runner.record, "PassStateExited", {"name": state.name, "output": out})
        return out, state.next
    step = IO[state.query_language].begin(runner, state, pos, variables)
    out = step.finish_result(state, step.pass_result(state), None, task_like=False)
    runner.guard.check(out, RESULT_WHAT, state.name)
    runner.exited(state, out)
    return out, state.next
