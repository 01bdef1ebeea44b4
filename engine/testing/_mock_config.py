"""Step Functions Local's mock configuration file, parsed and validated once.

The format is AWS's, field for field::

    {"StateMachines": {"<machine>": {"TestCases": {"<test case>": {"<Task state>": "<response>"}}}},
     "MockedResponses": {"<response>": {"0": {"Return": ...}, "1-2": {"Throw": {"Error": ..., "Cause": ...}}}}}

A mocked response maps invocation numbers of the Task it serves to one
outcome each: a single number (``"3"``) or an inclusive range (``"0-2"``).
Every invocation must be covered from ``0`` on, without gaps or overlaps:
each retry attempt is the next invocation, and every Map iteration or
Parallel branch that runs the state counts for that state. An invocation past
the last key fails the execution, as in Step Functions Local.

Parsing reports every problem at once, each with its JSON Pointer into the
file, the way the definition validator does; the state names of a test case
are checked against a definition when a test case is chosen for it
(``MockTestCase.check``).
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from engine.definition.model import MapState, ParallelState, State, StateMachine, TaskState
from engine.errors import Problem, StatewrightError
from engine.jsonvalue import JSON, JSONDecodeError, loads
from engine.templates import pointer

_TOP_FIELDS: Final = frozenset({"StateMachines", "MockedResponses"})
_RANGE: Final = re.compile(r"^(0|[1-9][0-9]*)(?:-(0|[1-9][0-9]*))?$")


class InvalidMockConfig(StatewrightError):
    """A mock configuration (or a choice of test case) with every problem found."""

    def __init__(self, problems: list[Problem], source: str = "", partial: MockConfig | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        # What parsed cleanly, so a validator can go on to check the test cases' state names.
        self.partial = partial
        lines = "\n".join(f"  {p}" for p in self.problems)
        where = f"{source}: " if source else ""
        super().__init__(f"{where}invalid mock configuration ({len(self.problems)} problem(s)):\n{lines}")


@dataclass(frozen=True, slots=True)
class MockedOutcome:
    """What one invocation of a mocked Task does: return ``result`` or throw ``error``."""

    result: JSON = None
    error: str | None = None
    cause: str | None = None

    @property
    def throws(self) -> bool:
        return self.error is not None


@dataclass(frozen=True, slots=True)
class MockedResponse:
    """A named entry of ``MockedResponses``: outcomes by invocation number.

    Attributes:
        name: the response's name.
        starts: the first invocation of each key, ascending (``0`` first, no gaps).
        ends: the last invocation of each key (inclusive).
        outcomes: the outcome of each key.
    """

    name: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    outcomes: tuple[MockedOutcome, ...]

    @property
    def invocations(self) -> int:
        """How many invocations the response covers."""
        return self.ends[-1] + 1 if self.ends else 0

    def outcome(self, invocation: int) -> MockedOutcome | None:
        """The outcome of invocation ``invocation`` (0-based), or None past the last key."""
        i = bisect.bisect_right(self.starts, invocation) - 1
        if i < 0 or invocation > self.ends[i]:
            return None
        return self.outcomes[i]


@dataclass(frozen=True, slots=True)
class MockTestCase:
    """One test case of one state machine: Task state name → mocked response."""

    state_machine: str
    name: str
    states: Mapping[str, MockedResponse]
    unresolved: frozenset[str] = frozenset()
    """States whose response is missing (only in an ``InvalidMockConfig.partial``): mocked, but unusable."""

    @property
    def location(self) -> str:
        return pointer(
            pointer(pointer(pointer("", "StateMachines"), self.state_machine), "TestCases"), self.name
        )

    def check(self, machine: StateMachine) -> list[Problem]:
        """Problems with this test case's state names for ``machine``: unknown states, non-Task states."""
        found = {name: state for _, name, state in walk_states(machine)}
        problems: list[Problem] = []
        for name in [*self.states, *sorted(self.unresolved)]:
            where = pointer(self.location, name)
            state = found.get(name)
            if state is None:
                problems.append(
                    Problem(
                        where,
                        "UNKNOWN_STATE",
                        f"test case '{self.name}' mocks state '{name}', which state machine "
                        f"'{self.state_machine}' does not have",
                    )
                )
            elif not isinstance(state, TaskState):
                problems.append(
                    Problem(
                        where,
                        "NOT_A_TASK",
                        f"test case '{self.name}' mocks state '{name}', a {state.type} state; only Task states "
                        "can be mocked",
                    )
                )
        return problems


