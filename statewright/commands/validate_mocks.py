"""``statewright validate FILE --mock-config MOCKS``: the definition checked against every test case.

Each test case of the state machine (``--state-machine``, default FILE's name
without its extension) is checked as ``run --test-case`` would check it: the
mock file's own problems, test-case states the definition lacks or that are
not Task states, and unmocked Tasks no executor serves. Every problem of
every test case is listed, each with its JSON location.
"""

from __future__ import annotations

from typing import Final

from engine import ExecutorRegistry, InvalidDefinition, InvalidMockConfig, MockConfig, Problem
from engine.testing import compile_with_mocks

FILE: Final = ""
"""The key under which the mock file's own problems are listed."""


def test_case_problems(
    text: str, registry: ExecutorRegistry, mock_config: str, state_machine: str
) -> dict[str, list[Problem]]:
    """Problems of the file itself (key ``FILE``) and per test case (only those with problems).

    A file with problems still has its well-formed test cases checked, so one
    run lists everything.

    Raises:
        InvalidMockConfig: the file cannot be read or parsed at all, or has no such state machine.
    """
    out: dict[str, list[Problem]] = {}
    try:
        config = MockConfig.load(mock_config)
    except InvalidMockConfig as exc:
        if exc.partial is None:
            raise
        config = exc.partial
        out[FILE] = exc.problems
    cases = config.state_machines.get(state_machine)
    if cases is None:
        if out:
            return out
        config.test_case(state_machine, "")  # raises, naming the state machines the file has
    for name, case in (cases or {}).items():
        try:
            compile_with_mocks(text, registry, case)
        except InvalidDefinition as exc:
            out[name] = exc.problems
    return out
