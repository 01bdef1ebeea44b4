"""Running an execution against one test case of a mock configuration.

A ``MockSession`` belongs to one execution. For every Task state the test
case mocks it hands the interpreter a ``MockedTask`` executor in place of the
registry's; unmocked states run their real executors ("hybrid" test cases).
The mocked executor counts invocations per state name, for the whole
execution: every call is the next invocation, so each retry attempt, Map
iteration and Parallel branch that runs the state takes the next mocked
response, as in Step Functions Local. The result it returns goes through the
same ``_invoke`` as a real one (TaskScheduled/TaskStarted/TaskSucceeded or
TaskFailed events, the size guard, then ResultSelector, ResultPath and
OutputPath).

``compile_with_mocks`` validates a definition for a test case: a mocked Task
needs no executor, whatever its Resource (any service, any integration
pattern); an unmocked Task whose Resource no executor serves is reported with
its state's JSON location, and so are test-case state names the definition
does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from engine.definition.model import StateMachine, TaskState
from engine.definition.parse import parse_definition
from engine.errors import InvalidDefinition, Problem, StatesError
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from engine.jsonvalue import JSON
from engine.registry import ExecutorRegistry, ParsedResource, Registration, UnknownResource, parse_resource
from engine.templates import pointer
from engine.testing._mock_config import MockedResponse, MockTestCase, walk_states

_ALL_PATTERNS: Final = frozenset(IntegrationPattern)
RUNTIME: Final = "States.Runtime"


class MockedTask:
    """Answers one Task state from its mocked response, invocation by invocation.

    For ``.sync`` and ``.waitForTaskToken`` Tasks the mocked response is the
    final answer, as in Step Functions Local (which makes up the task token
    itself): nothing waits for a job or a ``SendTaskSuccess`` after it.
    """

    __slots__ = ("_session", "response")

    answers_callbacks: Final = True
    """The result is the callback's answer: a ``.waitForTaskToken`` wrapper must return it, not wait."""

    def __init__(self, session: MockSession, response: MockedResponse) -> None:
        self._session = session
        self.response = response

    async def run(self, call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        invocation = self._session.next_invocation(ctx.state_name)
        outcome = self.response.outcome(invocation)
        if outcome is None:
            # Step Functions Local fails the execution when an invocation has no response;
            # States.Runtime is not matched by States.ALL, so no Retry or Catch hides it.
            raise StatesError(
                RUNTIME,
                f"test case '{self._session.test_case.name}' has no mocked response for invocation {invocation} "
                f"of state '{ctx.state_name}' (mocked response '{self.response.name}' covers invocations "
                f"0-{self.response.invocations - 1})",
            )
        if outcome.throws:
            raise StatesError(outcome.error or "", outcome.cause)
        return outcome.result


class MockSession:
    """One execution's view of a test case: which states are mocked, and how often each ran.

    Attributes:
        test_case: the chosen test case.
        invocations: how many times each mocked state was invoked so far.
    """

    __slots__ = ("_executors", "invocations", "test_case")

    def __init__(self, test_case: MockTestCase) -> None:
        self.test_case = test_case
        self.invocations: dict[str, int] = {}
        self._executors = {name: MockedTask(self, response) for name, response in test_case.states.items()}

    def executor_for(self, state_name: str) -> MockedTask | None:
        """The mocked executor of ``state_name``, or None when the test case does not mock it."""
        return self._executors.get(state_name)

    def next_invocation(self, state_name: str) -> int:
        n = self.invocations.get(state_name, 0)
        self.invocations[state_name] = n + 1
        return n


class _AnyResource(ExecutorRegistry):
    """A registry that lets the parser accept any Resource; unmocked ones are checked afterwards."""

    def __init__(self, real: ExecutorRegistry, placeholder: Any) -> None:
        super().__init__()
        self._real = real
        self._placeholder = placeholder

    def lookup(self, resource: str) -> tuple[ParsedResource, Registration]:
        try:
            return self._real.lookup(resource)
        except UnknownResource:
            parsed = parse_resource(resource)
            return parsed, Registration(parsed.base, self._placeholder, _ALL_PATTERNS)


def compile_with_mocks(
    definition: str | bytes | Mapping[str, Any] | StateMachine,
    registry: ExecutorRegistry,
    test_case: MockTestCase,
) -> StateMachine:
    """Parse and validate ``definition`` for ``test_case``.

    Raises:
        InvalidDefinition: every problem: the definition's own, unmocked Tasks
            with no executor, and test-case states the definition lacks.
    """
    machine = (
        definition
        if isinstance(definition, StateMachine)
        else parse_definition(definition, registry=_AnyResource(registry, _Unreachable()))
    )
    problems = unserved_tasks(machine, registry, [*test_case.states, *test_case.unresolved])
    problems.extend(test_case.check(machine))
    if problems:
        raise InvalidDefinition(problems)
    return machine


def unserved_tasks(machine: StateMachine, registry: ExecutorRegistry, mocked: Iterable[str]) -> list[Problem]:
    """Every Task that is not mocked and that no executor serves, with its Resource's location."""
    mocked_names = set(mocked)
    problems: list[Problem] = []
    for loc, name, state in walk_states(machine):
        if not isinstance(state, TaskState) or name in mocked_names:
            continue
        try:
            registry.lookup(state.resource)
        except UnknownResource as exc:
            problems.append(
                Problem(
                    pointer(loc, "Resource"),
                    "UNKNOWN_RESOURCE",
                    f"state '{name}' is not mocked by the test case and {exc}",
                )
            )
    return problems


class _Unreachable:
    """Stands in for an executor while parsing; never runs (mocked states run ``MockedTask``)."""

    async def run(self, call: ExecutorCall, ctx: ExecutorContext) -> JSON:  # pragma: no cover - by design
        raise StatesError(RUNTIME, f"no executor is registered for resource {call.resource!r}")
