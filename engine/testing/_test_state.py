"""TestState: run one state in isolation and show what each processing step made of its data.

The semantics and the response are AWS's TestState API:

* ``definition`` is one state, or a whole state machine with ``state_name``
  naming the state to test (any state, nested ones included).
* The state runs once. It never retries and never moves on: the response
  says where it would go. ``status`` is SUCCEEDED (``output``,
  ``nextState``), FAILED (``error``, ``cause``), RETRIABLE (the error matches
  a Retrier with attempts left: ``error``, ``cause``) or CAUGHT_ERROR (a
  Catcher took it: ``output``, ``nextState``, ``error``, ``cause``).
* ``inspectionData`` (DEBUG and TRACE) holds the data after each step:
  ``input``, ``afterInputPath``, ``afterParameters`` (JSONPath) or
  ``afterArguments`` (JSONata), ``result``, ``afterResultSelector``,
  ``afterResultPath``, ``variables``, and ``errorDetails`` (``retryIndex`` and
  ``retryBackoffIntervalSeconds``, or ``catchIndex``) when Retry or Catch
  handled the error. TRACE adds the HTTP ``request`` and ``response`` of an
  executor that reports them; no executor of this project makes HTTP Task
  calls, so TRACE shows what DEBUG shows.
* ``mock`` replaces the Task's call (or a Map's iterations, a Parallel's
  branches) with ``{"result": ...}`` or ``{"errorOutput": {"error", "cause"}}``;
  it is required for Map, Parallel, Activity, ``.sync`` and
  ``.waitForTaskToken`` states, as on AWS. A ``result`` given as a string is
  JSON text, as on the wire; any other value is the result itself.
  ``fieldValidationMode`` (STRICT, PRESENT, NONE) checks the mocked result
  against the service's API model through the ``statewright.models``
  entry-point group (``executors.models`` reads botocore's models).

Time runs on a jumping virtual clock that starts at the engine clock's now,
so a Wait or a back-off never holds the call. ``TestStateResult.to_aws()``
gives the API's wire shape (JSON values as JSON text), which
``statewright test-state`` prints and the API server returns.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Final, Protocol

import anyio

from engine.definition.model import (
    MapState,
    ParallelState,
    PassState,
    State,
    StateMachine,
    TaskState,
)
from engine.definition.parse import parse_definition
from engine.errors import InvalidDefinition, Problem, StatesError, StatewrightError
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from engine.history import History
from engine.jsonvalue import JSON, JSONDecodeError, dumps_str, loads
from engine.registry import ExecutorRegistry, UnknownResource, parse_resource
from engine.retry import error_matches, retry_delay
from engine.runtime.clock import Clock, ImmediateClock
from engine.runtime.execution import Failure as _Failure
from engine.runtime.execution import Interpreter
from engine.runtime.record import Position, RuntimeConfig
from engine.runtime.startup import Origin
from engine.scope import Scope
from engine.templates import pointer
from engine.testing._mock_config import walk_states
from engine.testing._mocks import _AnyResource, _Unreachable


class TestStateEngine(Protocol):
    """What TestState needs of the engine it runs on (``Engine`` is one).

    A protocol rather than the ``Engine`` class: the engine calls TestState, so this stays below it.
    """

    @property
    def clock(self) -> Clock: ...
    @property
    def registry(self) -> ExecutorRegistry: ...
    @property
    def rng(self) -> random.Random: ...
    @property
    def role_arn(self) -> str: ...
    @property
    def _config(self) -> RuntimeConfig: ...
    @property
    def _origin(self) -> Origin: ...
    @property
    def _ids(self) -> Callable[[], str]: ...


INSPECTION_LEVELS: Final = ("INFO", "DEBUG", "TRACE")
FIELD_VALIDATION_MODES: Final = ("STRICT", "PRESENT", "NONE")
SINGLE_STATE_NAME: Final = "TestState"
MAX_SECONDS: Final = 300.0  # AWS: "The TestState API can run for up to five minutes."
MODELS_ENTRY_POINT: Final = "statewright.models"
_MOCK_REQUIRED: Final = frozenset({IntegrationPattern.SYNC, IntegrationPattern.WAIT_FOR_TASK_TOKEN})


class TestStateValidation(StatewrightError):
    """A TestState request AWS refuses (its ``ValidationException``)."""

    __test__ = False  # not a pytest test class


class ResultModels(Protocol):
    """Checks a mocked result against the API model of the service a Resource calls."""

    def check_result(self, resource: str, result: JSON, mode: str) -> list[str]:
        """Every problem found (empty when none, or when the model does not know the resource)."""
        ...


@dataclass(frozen=True)
class TestStateResult:
    """TestState's answer.

    Attributes:
        status: SUCCEEDED, FAILED, RETRIABLE or CAUGHT_ERROR.
        output: the state's output (SUCCEEDED, CAUGHT_ERROR).
        error: the error name (FAILED, RETRIABLE, CAUGHT_ERROR).
        cause: the error's cause.
        next_state: where the execution would go next (None at an end or on failure).
        inspection_data: DEBUG/TRACE details, JSON values (see the module docstring).
    """

    __test__ = False  # not a pytest test class

    status: str
    output: JSON = None
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection_data: dict[str, JSON] | None = None
    has_output: bool = False

    def to_aws(self) -> dict[str, JSON]:
        """The TestState response as on the wire: ``output`` and inspection values as JSON text."""
        out: dict[str, JSON] = {"status": self.status}
        if self.has_output:
            out["output"] = dumps_str(self.output)
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        if self.next_state is not None:
            out["nextState"] = self.next_state
        if self.inspection_data is not None:
            data: dict[str, JSON] = {}
            for key, value in self.inspection_data.items():
                data[key] = value if key in ("errorDetails", "request", "response") else dumps_str(value)
            out["inspectionData"] = data
        return out


@dataclass(frozen=True)
class StateConfiguration:
    """TestState's ``stateConfiguration``: the situation the tested state is in.

    Attributes:
        retrier_retry_count: attempts the matching Retrier has used already (``retrierRetryCount``).
        error_caused_by_state: the state inside a Map or Parallel a mocked error comes from
            (``errorCausedByState``); it must exist there.
        map_iteration_failure_count: how many of a Map's iterations failed (``mapIterationFailureCount``),
            checked against its tolerated failure threshold.
    """

    retrier_retry_count: int = 0
    error_caused_by_state: str | None = None
    map_iteration_failure_count: int | None = None

    @classmethod
    def from_aws(cls, raw: Mapping[str, JSON] | None) -> StateConfiguration:
        if raw is None:
            return cls()
        known = {"retrierRetryCount", "errorCausedByState", "mapIterationFailureCount", "mapItemReaderData"}
        unknown = set(raw) - known
        if unknown:
            raise TestStateValidation(f"unknown stateConfiguration field(s): {', '.join(sorted(unknown))}")
        if "mapItemReaderData" in raw:
            raise TestStateValidation(
                "mapItemReaderData needs a Distributed Map ItemReader, which is not supported"
            )
        counts: dict[str, int | None] = {}
        for key in ("retrierRetryCount", "mapIterationFailureCount"):
            v = raw.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise TestStateValidation(f"stateConfiguration.{key} must be an integer of at least 0")
            counts[key] = v if isinstance(v, int) else None
        caused = raw.get("errorCausedByState")
        if caused is not None and not isinstance(caused, str):
            raise TestStateValidation("stateConfiguration.errorCausedByState must be a state name")
        return cls(
            retrier_retry_count=counts["retrierRetryCount"] or 0,
            error_caused_by_state=caused,
            map_iteration_failure_count=counts["mapIterationFailureCount"],
        )


def _threshold_exceeded(
    state: MapState, failures: int, n: int, tolerated_count: int | None, tolerated_pct: float | None
) -> bool:
    """The engine's rule for a Map's failed iterations (``engine.states.map_``'s, in either mode)."""
    if tolerated_count is None and tolerated_pct is None:
        return failures > 0
    ok_count = tolerated_count is not None and failures <= tolerated_count
    ok_pct = tolerated_pct is not None and n > 0 and failures * 100.0 / n <= tolerated_pct
    return not (ok_count or ok_pct)


@dataclass
class _Mock:
    result: JSON = None
    error: StatesError | None = None


@dataclass
class _Inspection:
    data: dict[str, JSON] = field(default_factory=dict)
    retry: tuple[int, float] | None = None
    invoked: bool = False

    def once(self, key: str, value: JSON) -> None:
        self.data.setdefault(key, value)


class _TestInterpreter(Interpreter):
    """An interpreter for one state: records each step's value, never retries, may answer from a mock."""

    __slots__ = ("_configuration", "_context_override", "_inspection", "_mock")

    def __init__(
        self,
        *args: Any,
        inspection: _Inspection,
        mock: _Mock | None,
        context: Mapping[str, JSON] | None,
        configuration: StateConfiguration,
    ) -> None:
        super().__init__(*args)
        self._inspection = inspection
        self._mock = mock
        self._context_override = context
        self._configuration = configuration

    def context(
        self, pos: Position, map_item: JSON = None, entered: Any = None, *, retryable: bool = False
    ) -> dict[str, JSON]:
        ctx = super().context(pos, map_item, entered, retryable=retryable)
        if self._context_override:
            _merge(ctx, self._context_override)
        return ctx

    def input_path(self, state: State, value: JSON, scope: Scope) -> JSON:
        out = super().input_path(state, value, scope)
        self._inspection.once("afterInputPath", out)
        return out

    def assign_jsonpath(self, state: State, assign: Any, value: JSON, scope: Scope) -> dict[str, JSON] | None:
        # Called with the result once ResultSelector (Task, Map, Parallel) or Parameters (Pass) is applied.
        if self._inspection.invoked:
            self._inspection.once("afterResultSelector", value)
        elif isinstance(state, PassState) and state.parameters is not None:
            self._inspection.once("afterParameters", value)
        return super().assign_jsonpath(state, assign, value, scope)

    def result_path(self, state: Any, raw_input: JSON, result: JSON) -> JSON:
        out = super().result_path(state, raw_input, result)
        self._inspection.once("afterResultPath", out)
        return out

    async def invoke(
        self, state: TaskState, pos: Position, executor: Any, call: ExecutorCall, *args: Any
    ) -> JSON:
        key = "afterArguments" if state.query_language == "JSONata" else "afterParameters"
        self._inspection.once(key, call.parameters)
        result = await super().invoke(state, pos, executor, call, *args)
        self._inspection.once("result", result)
        self._inspection.invoked = True
        return result

    async def map_iterations(
        self,
        state: MapState,
        pos: Position,
        variables: Any,
        items: list[JSON],
        effective: JSON,
        max_conc: int,
        tolerated_count: int | None,
        tolerated_pct: float | None,
    ) -> list[JSON]:
        mock = self._mock
        assert mock is not None  # validated: a Map is tested with a mock only
        self._inspection.once("afterItemsPath", items)
        if state.item_selector is not None:
            self._inspection.once("afterItemSelector", [self.select_item(state, pos, variables, effective, i, item)
                                                        for i, item in enumerate(items)])  # fmt: skip
        if state.distributed:
            if tolerated_count is not None:
                self._inspection.once("toleratedFailureCount", tolerated_count)
            if tolerated_pct is not None:
                self._inspection.once("toleratedFailurePercentage", tolerated_pct)
        if max_conc:
            self._inspection.once("maxConcurrency", max_conc)
        failures = self._configuration.map_iteration_failure_count
        if failures is not None and failures > len(items):
            raise TestStateValidation(
                f"mapIterationFailureCount {failures} is more than the Map's {len(items)} item(s)"
            )
        if failures and _threshold_exceeded(state, failures, len(items), tolerated_count, tolerated_pct):
            raise _Failure(
                StatesError(
                    "States.ExceedToleratedFailureThreshold",
                    "The specified tolerated failure threshold was exceeded",
                )
            )
        if mock.error is not None:
            raise _Failure(mock.error)
        if not isinstance(mock.result, list):
            raise TestStateValidation("the mocked result of a Map state must be a JSON array")
        self._inspection.once("result", mock.result)
        self._inspection.invoked = True
        return mock.result

    async def branches(self, state: ParallelState, *args: Any) -> list[JSON]:
        mock = self._mock
        assert mock is not None  # validated: a Parallel is tested with a mock only
        if mock.error is not None:
            raise _Failure(mock.error)
        if not isinstance(mock.result, list) or len(mock.result) != len(state.branches):
            raise TestStateValidation(
                f"the mocked result of a Parallel state must be a JSON array of {len(state.branches)} branch result(s)"
            )
        self._inspection.once("result", mock.result)
        self._inspection.invoked = True
        return mock.result

    def retry(self, retriers: tuple[Any, ...], pos: Position, err: StatesError) -> float | None:
        # TestState runs the state once: a matching Retrier with attempts left makes it RETRIABLE;
        # stateConfiguration.retrierRetryCount says how many that Retrier has used already.
        used = self._configuration.retrier_retry_count
        for i, r in enumerate(retriers):
            if error_matches(r.error_equals, err.error):
                if used < r.max_attempts:
                    self._inspection.retry = (i, retry_delay(r, used, self.rng))
                return None
        return None


class _MockedCall:
    """The executor of the tested Task when a mock is given: its answer is final (``.sync``, callbacks too)."""

    answers_callbacks: Final = True

    def __init__(self, mock: _Mock) -> None:
        self._mock = mock

    async def run(self, call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        if self._mock.error is not None:
            raise self._mock.error
        return self._mock.result


def _merge(into: dict[str, JSON], extra: Mapping[str, JSON]) -> None:
    for key, value in extra.items():
        current = into.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            _merge(current, value)
        else:
            into[key] = value


def _json_arg(value: JSON, what: str) -> JSON:
    """Wire-shaped arguments are JSON text; Python callers may pass values."""
    if isinstance(value, str | bytes):
        try:
            return loads(value)
        except JSONDecodeError as exc:
            raise TestStateValidation(f"{what} is not valid JSON: {exc}") from None
    return value


def _targets(raw: Mapping[str, JSON]) -> set[str]:
    out: set[str] = set()
    for key in ("Next", "Default"):
        if isinstance(raw.get(key), str):
            out.add(raw[key])
    for group in ("Choices", "Catch"):
        items = raw.get(group)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("Next"), str):
                    out.add(item["Next"])
    return out


def _machine_document(definition: JSON, state_name: str | None) -> tuple[dict[str, JSON], str]:
    if not isinstance(definition, dict):
        raise TestStateValidation("the definition must be a JSON object: one state, or a state machine")
    if "Type" in definition and "States" not in definition:
        if state_name is not None:
            raise TestStateValidation("stateName may only be given with a whole state machine definition")
        states: dict[str, JSON] = {SINGLE_STATE_NAME: definition}
        for target in _targets(definition):
            # Placeholders so the state's transitions validate; they never run.
            states.setdefault(target, {"Type": "Succeed"})
        doc: dict[str, JSON] = {"StartAt": SINGLE_STATE_NAME, "States": states}
        if isinstance(definition.get("QueryLanguage"), str):
            doc["QueryLanguage"] = definition["QueryLanguage"]
        return doc, SINGLE_STATE_NAME
    start = definition.get("StartAt")
    name = state_name if state_name is not None else start
    if not isinstance(name, str):
        raise TestStateValidation("the definition has no StartAt and no stateName was given")
    return definition, name


def _find(machine: StateMachine, name: str) -> State:
    for _, found, state in walk_states(machine):
        if found == name:
            return state
    raise TestStateValidation(f"the state machine has no state named '{name}'")


def _parse_mock(mock: Mapping[str, JSON] | None) -> tuple[_Mock | None, str]:
    if mock is None:
        return None, "NONE"
    unknown = set(mock) - {"result", "errorOutput", "fieldValidationMode"}
    if unknown:
        raise TestStateValidation(f"unknown mock field(s): {', '.join(sorted(unknown))}")
    mode = mock.get("fieldValidationMode", "STRICT")
    if mode not in FIELD_VALIDATION_MODES:
        raise TestStateValidation(f"fieldValidationMode must be one of {', '.join(FIELD_VALIDATION_MODES)}")
    has_result = "result" in mock
    error_output = mock.get("errorOutput")
    if has_result == (error_output is not None):
        raise TestStateValidation("a mock holds exactly one of 'result' and 'errorOutput'")
    if has_result:
        return _Mock(result=_json_arg(mock["result"], "mock.result")), str(mode)
    if not isinstance(error_output, dict):
        raise TestStateValidation("mock.errorOutput must be an object with 'error' and 'cause'")
    error, cause = error_output.get("error"), error_output.get("cause")
    if not isinstance(error, str) or (cause is not None and not isinstance(cause, str)):
        raise TestStateValidation("mock.errorOutput needs an 'error' string (and an optional 'cause' string)")
    return _Mock(error=StatesError(error, cause)), str(mode)


@functools.cache
def _result_models() -> tuple[ResultModels, ...]:
    """The installed model plugins, loaded once (scanning entry points costs milliseconds)."""
    models: list[ResultModels] = []
    for ep in entry_points(group=MODELS_ENTRY_POINT):
        factory: Any = ep.load()
        models.append(factory())
    return tuple(models)


async def _check_mocked_result(state: State, mock: _Mock, mode: str) -> None:
    if mode == "NONE" or mock.error is not None or not isinstance(state, TaskState):
        return
    models = _result_models()
    if not models:
        raise TestStateValidation(
            f"fieldValidationMode {mode} needs service API models (install a 'statewright.models' plugin, "
            "or use fieldValidationMode NONE)"
        )
    problems: list[str] = []
    for m in models:
        # Models are read from disk the first time: off the event loop.
        problems.extend(await anyio.to_thread.run_sync(m.check_result, state.resource, mock.result, mode))
    if problems:
        raise TestStateValidation("the mocked result does not match the API's model: " + "; ".join(problems))


def _require_executor(engine: TestStateEngine, machine: StateMachine, name: str) -> None:
    """Without a mock the tested Task calls its real executor: one must serve its Resource."""
    for loc, found, state in walk_states(machine):
        if found != name or not isinstance(state, TaskState):
            continue
        try:
            engine.registry.lookup(state.resource)
        except UnknownResource as exc:
            raise InvalidDefinition(
                [
                    Problem(
                        pointer(loc, "Resource"), "UNKNOWN_RESOURCE", f"state '{name}' has no mock and {exc}"
                    )
                ]
            ) from None


async def run_test_state(
    engine: TestStateEngine,
    definition: str | bytes | Mapping[str, Any],
    input: JSON = None,
    *,
    state_name: str | None = None,
    inspection_level: str = "INFO",
    variables: Mapping[str, JSON] | str | None = None,
    mock: Mapping[str, JSON] | None = None,
    context: Mapping[str, JSON] | str | None = None,
    reveal_secrets: bool = False,
    state_configuration: Mapping[str, JSON] | None = None,
) -> TestStateResult:
    """Run one state of ``definition`` with ``input``; see the module docstring.

    ``reveal_secrets`` matters for HTTP Tasks' connection credentials, which
    TRACE would otherwise redact; no executor here reports any.

    Raises:
        TestStateValidation: the request is one AWS refuses (ValidationException).
        InvalidDefinition: the definition is invalid (InvalidDefinition).
    """
    if inspection_level not in INSPECTION_LEVELS:
        raise TestStateValidation(f"inspectionLevel must be one of {', '.join(INSPECTION_LEVELS)}")
    raw_definition = _json_arg(
        definition if isinstance(definition, str | bytes) else dict(definition), "definition"
    )
    document, name = _machine_document(raw_definition, state_name)
    input_value = _json_arg(input, "input") if isinstance(input, str | bytes) else input
    if input_value is None:
        input_value = {}
    variables_value = _json_arg(variables, "variables") if isinstance(variables, str | bytes) else variables
    context_value = _json_arg(context, "context") if isinstance(context, str | bytes) else context
    if variables_value is not None and not isinstance(variables_value, Mapping):
        raise TestStateValidation("variables must be a JSON object")
    if context_value is not None and not isinstance(context_value, Mapping):
        raise TestStateValidation("context must be a JSON object")
    parsed_mock, mode = _parse_mock(mock)
    configuration = StateConfiguration.from_aws(state_configuration)
    # Only the tested state runs: the others need no executor, a mocked one neither.
    machine = parse_definition(document, registry=_AnyResource(engine.registry, _Unreachable()))
    state = _find(machine, name)
    if parsed_mock is None:
        _require_no_mock_needed(state)
        _require_executor(engine, machine, name)
    elif not isinstance(state, TaskState | MapState | ParallelState):
        raise TestStateValidation(
            f"a mock applies to Task, Map and Parallel states, not to a {state.type} state"
        )
    else:
        await _check_mocked_result(state, parsed_mock, mode)
    _check_configuration(configuration, state, parsed_mock)
    if isinstance(state, PassState) and state.simple:
        # The interpreter's fast path skips the steps inspection shows; run the general one.
        state = dataclasses.replace(state, simple=False)
    return await _run(
        engine,
        machine,
        state,
        input_value,
        dict(variables_value or {}),
        parsed_mock,
        context_value,
        inspection_level,
        configuration,
    )


def _check_configuration(configuration: StateConfiguration, state: State, mock: _Mock | None) -> None:
    caused = configuration.error_caused_by_state
    if caused is not None:
        if not isinstance(state, MapState | ParallelState) or mock is None or mock.error is None:
            raise TestStateValidation(
                "errorCausedByState applies to a Map or Parallel state tested with a mocked error"
            )
        inner = state.branches if isinstance(state, ParallelState) else (state.processor,)
        if not any(name == caused for m in inner for _, name, _ in walk_states(m)):
            raise TestStateValidation(f"errorCausedByState '{caused}' is not a state of '{state.name}'")
    if configuration.map_iteration_failure_count is not None and not isinstance(state, MapState):
        raise TestStateValidation("mapIterationFailureCount applies to a Map state")


def _require_no_mock_needed(state: State) -> None:
    if isinstance(state, MapState | ParallelState):
        raise TestStateValidation(f"testing a {state.type} state needs a mock of its result")
    if isinstance(state, TaskState):
        parsed = parse_resource(state.resource)
        if parsed.pattern in _MOCK_REQUIRED:
            raise TestStateValidation(f"testing a {parsed.pattern.suffix} Task needs a mock of its result")
        if parsed.service == "states" and ":activity:" in state.resource:
            raise TestStateValidation("testing an Activity Task needs a mock of its result")


async def _run(
    engine: TestStateEngine,
    machine: StateMachine,
    state: State,
    input_value: JSON,
    variables: dict[str, JSON],
    mock: _Mock | None,
    context: Mapping[str, JSON] | None,
    inspection_level: str,
    configuration: StateConfiguration,
) -> TestStateResult:
    clock = ImmediateClock(engine.clock.now())
    config = dataclasses.replace(engine._config, clock=clock, on_event=None, on_transition=None, park=False)
    origin = engine._origin
    record = origin.new_record(
        # TestState's execution is named TestState; its ARN ends with a unique id.
        execution_arn=origin.execution_arn("TestState", engine._ids()),
        name="TestState",
        state_machine_name="TestState",
        input=input_value,
        start_time=clock.now(),
        start_at=state.name,
        role_arn=engine.role_arn,
        variables=variables,
        history=History(enabled=False),
    )
    inspection = _Inspection()
    inspection.data["input"] = input_value
    interp = _TestInterpreter(
        machine,
        record,
        config,
        engine.rng,
        inspection=inspection,
        mock=mock,
        context=context,
        configuration=configuration,
    )
    if mock is not None and isinstance(state, TaskState):
        mocked = _MockedCall(mock)
        interp.task_override = lambda name: mocked if name == state.name else None
    pos = record.position
    scope_vars: MutableMapping[str, JSON] = ChainMap({}, variables)
    status, output, has_output, error, cause, nxt = "SUCCEEDED", None, False, None, None, None
    try:
        with anyio.fail_after(MAX_SECONDS):
            output, nxt = await interp.step(state, pos, scope_vars)
        has_output = True
    except TimeoutError:
        status, error, cause = (
            "FAILED",
            "States.Timeout",
            "The TestState call ran for more than five minutes.",
        )
    except _Failure as f:
        status, error, cause = "FAILED", f.error.error, f.error.cause
    except StatesError as err:
        error, cause = err.error, err.cause
        caught = None if inspection.retry is not None else interp.catch(state, pos, scope_vars, err)
        if inspection.retry is not None:
            status = "RETRIABLE"
            index, delay = inspection.retry
            inspection.data["errorDetails"] = {"retryIndex": index, "retryBackoffIntervalSeconds": int(delay)}
        elif caught is not None:
            status, (output, nxt), has_output = "CAUGHT_ERROR", caught, True
            inspection.data["errorDetails"] = {"catchIndex": _catch_index(state, err)}
        else:
            status = "FAILED"
    data: dict[str, JSON] | None = None
    if inspection_level != "INFO":
        data = dict(inspection.data)
        merged = dict(scope_vars)
        if merged:
            data["variables"] = merged
    return TestStateResult(
        status=status,
        output=output if has_output else None,
        error=error,
        cause=cause,
        next_state=nxt if status in ("SUCCEEDED", "CAUGHT_ERROR") else None,
        inspection_data=data,
        has_output=has_output,
    )


def _catch_index(state: State, err: StatesError) -> int:
    for i, c in enumerate(getattr(state, "catch", ())):
        if error_matches(c.error_equals, err.error):
            return i
    return -1