def walk_states(machine: StateMachine, loc: str = "") -> Iterator[tuple[str, str, State]]:
    """Every state of ``machine``, nested ones included, as (JSON location, name, state)."""
    for name, state in machine.states.items():
        here = pointer(pointer(loc, "States"), name)
        yield here, name, state
        if isinstance(state, MapState):
            raw_states = machine.raw.get("States")
            raw = raw_states.get(name) if isinstance(raw_states, dict) else None
            key = "Iterator" if isinstance(raw, dict) and "Iterator" in raw else "ItemProcessor"
            yield from walk_states(state.processor, pointer(here, key))
        elif isinstance(state, ParallelState):
            for i, branch in enumerate(state.branches):
                yield from walk_states(branch, pointer(pointer(here, "Branches"), i))


class MockConfig:
    """A parsed mock configuration file.

    Use ``MockConfig.load(path_or_dict)``; ``test_case(machine, name)`` picks one test case.
    """

    __slots__ = ("responses", "source", "state_machines")

    def __init__(
        self,
        state_machines: Mapping[str, Mapping[str, MockTestCase]],
        responses: Mapping[str, MockedResponse],
        source: str = "",
    ) -> None:
        self.state_machines = state_machines
        self.responses = responses
        self.source = source

    @classmethod
    def load(cls, config: MockConfig | str | os.PathLike[str] | Mapping[str, JSON]) -> MockConfig:
        """Read a mock configuration from a file path, JSON text or an already-parsed object.

        Raises:
            InvalidMockConfig: with every problem found, each with its JSON location.
        """
        if isinstance(config, MockConfig):
            return config
        source = ""
        raw: JSON
        if isinstance(config, os.PathLike) or (
            isinstance(config, str) and not config.lstrip().startswith("{")
        ):
            source = os.fspath(config)
            try:
                text = Path(source).read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidMockConfig(
                    [
                        Problem(
                            "",
                            "UNREADABLE",
                            f"cannot read mock configuration {source!r}: {exc.strerror or exc}",
                        )
                    ]
                ) from None
            except UnicodeDecodeError:
                raise InvalidMockConfig(
                    [Problem("", "UNREADABLE", f"mock configuration {source!r} is not UTF-8 text")]
                ) from None
        elif isinstance(config, str):
            text = config
        else:
            text = None
        if text is not None:
            try:
                raw = loads(text)
            except JSONDecodeError as exc:
                raise InvalidMockConfig(
                    [Problem("", "INVALID_JSON", f"mock configuration is not valid JSON: {exc}")], source
                ) from None
        else:
            raw = dict(config) if isinstance(config, Mapping) else None
        return parse_mock_config(raw, source=source)

    def test_case(self, state_machine: str, name: str) -> MockTestCase:
        """The test case ``name`` of ``state_machine``.

        Raises:
            InvalidMockConfig: the file has no such state machine or test case.
        """
        cases = self.state_machines.get(state_machine)
        if cases is None:
            known = ", ".join(repr(m) for m in self.state_machines) or "none"
            raise InvalidMockConfig(
                [
                    Problem(
                        "/StateMachines",
                        "UNKNOWN_STATE_MACHINE",
                        f"state machine '{state_machine}' has no test cases here (state machines: {known})",
                    )
                ]
            )
        case = cases.get(name)
        if case is None:
            known = ", ".join(repr(c) for c in cases) or "none"
            raise InvalidMockConfig(
                [
                    Problem(
                        pointer(pointer(pointer("", "StateMachines"), state_machine), "TestCases"),
                        "UNKNOWN_TEST_CASE",
                        f"state machine '{state_machine}' has no test case '{name}' (test cases: {known})",
                    )
                ]
            )
        return case


