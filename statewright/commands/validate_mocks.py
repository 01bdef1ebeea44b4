"""``statewright validate FILE --mock-config MOCKS``: the definition checked against every test case.

Each test case of the state machine (``--state-machine``, default FILE's name
without its extension) is checked as ``run --test-case`` would check it: the
mock file's own problems, test-case states the definition lacks or that are
not Task states, and unmocked Tasks no executor serves. Every problem of
every test case is listed, each with its JSON location.
"""

from __future__ import annotations

from engine import ExecutorRegistry, InvalidDefinition, MockConfig, Problem
from engine.testing import compile_with_mocks


def test_case_problems(
    text: str, registry: ExecutorRegistry, mock_config: str, state_machine: str
) -> dict[str, list[Problem]]:
    """Problems per test case (only those with problems); raises InvalidMockConfig for a bad file."""
    config = MockConfig.load(mock_config)
    cases = config.state_machines.get(state_machine)
    if cases is None:
        config.test_case(state_machine, "")  # raises, naming the state machines the file has
        return {}
    out: dict[str, list[Problem]] = {}
    for name, case in cases.items():
        try:
            compile_with_mocks(text, registry, case)
        except InvalidDefinition as exc:
            out[name] = exc.problems
    return out
