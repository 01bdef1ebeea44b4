"""Assertions on execution histories, for tests of state machines.

``states_visited`` lists the states an execution entered, in order (nested
Map and Parallel states included, as their events come). The assertions
raise ``AssertionError`` with the history's path spelled out, so a failing
test says which way the execution went:

* ``assert_states_visited(result, [...])``: those states were entered in that
  order (``exact=True``: and no others);
* ``assert_error_caught(result, state, error, next_state=None)``: ``state``
  failed with ``error``, a Catcher took it (the state exited instead of
  failing the execution) and, if given, the execution went on to
  ``next_state``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from engine import ExecutionResult, HistoryEvent

_OWN_OUTCOMES: Final = frozenset(
    {
        "TaskSucceeded",
        "TaskFailed",
        "TaskTimedOut",
        "MapStateSucceeded",
        "MapStateFailed",
        "ParallelStateSucceeded",
        "ParallelStateFailed",
    }
)


def _events(result: ExecutionResult) -> list[HistoryEvent]:
    return list(result.history)


def _name(event: HistoryEvent) -> str | None:
    name = event.details.get("name") if event.details else None
    return name if isinstance(name, str) else None


def states_visited(result: ExecutionResult) -> list[str]:
    """The names of the states the execution entered, in history order."""
    return [n for e in _events(result) if e.type.endswith("StateEntered") and (n := _name(e)) is not None]


def assert_states_visited(result: ExecutionResult, expected: Sequence[str], *, exact: bool = False) -> None:
    """Assert that the execution entered ``expected`` in that order (only those with ``exact``)."""
    visited = states_visited(result)
    if exact:
        assert visited == list(expected), f"states visited {visited}, expected exactly {list(expected)}"
        return
    it = iter(visited)
    missing = [name for name in expected if not any(v == name for v in it)]
    assert not missing, (
        f"states visited {visited} do not include {list(expected)} in that order (missing {missing})"
    )


def assert_error_caught(
    result: ExecutionResult, state: str, error: str, *, next_state: str | None = None
) -> None:
    """Assert that ``state`` failed with ``error`` and a Catcher handled it (then went to ``next_state``)."""
    events = _events(result)
    seen: list[str] = []
    for i, entered in enumerate(events):
        if not entered.type.endswith("StateEntered") or _name(entered) != state:
            continue
        exited_type = entered.type.replace("Entered", "Exited")
        j = next(
            (
                k
                for k in range(i + 1, len(events))
                if events[k].type == exited_type and _name(events[k]) == state
            ),
            None,
        )
        if j is None:
            continue
        window = events[i + 1 : j]
        outcomes = [e for e in window if e.type in _OWN_OUTCOMES]
        errors = [e.details["error"] for e in window if e.details and isinstance(e.details.get("error"), str)]
        if errors:
            seen.append(str(errors[-1]))
        if not outcomes or outcomes[-1].type.endswith("Succeeded") or not errors or errors[-1] != error:
            continue
        if next_state is not None:
            after = next((_name(e) for e in events[j + 1 :] if e.type.endswith("StateEntered")), None)
            assert after == next_state, (
                f"state '{state}' caught {error} but the execution went to {after!r}, not {next_state!r}"
            )
        return
    visited = states_visited(result)
    raise AssertionError(
        f"no {error} was caught in state '{state}' (errors caught there: {seen or 'none'}; states visited {visited}; "
        f"execution {result.status}{' with ' + result.error if result.error else ''})"
    )


__all__ = ["assert_error_caught", "assert_states_visited", "states_visited"]
