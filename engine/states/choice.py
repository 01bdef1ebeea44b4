"""The Choice state: the first rule that matches names the next state, else Default.

The rules themselves are compiled at parse time (``engine.definition.choice``
for JSONPath, a JSONata ``Condition`` otherwise); here they are tried in order.
A Choice rebuilt from a history that ends with its exit (``pos.started``)
chooses again, since choosing is pure, without recording the exit twice.
"""

from __future__ import annotations

from engine.definition.model import ChoiceState, State
from engine.errors import NoChoiceMatched
from engine.jsonvalue import JSON
from engine.runtime.record import Position
from engine.states.io import IO
from engine.states.runner import Runner, Variables


def run(runner: Runner, state: State, pos: Position, variables: Variables) -> tuple[JSON, str | None]:
    """Run a Choice state; return (output, next state)."""
    assert isinstance(state, ChoiceState)
    step = IO[state.query_language].begin(runner, state, pos, variables)
    for rule in state.choices:
        if step.matches(rule):
            out = step.finish_rule(state, rule)
            _exited(runner, state, pos, out)
            return out, rule.next
    if state.default is None:
        raise NoChoiceMatched(cause=f"No Matches! at state '{state.name}'")
    out = step.finish_value(step.effective, state.assign, state.output)
    _exited(runner, state, pos, out)
    return out, state.default


def _exited(runner: Runner, state: ChoiceState, pos: Position, out: JSON) -> None:
    if pos.started:  # the exit is in the history already
        pos.started = False
        runner.exit_recorded()
    else:
        runner.exited(state, out)