def parse_mock_config(raw: JSON, *, source: str = "") -> MockConfig:
    """Validate a parsed mock configuration into a ``MockConfig``.

    Raises:
        InvalidMockConfig: with every problem found, each with its JSON location.
    """
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        raise InvalidMockConfig(
            [Problem("", "NOT_AN_OBJECT", "a mock configuration must be a JSON object")], source
        )
    for key in raw:
        if key not in _TOP_FIELDS:
            problems.append(
                Problem(
                    pointer("", key),
                    "UNKNOWN_FIELD",
                    f"unknown field '{key}' (expected StateMachines, MockedResponses)",
                )
            )
    responses = _responses(raw.get("MockedResponses"), problems)
    machines = _state_machines(raw.get("StateMachines"), responses, problems)
    if problems:
        raise InvalidMockConfig(problems, source, MockConfig(machines, responses, source))
    return MockConfig(machines, responses, source)


def _object(value: JSON, loc: str, what: str, problems: list[Problem]) -> dict[str, JSON] | None:
    if not isinstance(value, dict):
        problems.append(Problem(loc, "NOT_AN_OBJECT", f"{what} must be a JSON object"))
        return None
    return value


def _responses(raw: JSON, problems: list[Problem]) -> dict[str, MockedResponse]:
    loc = "/MockedResponses"
    if raw is None:
        problems.append(Problem(loc, "MISSING_FIELD", "the field 'MockedResponses' is required"))
        return {}
    table = _object(raw, loc, "MockedResponses", problems)
    out: dict[str, MockedResponse] = {}
    for name, entry in (table or {}).items():
        response = _response(name, entry, pointer(loc, name), problems)
        if response is not None:
            out[name] = response
    return out


def _response(name: str, raw: JSON, loc: str, problems: list[Problem]) -> MockedResponse | None:
    entries = _object(raw, loc, f"mocked response '{name}'", problems)
    if entries is None:
        return None
    if not entries:
        problems.append(Problem(loc, "EMPTY_RESPONSE", f"mocked response '{name}' defines no invocation"))
        return None
    keyed: list[tuple[int, int, str, MockedOutcome]] = []
    ok = True
    for key, value in entries.items():
        here = pointer(loc, key)
        m = _RANGE.match(key)
        if m is None:
            problems.append(
                Problem(
                    here,
                    "INVALID_INVOCATION_KEY",
                    f"'{key}' is not an invocation number ('0', '1', …) or an inclusive range ('1-2')",
                )
            )
            ok = False
            continue
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) is not None else start
        if end < start:
            problems.append(
                Problem(here, "INVALID_INVOCATION_KEY", f"the range '{key}' ends before it starts")
            )
            ok = False
            continue
        outcome = _outcome(value, here, problems)
        if outcome is None:
            ok = False
            continue
        keyed.append((start, end, key, outcome))
    keyed.sort(key=lambda k: (k[0], k[1]))
    expected = 0
    for start, end, key, _ in keyed:
        here = pointer(loc, key)
        if start < expected:
            problems.append(
                Problem(
                    here,
                    "OVERLAPPING_INVOCATIONS",
                    f"'{key}' overlaps an earlier key of mocked response '{name}' (invocation {start} is taken)",
                )
            )
            ok = False
        elif start > expected:
            missing = str(expected) if start - 1 == expected else f"{expected}-{start - 1}"
            problems.append(
                Problem(
                    here,
                    "MISSING_INVOCATIONS",
                    f"mocked response '{name}' leaves invocation(s) {missing} without a response before '{key}'",
                )
            )
            ok = False
        expected = max(expected, end + 1)
    if not ok:
        return None
    return MockedResponse(
        name=name,
        starts=tuple(k[0] for k in keyed),
        ends=tuple(k[1] for k in keyed),
        outcomes=tuple(k[3] for k in keyed),
    )


