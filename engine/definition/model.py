"""The typed, immutable form of a state machine definition.

A definition is parsed once (``engine.definition.parse``) into these frozen,
slotted dataclasses. Every path, intrinsic call, payload template, JSONata
expression and Choice rule inside them is already compiled to a callable, so
executions interpret objects and never look at the raw JSON again. The
compiled fields are typed by the protocols of ``engine.definition.expressions``.

Field names are the snake_case of the ASL keys (``result_path`` for
``ResultPath``); state classes keep AWS's names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from engine.definition.expressions import Evaluator, JsonataField, JsonataValue, Selector
from engine.jsonvalue import JSON
from engine.paths import Path
from engine.scope import Scope

JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"
QueryLanguage = Literal["JSONPath", "JSONata"]
_TYPES: Final = ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
_ENTERED: Final = {t: f"{t}StateEntered" for t in _TYPES}
_EXITED: Final = {t: f"{t}StateExited" for t in _TYPES}


@dataclass(frozen=True, slots=True)
class CompiledValue:
    """A value computed at run time in either query language.

    Exactly one of the members is used: ``evaluate`` (JSONPath templates and
    paths) or ``jsonata`` (a JSONata template evaluated with ``$states``).
    ``field`` names the ASL field for error messages (``Output/result``).
    """

    field: str
    evaluate: Evaluator | None = None
    jsonata: JsonataValue | None = None
    constant: bool = False


@dataclass(frozen=True, slots=True)
class Retrier:
    """One entry of a Retry list."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter_full: bool = False


@dataclass(frozen=True, slots=True)
class Catcher:
    """One entry of a Catch list."""

    error_equals: tuple[str, ...]
    next: str
    result_path: Path | None = None  # None: ResultPath null (discard)
    result_path_set: bool = False  # ResultPath given explicitly (null means discard)
    output: CompiledValue | None = None
    assign: CompiledValue | None = None


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    """A compiled Choice rule: a predicate plus, at the top level, its Next."""

    test: Callable[[Scope], bool]
    next: str | None = None
    assign: CompiledValue | None = None
    output: CompiledValue | None = None
    jsonata_condition: JsonataField | None = None  # JSONata rules


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """What every state has."""

    name: str
    type: str
    query_language: QueryLanguage = "JSONPath"
    next: str | None = None
    end: bool = False
    comment: str | None = None
    input_path: Selector | None = None  # None: $ by default (null → {}, see input_path_null)
    input_path_null: bool = False
    output_path: Selector | None = None
    output_path_null: bool = False
    assign: CompiledValue | None = None
    output: CompiledValue | None = None  # JSONata Output
    needs_context: bool = True

    @property
    def entered_event(self) -> str:
        """This state's Entered event type, e.g. ``PassStateEntered``."""
        return _ENTERED[self.type]

    @property
    def exited_event(self) -> str:
        """This state's Exited event type, e.g. ``PassStateExited``."""
        return _EXITED[self.type]


@dataclass(frozen=True, slots=True, kw_only=True)
class PassState(State):
    parameters: CompiledValue | None = None
    result: JSON = None
    has_result: bool = False
    result_path: Path | None = None
    result_path_null: bool = False
    simple: bool = False  # JSONPath, no InputPath/OutputPath/Assign/$$: the interpreter's fast path


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskState(State):
    resource: str
    parameters: CompiledValue | None = None  # Parameters (JSONPath) or Arguments (JSONata)
    result_selector: CompiledValue | None = None
    result_path: Path | None = None
    result_path_null: bool = False
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    timeout_seconds: float | None = None
    timeout_seconds_path: Selector | None = None
    timeout_jsonata: JsonataField | None = None
    heartbeat_seconds: float | None = None
    heartbeat_seconds_path: Selector | None = None
    heartbeat_jsonata: JsonataField | None = None
    credentials: CompiledValue | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceState(State):
    choices: tuple[ChoiceRule, ...] = ()
    default: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitState(State):
    seconds: float | None = None
    seconds_path: Selector | None = None
    timestamp: str | None = None
    timestamp_path: Selector | None = None
    seconds_jsonata: JsonataField | None = None
    timestamp_jsonata: JsonataField | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SucceedState(State):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class FailState(State):
    error: str | None = None
    cause: str | None = None
    error_path: Evaluator | None = None
    cause_path: Evaluator | None = None
    error_path_text: str | None = None
    cause_path_text: str | None = None
    error_jsonata: JsonataField | None = None
    cause_jsonata: JsonataField | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelState(State):
    branches: tuple[StateMachine, ...] = ()
    parameters: CompiledValue | None = None
    result_selector: CompiledValue | None = None
    result_path: Path | None = None
    result_path_null: bool = False
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemBatcher:
    """A Map's ItemBatcher: items grouped into batches, each child's input ``{"Items": [...]}``.

    Each limit is a number, a reference path (JSONPath) or a JSONata
    expression; ``batch_input`` is added beside Items as ``BatchInput``.
    """

    max_items: int | None = None
    max_items_path: Selector | None = None
    max_items_jsonata: JsonataField | None = None
    max_bytes: int | None = None
    max_bytes_path: Selector | None = None
    max_bytes_jsonata: JsonataField | None = None
    batch_input: CompiledValue | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MapState(State):
    processor: StateMachine
    distributed: bool = False
    items_path: Selector | None = None
    items: CompiledValue | None = None  # JSONata Items
    item_selector: CompiledValue | None = None
    result_selector: CompiledValue | None = None
    result_path: Path | None = None
    result_path_null: bool = False
    max_concurrency: int = 0
    max_concurrency_path: Selector | None = None
    max_concurrency_jsonata: JsonataField | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_count_path: Selector | None = None
    tolerated_failure_percentage: float | None = None
    tolerated_failure_percentage_path: Selector | None = None
    label: str | None = None
    item_batcher: ItemBatcher | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass(frozen=True, slots=True)
class StateMachine:
    """A parsed, validated definition (or a Parallel branch / Map processor)."""

    start_at: str
    states: Mapping[str, State]
    query_language: QueryLanguage = "JSONPath"
    timeout_seconds: float | None = None
    comment: str | None = None
    version: str | None = None
    raw: Mapping[str, JSON] = field(default_factory=dict, compare=False, repr=False)
