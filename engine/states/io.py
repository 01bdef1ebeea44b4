"""A state's I/O, written once per query language: ``JSONPATH`` and ``JSONATA``.

Every state reads its input, computes values from it and makes its output;
only the language of those steps differs. ``StateIO.begin`` starts one step
of one state and returns a ``StepIO`` that holds what the language evaluates
against (a ``Scope`` for JSONPath, ``$states`` bindings for JSONata) and
offers the same operations in both:

- ``effective``: the input the state works on (InputPath in JSONPath; the raw
  input in JSONata);
- ``value(cv)`` / ``arguments(cv)``: Parameters or Arguments, Credentials,
  BatchInput; ``pass_result``: a Pass state's result;
- ``matches(rule)``: a Choice rule's test (a JSONata ``Condition`` must be a boolean);
- the numbers and strings of fields that take a path or an expression
  (``task_seconds``, ``wait``, ``fail_fields``, ``map_items``,
  ``max_concurrency``, ``tolerated``, ``batch_limits``) with AWS's messages;
- ``finish_value(value)`` (Choice, Wait, Succeed), ``finish_rule`` (a matched
  Choice rule) and ``finish_result(result)`` (Pass, Task, Map, Parallel):
  Assign, then the output: ResultSelector, ResultPath and OutputPath in
  JSONPath, Output in JSONata.

``StateIO.caught`` is a Catcher's output and assignments, ``StateIO.item_input``
a Map item through ItemSelector. ``IO`` maps a query language to its
implementation: the one place the language is looked at.

The JSONPath primitives (``input_path``, ``result_path``, ``assign_jsonpath``…)
are the runner's methods, which a TestState run observes; the functions they
call (``select``, ``write_result``) are here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import ChainMap
from collections.abc import Mapping
from typing import Final

from engine import jsonata
from engine.definition.choice import parse_timestamp
from engine.definition.expressions import Evaluator, JsonataField, Selector
from engine.definition.model import (
    JSONATA,
    JSONPATH,
    Catcher,
    ChoiceRule,
    ChoiceState,
    CompiledValue,
    FailState,
    ItemBatcher,
    MapState,
    PassState,
    State,
    WaitState,
)
from engine.errors import RUNTIME, QueryEvaluationError, ResultPathMatchFailure, StatesError, StatesRuntime
from engine.jsonvalue import JSON, dumps_str
from engine.paths import Path, PathNotFound, PathSetError, set_path
from engine.runtime.record import Position
from engine.scope import Scope
from engine.states.runner import ResultState, Runner, Variables

MAX_WAIT_SECONDS: Final = 99_999_999
"""The largest Seconds a Wait state takes (AWS's definition rule, applied to SecondsPath too)."""


class StepIO(ABC):
    """One step of one state: its effective input and the operations on it (see the module docstring)."""

    __slots__ = ("effective", "pos", "raw", "run", "state", "variables")

    def __init__(
        self, run: Runner, state: State, pos: Position, variables: Variables, effective: JSON
    ) -> None:
        self.run = run
        self.state = state
        self.pos = pos
        self.variables = variables
        self.raw = pos.input
        self.effective = effective

    @abstractmethod
    def value(self, cv: CompiledValue) -> JSON:
        """A compiled value (Parameters, Arguments, Credentials, BatchInput) evaluated now."""
        ...

    def arguments(self, cv: CompiledValue | None) -> JSON:
        """Parameters or Arguments; without them, the effective input."""
        return self.effective if cv is None else self.value(cv)

    @abstractmethod
    def matches(self, rule: ChoiceRule) -> bool:
        """Whether a Choice rule matches."""
        ...

    @abstractmethod
    def task_seconds(
        self, path: Selector | None, expr: JsonataField | None, field_name: str, default: float | None
    ) -> float | None:
        """TimeoutSeconds or HeartbeatSeconds: a positive number, from its path or expression if given."""
        ...

    @abstractmethod
    def wait(self, state: WaitState) -> tuple[float | None, str | None]:
        """A Wait state's (Seconds, Timestamp), from their paths or expressions if given."""
        ...

    @abstractmethod
    def fail_fields(self, state: FailState) -> tuple[str | None, str | None]:
        """A Fail state's (Error, Cause), from ErrorPath/CausePath or their expressions if given."""
        ...

    @abstractmethod
    def pass_result(self, state: PassState) -> JSON:
        """A Pass state's result: Parameters, Result or the effective input (JSONPath); its input (JSONata)."""
        ...

    @abstractmethod
    def finish_rule(self, state: ChoiceState, rule: ChoiceRule) -> JSON:
        """A matched Choice rule's output; its assignments (or the state's, in JSONPath) applied."""
        ...

    @abstractmethod
    def map_items(self, state: MapState) -> list[JSON]:
        """A Map's items: ItemsPath or Items, or the effective input; an array."""
        ...

    @abstractmethod
    def max_concurrency(self, state: MapState) -> int: ...

    def tolerated(self, state: MapState) -> tuple[int | None, float | None]:
        """A Map's (ToleratedFailureCount, ToleratedFailurePercentage)."""
        return state.tolerated_failure_count, state.tolerated_failure_percentage

    @abstractmethod
    def batch_limits(self, batcher: ItemBatcher) -> tuple[int | None, int | None, JSON]:
        """An ItemBatcher's (MaxItemsPerBatch, MaxInputBytesPerBatch, BatchInput)."""
        ...

    @abstractmethod
    def finish_value(self, value: JSON, assign: CompiledValue | None, output: CompiledValue | None) -> JSON:
        """Choice, Wait, Succeed: Assign, then the output (OutputPath or Output); assignments applied."""
        ...

    @abstractmethod
    def finish_result(
        self, state: ResultState, result: JSON, selector: CompiledValue | None, *, task_like: bool
    ) -> JSON:
        """Pass, Task, Map, Parallel: the output made from ``result``; assignments applied.

        ``selector`` is the ResultSelector (JSONPath); ``task_like`` marks a
        Task's, Map's or Parallel's result, which JSONata's Output and Assign
        see as ``$states.result``.
        """
        ...


class StateIO(ABC):
    """One query language's implementation of the state I/O."""

    __slots__ = ()

    @abstractmethod
    def begin(
        self, run: Runner, state: State, pos: Position, variables: Variables, *, select_input: bool = True
    ) -> StepIO:
        """Start a step: build what the language evaluates against and the effective input.

        ``select_input=False`` for a Fail state, which has no InputPath: its
        paths read the raw input.
        """
        ...

    @abstractmethod
    def caught(
        self,
        run: Runner,
        state: State,
        pos: Position,
        variables: Variables,
        catcher: Catcher,
        error_output: dict[str, JSON],
    ) -> JSON:
        """A matching Catcher's output, its assignments applied.

        Raises:
            PathSetError: its ResultPath cannot be applied to the input (the error is then not caught).
        """
        ...

    @abstractmethod
    def item_input(
        self,
        run: Runner,
        state: MapState,
        pos: Position,
        variables: Variables,
        effective: JSON,
        index: int,
        item: JSON,
    ) -> JSON:
        """One Map item through ItemSelector (``$$.Map.Item`` / ``$states.context.Map.Item`` set)."""
        ...


# --------------------------------------------------------------------------- JSONPath


class _JsonPathStep(StepIO):
    __slots__ = ("scope",)

    def __init__(
        self, run: Runner, state: State, pos: Position, variables: Variables, select_input: bool
    ) -> None:
        raw = pos.input
        scope = run.scope_for(state, pos, raw, variables)
        effective = run.input_path(state, raw, scope) if select_input else raw
        scope.input = effective
        super().__init__(run, state, pos, variables, effective)
        self.scope = scope

    def value(self, cv: CompiledValue) -> JSON:
        return evaluate(cv, self.scope)

    def matches(self, rule: ChoiceRule) -> bool:
        return rule.test(self.scope)

    def task_seconds(
        self, path: Selector | None, expr: JsonataField | None, field_name: str, default: float | None
    ) -> float | None:
        if path is None:
            return default
        path_field = field_name + "Path"
        v = get_or_runtime(path, self.scope, path_field)
        if not is_number(v) or v <= 0:
            raise StatesRuntime(
                cause=f"The {path_field} field refers to value {dumps_str(v)} which is not a valid positive integer"
            ).scoped()
        return float(v)

    def wait(self, state: WaitState) -> tuple[float | None, str | None]:
        seconds, stamp = state.seconds, state.timestamp
        if state.seconds_path is not None:
            v = get_or_runtime(state.seconds_path, self.scope, "SecondsPath")
            if not is_wait_seconds(v):
                raise StatesRuntime(
                    cause=f"The SecondsPath parameter does not reference a valid integer value: {dumps_str(v)}"
                ).scoped()
            seconds = float(v)
        if state.timestamp_path is not None:
            v = get_or_runtime(state.timestamp_path, self.scope, "TimestampPath")
            if not isinstance(v, str) or parse_timestamp(v) is None:
                raise StatesRuntime(
                    cause=f"The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {dumps_str(v)}"
                ).scoped()
            stamp = v
        return seconds, stamp

    def pass_result(self, state: PassState) -> JSON:
        if state.parameters is not None:
            return evaluate(state.parameters, self.scope)
        return state.result if state.has_result else self.effective

    def finish_rule(self, state: ChoiceState, rule: ChoiceRule) -> JSON:
        return self.finish_value(
            self.effective, rule.assign if rule.assign is not None else state.assign, None
        )

    def fail_fields(self, state: FailState) -> tuple[str | None, str | None]:
        error, cause = state.error, state.cause
        if state.error_path is not None:
            error = to_str(self._fail_path(state.error_path, state.error_path_text or "", "ErrorPath"))
        if state.cause_path is not None:
            cause = to_str(self._fail_path(state.cause_path, state.cause_path_text or "", "CausePath"))
        return error, cause

    def _fail_path(self, ev: Evaluator, text: str, field_name: str) -> JSON:
        scope = self.scope
        try:
            return ev(scope)
        except StatesError as err:
            if err.error == RUNTIME:
                raise StatesRuntime(
                    cause=f"The JSONPath '{text}' specified for the field '{field_name}' could not be found "
                    f"in the input '{dumps_str(scope.input)}'"
                ).scoped() from None
            raise

    def map_items(self, state: MapState) -> list[JSON]:
        items = (
            get_or_runtime(state.items_path, self.scope, "ItemsPath")
            if state.items_path is not None
            else self.effective
        )
        if not isinstance(items, list):
            raise StatesRuntime(
                cause=f"Map state input must be an array but was: {dumps_str(items)}"
            ).scoped()
        return items

    def max_concurrency(self, state: MapState) -> int:
        if state.max_concurrency_path is None:
            return state.max_concurrency
        return int_from_path(state.max_concurrency_path, self.scope, "MaxConcurrencyPath")

    def tolerated(self, state: MapState) -> tuple[int | None, float | None]:
        count, pct = state.tolerated_failure_count, state.tolerated_failure_percentage
        scope = self.scope
        if state.tolerated_failure_count_path is not None:
            count = int_from_path(state.tolerated_failure_count_path, scope, "ToleratedFailureCountPath")
            if count < 0:
                raise StatesRuntime(cause="ToleratedFailureCount cannot be negative.").scoped()
        if state.tolerated_failure_percentage_path is not None:
            v = get_or_runtime(
                state.tolerated_failure_percentage_path, scope, "ToleratedFailurePercentagePath"
            )
            if isinstance(v, str):
                try:
                    v = float(v)
                except ValueError:
                    pass
            if not is_number(v) or not 0 <= v <= 100:
                raise StatesRuntime(
                    cause=f"The ToleratedFailurePercentagePath field refers to value {dumps_str(v)} which is not a valid percentage"
                ).scoped()
            pct = float(v)
        return count, pct

    def batch_limits(self, batcher: ItemBatcher) -> tuple[int | None, int | None, JSON]:
        run, state = self.run, self.state
        scope = run.scope_for(state, self.pos, self.effective, self.variables)
        max_items, max_bytes, batch_input = batcher.max_items, batcher.max_bytes, None
        if batcher.max_items_path is not None:
            max_items = positive_from_path(batcher.max_items_path, scope, "MaxItemsPerBatchPath")
        if batcher.max_bytes_path is not None:
            max_bytes = positive_from_path(batcher.max_bytes_path, scope, "MaxInputBytesPerBatchPath")
        if batcher.batch_input is not None:
            batch_input = evaluate(batcher.batch_input, scope)
        return max_items, max_bytes, batch_input

    def finish_value(self, value: JSON, assign: CompiledValue | None, output: CompiledValue | None) -> JSON:
        run, state, scope = self.run, self.state, self.scope
        updates = run.assign_jsonpath(state, assign, value, scope)
        out = run.output_path(state, value, scope)
        run.apply_assign(updates, self.variables, state.name)
        return out

    def finish_result(
        self, state: ResultState, result: JSON, selector: CompiledValue | None, *, task_like: bool
    ) -> JSON:
        run, scope = self.run, self.scope
        if selector is not None:
            scope.input = result
            result = evaluate(selector, scope)
        updates = run.assign_jsonpath(state, state.assign, result, scope)
        out = run.result_path(state, self.raw, result)
        out = run.output_path(state, out, scope)
        run.apply_assign(updates, self.variables, state.name)
        return out


class _JsonPath(StateIO):
    __slots__ = ()

    def begin(
        self, run: Runner, state: State, pos: Position, variables: Variables, *, select_input: bool = True
    ) -> StepIO:
        return _JsonPathStep(run, state, pos, variables, select_input)

    def caught(
        self,
        run: Runner,
        state: State,
        pos: Position,
        variables: Variables,
        catcher: Catcher,
        error_output: dict[str, JSON],
    ) -> JSON:
        scope = run.scope_for(state, pos, error_output, variables)
        updates = run.assign_jsonpath(state, catcher.assign, error_output, scope)
        out: JSON
        if not catcher.result_path_set:
            out = error_output
        elif catcher.result_path is None:
            out = pos.input
        else:
            out = set_path(pos.input, catcher.result_path, error_output)
        run.apply_assign(updates, variables, state.name)
        return out

    def item_input(
        self,
        run: Runner,
        state: MapState,
        pos: Position,
        variables: Variables,
        effective: JSON,
        index: int,
        item: JSON,
    ) -> JSON:
        if state.item_selector is None:
            return item
        map_ctx: JSON = {"Item": {"Index": index, "Value": item}}
        return evaluate(state.item_selector, Scope(effective, run.context(pos, map_ctx), variables, run.rng))


# --------------------------------------------------------------------------- JSONata


class _JsonataStep(StepIO):
    __slots__ = ("bindings",)

    def __init__(self, run: Runner, state: State, pos: Position, variables: Variables) -> None:
        super().__init__(run, state, pos, variables, pos.input)
        self.bindings = run.bindings(pos, pos.input, variables)

    def value(self, cv: CompiledValue) -> JSON:
        return self.run.jsonata_eval(cv, self.bindings)

    def field(self, expr: JsonataField, field_name: str) -> JSON:
        return self.run.jsonata_expr(expr, field_name, self.bindings)

    def matches(self, rule: ChoiceRule) -> bool:
        condition = rule.jsonata_condition
        if condition is None:
            return rule.test(Scope(self.raw))
        ok = self.field(condition, "Condition")
        if not isinstance(ok, bool):
            raise QueryEvaluationError(
                cause=jsonata.unexpected_type_cause(condition.text, "Condition", "boolean", ok)
            ).scoped()
        return ok

    def task_seconds(
        self, path: Selector | None, expr: JsonataField | None, field_name: str, default: float | None
    ) -> float | None:
        if expr is None:
            return default
        v = self.field(expr, field_name)
        if not is_number(v) or v <= 0:
            raise QueryEvaluationError(
                cause=jsonata.unexpected_type_cause(expr.text, field_name, "integer", v)
            ).scoped()
        return float(v)

    def wait(self, state: WaitState) -> tuple[float | None, str | None]:
        seconds, stamp = state.seconds, state.timestamp
        if state.seconds_jsonata is not None:
            v = self.field(state.seconds_jsonata, "Seconds")
            if not is_wait_seconds(v):
                raise QueryEvaluationError(
                    cause=jsonata.unexpected_type_cause(state.seconds_jsonata.text, "Seconds", "integer", v)
                ).scoped()
            seconds = float(v)
        if state.timestamp_jsonata is not None:
            v = self.field(state.timestamp_jsonata, "Timestamp")
            if not isinstance(v, str) or parse_timestamp(v) is None:
                raise QueryEvaluationError(
                    cause=f"The JSONata expression specified for the field 'Timestamp' returned an invalid timestamp: {dumps_str(v)}"
                ).scoped()
            stamp = v
        return seconds, stamp

    def pass_result(self, state: PassState) -> JSON:
        return self.raw

    def finish_rule(self, state: ChoiceState, rule: ChoiceRule) -> JSON:
        output = rule.output if rule.output is not None else state.output
        return self._finish(rule.assign, output, self.raw, self.bindings)

    def fail_fields(self, state: FailState) -> tuple[str | None, str | None]:
        error, cause = state.error, state.cause
        if state.error_jsonata is not None:
            error = to_str(self.field(state.error_jsonata, "Error"))
        if state.cause_jsonata is not None:
            cause = to_str(self.field(state.cause_jsonata, "Cause"))
        return error, cause

    def map_items(self, state: MapState) -> list[JSON]:
        if state.items is None:
            items = self.raw
            if not isinstance(items, list):
                raise QueryEvaluationError(
                    cause=f"Map state input must be an array but was: {dumps_str(items)}"
                ).scoped()
            return items
        items = self.value(state.items)
        if not isinstance(items, list):
            template = state.items.jsonata
            exprs = template.expressions if template is not None else ()
            expr_text = exprs[0].text if exprs else dumps_str(items)
            raise QueryEvaluationError(
                cause=jsonata.unexpected_type_cause(expr_text, "Items", "array", items)
            ).scoped()
        return items

    def max_concurrency(self, state: MapState) -> int:
        if state.max_concurrency_jsonata is None:
            return state.max_concurrency
        v = self.field(state.max_concurrency_jsonata, "MaxConcurrency")
        if isinstance(v, int | float | str):
            return int(v)
        # What int() raised here before the value was typed; the engine reports it as an internal error.
        raise TypeError(
            f"int() argument must be a string, a bytes-like object or a real number, not '{type(v).__name__}'"
        )

    def batch_limits(self, batcher: ItemBatcher) -> tuple[int | None, int | None, JSON]:
        b = self.run.bindings(self.pos, self.effective, self.variables)
        max_items, max_bytes, batch_input = batcher.max_items, batcher.max_bytes, None
        if batcher.max_items_jsonata is not None:
            max_items = self._positive(batcher.max_items_jsonata, "MaxItemsPerBatch", b)
        if batcher.max_bytes_jsonata is not None:
            max_bytes = self._positive(batcher.max_bytes_jsonata, "MaxInputBytesPerBatch", b)
        if batcher.batch_input is not None:
            batch_input = self.run.jsonata_eval(batcher.batch_input, b)
        return max_items, max_bytes, batch_input

    def _positive(self, expr: JsonataField, field_name: str, b: Mapping[str, JSON]) -> int:
        v = self.run.jsonata_expr(expr, field_name, b)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise QueryEvaluationError(
                cause=jsonata.unexpected_type_cause(expr.text, field_name, "integer", v)
            ).scoped()
        return v

    def finish_value(self, value: JSON, assign: CompiledValue | None, output: CompiledValue | None) -> JSON:
        return self._finish(assign, output, value, self.run.bindings(self.pos, self.raw, self.variables))

    def finish_result(
        self, state: ResultState, result: JSON, selector: CompiledValue | None, *, task_like: bool
    ) -> JSON:
        run, pos = self.run, self.pos
        if task_like:
            b = run.bindings(pos, self.raw, self.variables, result=result)
        else:
            b = run.bindings(pos, self.raw, self.variables)
        return self._finish(state.assign, state.output, result, b)

    def _finish(
        self,
        assign: CompiledValue | None,
        output: CompiledValue | None,
        default: JSON,
        b: ChainMap[str, JSON],
    ) -> JSON:
        run = self.run
        updates = run.jsonata_eval(assign, b) if assign is not None else None
        out = run.jsonata_eval(output, b) if output is not None else default
        run.apply_assign(updates if isinstance(updates, dict) else None, self.variables, self.state.name)
        return out


class _Jsonata(StateIO):
    __slots__ = ()

    def begin(
        self, run: Runner, state: State, pos: Position, variables: Variables, *, select_input: bool = True
    ) -> StepIO:
        return _JsonataStep(run, state, pos, variables)

    def caught(
        self,
        run: Runner,
        state: State,
        pos: Position,
        variables: Variables,
        catcher: Catcher,
        error_output: dict[str, JSON],
    ) -> JSON:
        b = run.bindings(pos, pos.input, variables, errorOutput=error_output)
        updates = run.jsonata_eval(catcher.assign, b) if catcher.assign is not None else None
        out = run.jsonata_eval(catcher.output, b) if catcher.output is not None else error_output
        run.apply_assign(updates if isinstance(updates, dict) else None, variables, state.name)
        return out

    def item_input(
        self,
        run: Runner,
        state: MapState,
        pos: Position,
        variables: Variables,
        effective: JSON,
        index: int,
        item: JSON,
    ) -> JSON:
        if state.item_selector is None:
            return item
        b = run.bindings(pos, effective, variables)
        states = b.maps[0]["states"]
        assert isinstance(states, dict) and isinstance(states["context"], dict)
        states["context"]["Map"] = {"Item": {"Index": index, "Value": item}}
        return run.jsonata_eval(state.item_selector, b)


JSONPATH_IO: Final = _JsonPath()
JSONATA_IO: Final = _Jsonata()
IO: Final[Mapping[str, StateIO]] = {JSONPATH: JSONPATH_IO, JSONATA: JSONATA_IO}
"""A query language's state I/O."""


# --------------------------------------------------------------------------- JSONPath primitives


def evaluate(cv: CompiledValue, scope: Scope) -> JSON:
    """A JSONPath compiled value (template, path or intrinsic) evaluated against ``scope``."""
    ev = cv.evaluate
    if ev is None:  # pragma: no cover - the parser gives every JSONPath value an evaluator
        raise StatesRuntime(cause=f"The field '{cv.field}' has no JSONPath value")
    return ev(scope)


def select(path: Selector | None, is_null: bool, value: JSON, scope: Scope) -> JSON:
    """InputPath/OutputPath: null selects ``{}``, absent selects ``value``, a path its match."""
    if is_null:
        return {}
    if path is None:
        return value
    try:
        return path.get(scope)
    except PathNotFound:
        text = path.text
        raise StatesRuntime(
            cause=f"Invalid path '{text}' : No results for path: {_bracket(text)}"
        ).scoped() from None


def write_result(path: Path | None, discard: bool, raw_input: JSON, result: JSON) -> JSON:
    """ResultPath: null keeps the input, absent replaces it, a path writes the result into a copy."""
    if discard:
        return raw_input
    if path is None:
        return result
    try:
        return set_path(raw_input, path, result)
    except PathSetError as exc:
        raise ResultPathMatchFailure(
            cause=f"Unable to apply ResultPath '{path.text}' to input '{dumps_str(raw_input)}': {exc}"
        ).scoped() from None


def get_or_runtime(path: Selector, scope: Scope, field_name: str) -> JSON:
    """A ``…Path`` field's value; a path that selects nothing is ``States.Runtime``."""
    try:
        return path.get(scope)
    except PathNotFound:
        raise StatesRuntime(
            cause=f"The JSONPath '{path.text}' specified for the field '{field_name}' could not be found in the input "
            f"'{dumps_str(scope.input)}'"
        ).scoped() from None


def int_from_path(path: Selector, scope: Scope, field_name: str) -> int:
    v = get_or_runtime(path, scope, field_name)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        # AWS accepts a string holding an integer here (conformance MAP_STATE_REFERENCE_IN_MAX_CONCURRENCY_PATH).
        return int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        shown = v if isinstance(v, str) else dumps_str(v)
        raise StatesRuntime(
            cause=f'The {field_name} field refers to value "{shown}" which is not a valid integer: {path.text}'
        ).scoped()
    return v


def positive_from_path(path: Selector, scope: Scope, field_name: str) -> int:
    v = int_from_path(path, scope, field_name)
    if v < 1:
        raise StatesRuntime(
            cause=f'The {field_name} field refers to value "{v}" which is not a valid positive integer: {path.text}'
        ).scoped()
    return v


def is_number(v: JSON) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def is_wait_seconds(v: JSON) -> bool:
    """Seconds as a Wait state's definition must give them: an integer from 0 to 99,999,999."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_WAIT_SECONDS


def to_str(v: JSON) -> str:
    return v if isinstance(v, str) else dumps_str(v)


def _bracket(text: str) -> str:
    """``$.a.b[0]`` → ``$['a']['b'][0]``, the form AWS's messages use."""
    if not text.startswith("$"):
        return text
    out = "$"
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == ".":
            j = i + 1
            while j < len(text) and text[j] not in ".[":
                j += 1
            out += f"['{text[i + 1 : j]}']"
            i = j
        elif ch == "[":
            j = text.find("]", i)
            if j < 0:
                return text
            out += text[i : j + 1]
            i = j + 1
        else:
            return text
    return out