def _outcome(raw: JSON, loc: str, problems: list[Problem]) -> MockedOutcome | None:
    entry = _object(raw, loc, "an invocation's response", problems)
    if entry is None:
        return None
    fields = set(entry)
    if fields not in ({"Return"}, {"Throw"}):
        extra = sorted(fields - {"Return", "Throw"})
        if extra:
            problems.append(
                Problem(
                    pointer(loc, extra[0]),
                    "UNKNOWN_FIELD",
                    f"unknown field '{extra[0]}' (expected Return or Throw)",
                )
            )
        else:
            problems.append(
                Problem(loc, "RETURN_OR_THROW", "a response must contain exactly one field: Return or Throw")
            )
        return None
    if "Return" in entry:
        return MockedOutcome(result=entry["Return"])
    here = pointer(loc, "Throw")
    throw = _object(entry["Throw"], here, "Throw", problems)
    if throw is None:
        return None
    bad = False
    for key in throw:
        if key not in ("Error", "Cause"):
            problems.append(
                Problem(pointer(here, key), "UNKNOWN_FIELD", f"unknown field '{key}' (expected Error, Cause)")
            )
            bad = True
    error = throw.get("Error")
    cause = throw.get("Cause")
    if error is None:
        problems.append(Problem(pointer(here, "Error"), "MISSING_FIELD", "Throw needs an 'Error' (a string)"))
        bad = True
    elif not isinstance(error, str) or not error:
        problems.append(Problem(pointer(here, "Error"), "NOT_A_STRING", "'Error' must be a non-empty string"))
        bad = True
    if cause is not None and not isinstance(cause, str):
        problems.append(Problem(pointer(here, "Cause"), "NOT_A_STRING", "'Cause' must be a string"))
        bad = True
    if bad:
        return None
    return MockedOutcome(
        error=error if isinstance(error, str) else None, cause=cause if isinstance(cause, str) else None
    )


def _state_machines(
    raw: JSON, responses: Mapping[str, MockedResponse], problems: list[Problem]
) -> dict[str, dict[str, MockTestCase]]:
    loc = "/StateMachines"
    if raw is None:
        problems.append(Problem(loc, "MISSING_FIELD", "the field 'StateMachines' is required"))
        return {}
    table = _object(raw, loc, "StateMachines", problems)
    out: dict[str, dict[str, MockTestCase]] = {}
    for machine, entry in (table or {}).items():
        here = pointer(loc, machine)
        body = _object(entry, here, f"state machine '{machine}'", problems)
        if body is None:
            continue
        for key in body:
            if key != "TestCases":
                problems.append(
                    Problem(
                        pointer(here, key), "UNKNOWN_FIELD", f"unknown field '{key}' (expected TestCases)"
                    )
                )
        cases_loc = pointer(here, "TestCases")
        if "TestCases" not in body:
            problems.append(Problem(cases_loc, "MISSING_FIELD", "the field 'TestCases' is required"))
            continue
        cases = _object(body["TestCases"], cases_loc, "TestCases", problems)
        out[machine] = {}
        for case_name, mapping in (cases or {}).items():
            case_loc = pointer(cases_loc, case_name)
            states = _object(mapping, case_loc, f"test case '{case_name}'", problems)
            bound: dict[str, MockedResponse] = {}
            unresolved: set[str] = set()
            for state_name, response_name in (states or {}).items():
                where = pointer(case_loc, state_name)
                if not isinstance(response_name, str):
                    problems.append(
                        Problem(
                            where, "NOT_A_STRING", "a test case maps a state name to a mocked response's name"
                        )
                    )
                    continue
                response = responses.get(response_name)
                if response is None:
                    unresolved.add(state_name)
                    problems.append(
                        Problem(
                            where,
                            "UNKNOWN_RESPONSE",
                            f"state '{state_name}' uses mocked response '{response_name}', which MockedResponses does "
                            "not define (or defines with problems)",
                        )
                    )
                    continue
                bound[state_name] = response
            out[machine][case_name] = MockTestCase(machine, case_name, bound, frozenset(unresolved))
    return out
