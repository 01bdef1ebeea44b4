"""Raw definition → ``StateMachine``, reporting every problem with its JSON location.

The parser walks the definition once. It never stops at the first problem:
each one is recorded with a JSON Pointer (``/States/Run job/Retry/0/MaxAttempts``)
and a short code, and ``InvalidDefinition`` lists them all at the end. Graph
checks (targets exist, every state reachable) run per scope, because a
Parallel branch or Map processor is a state machine of its own whose states
may only point at each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from engine import jsonata
from engine.definition.choice import compile_rule
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
    ParallelState,
    PassState,
    QueryLanguage,
    Retrier,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    WaitState,
)
from engine.errors import InvalidDefinition, Problem
from engine.executor import ParameterChecker, static_parameters
from engine.jsonvalue import JSON, JSONDecodeError, NotJSON, check_value, dumps, loads
from engine.paths import PathSyntaxError, compile_path, compile_reference_path
from engine.registry import ExecutorRegistry, UnknownResource
from engine.templates import compile_dynamic, compile_template, pointer

STATE_TYPES: Final = ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
_COMMON: Final = {"Type", "Comment", "QueryLanguage"}
_FLOW: Final = {"Next", "End"}
_IO_PATHS: Final = {"InputPath", "OutputPath"}
_JSONPATH_ONLY: Final = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "ItemsPath",
        "SecondsPath",
        "TimestampPath",
        "ErrorPath",
        "CausePath",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "MaxConcurrencyPath",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentagePath",
        "Iterator",
    }
)
_JSONATA_ONLY: Final = frozenset({"Arguments", "Output", "Items", "Condition"})
ALLOWED_FIELDS: Final[dict[str, frozenset[str]]] = {
    "Pass": frozenset(
        _COMMON | _FLOW | _IO_PATHS | {"Parameters", "Result", "ResultPath", "Assign", "Output"}
    ),
    "Task": frozenset(
        _COMMON
        | _FLOW
        | _IO_PATHS
        | {
            "Resource",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
            "Assign",
            "Arguments",
            "Output",
        }
    ),
    "Choice": frozenset(_COMMON | _IO_PATHS | {"Choices", "Default", "Assign", "Output"}),
    "Wait": frozenset(
        _COMMON
        | _FLOW
        | _IO_PATHS
        | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Assign", "Output"}
    ),
    "Succeed": frozenset(_COMMON | _IO_PATHS | {"Output"}),
    "Fail": frozenset(_COMMON | {"Error", "ErrorPath", "Cause", "CausePath"}),
    "Parallel": frozenset(
        _COMMON
        | _FLOW
        | _IO_PATHS
        | {
            "Branches",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Assign",
            "Arguments",
            "Output",
        }
    ),
    "Map": frozenset(
        _COMMON
        | _FLOW
        | _IO_PATHS
        | {
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "Items",
            "ItemSelector",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
            "Retry",
            "Catch",
            "Assign",
            "Output",
        }
    ),
}
_RETRY_FIELDS: Final = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
_CATCH_FIELDS: Final = frozenset({"ErrorEquals", "Next", "ResultPath", "Comment", "Assign", "Output"})
_MAX_NAME: Final = 80
_MAX_TIMEOUT: Final = 99999999
_MAX_BATCH_BYTES: Final = 262_144
"""MaxInputBytesPerBatch: at most 256 KiB, the payload limit."""


def parse_definition(
    definition: str | bytes | Mapping[str, Any],
    *,
    registry: ExecutorRegistry | None = None,
) -> StateMachine:
    """Parse and validate a definition into an immutable ``StateMachine``.

    Args:
        definition: JSON text or an already-parsed object.
        registry: when given, every Task's Resource must be served by it, and
            executors that can check parameters do so.

    Raises:
        InvalidDefinition: with every problem found, each with its JSON location.
    """
    raw: JSON
    if isinstance(definition, str | bytes):
        try:
            raw = loads(definition)
        except JSONDecodeError as exc:
            raise InvalidDefinition(
                [Problem("", "INVALID_JSON", f"definition is not valid JSON: {exc}")]
            ) from None
    else:
        raw = definition
        try:
            # Walked without recursion: a definition of any depth gets an answer, not a RecursionError.
            check_value(raw)
        except NotJSON as exc:
            raise InvalidDefinition([Problem("", "INVALID_JSON", f"definition is not JSON: {exc}")]) from None
    parser = _Parser(registry)
    machine = parser.machine(raw, "", JSONPATH, top=True)
    if isinstance(raw, dict):
        _check_variable_references(raw, parser.problems)
    if parser.problems or machine is None:
        raise InvalidDefinition(parser.problems or [Problem("", "INVALID", "invalid definition")])
    return machine


_VAR_REF_RE: Final = re.compile(r"(?<![\w$])\$([A-Za-z_][A-Za-z0-9_]*)")
_PATH_FIELDS: Final = frozenset(
    {
        "InputPath",
        "OutputPath",
        "ItemsPath",
        "SecondsPath",
        "TimestampPath",
        "ErrorPath",
        "CausePath",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "MaxConcurrencyPath",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentagePath",
        "Variable",
    }
)


def _assigned_names(node: JSON, out: set[str]) -> None:
    if isinstance(node, dict):
        assign = node.get("Assign")
        if isinstance(assign, dict):
            for key in assign:
                out.add(key[:-2] if key.endswith(".$") else key)
        for v in node.values():
            _assigned_names(v, out)
    elif isinstance(node, list):
        for v in node:
            _assigned_names(v, out)


def _check_variable_references(raw: Mapping[str, JSON], problems: list[Problem]) -> None:
    """A JSONPath reference to a variable that no state ever assigns is a definition error.

    Only JSONPath references are checked: AWS fails an undefined JSONata
    variable at run time (conformance ``undefined_reference``).
    """
    assigned: set[str] = set()
    _assigned_names(raw, assigned)

    def refs(text: str) -> list[str]:
        if text.startswith("States."):
            return _VAR_REF_RE.findall(text)
        if text.startswith("$") and not text.startswith(("$$", "$.", "$[")) and len(text) > 1:
            m = _VAR_REF_RE.match(text)
            return [m.group(1)] if m else []
        return []

    def walk(node: JSON, loc: str, ql: str) -> None:
        if isinstance(node, dict):
            ql = node.get("QueryLanguage", ql) if isinstance(node.get("QueryLanguage"), str) else ql
            for key, v in node.items():
                here = pointer(loc, key)
                if (
                    ql == JSONPATH
                    and isinstance(v, str)
                    and (key.endswith(".$") or key in _PATH_FIELDS or key.endswith("Path"))
                ):
                    for name in refs(v):
                        if name not in assigned:
                            problems.append(
                                Problem(
                                    here, "UNDEFINED_VARIABLE", f"the variable '${name}' is never assigned"
                                )
                            )
                else:
                    walk(v, here, ql)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, pointer(loc, i), ql)

    walk(raw, "", str(raw.get("QueryLanguage", JSONPATH)))


def _needs_context(raw: Mapping[str, JSON], ql: QueryLanguage) -> bool:
    """Whether a state reads the context object; building it per state costs, so only then."""
    try:
        text = dumps(raw)
    except TypeError:
        return True
    if ql == JSONATA:
        return b"context" in text or (b"$states" in text and b"$states." not in text)
    # Any "$$" path or intrinsic argument; Map states also expose $$.Map to ItemSelector.
    return b"$$" in text


class _Parser:
    def __init__(self, registry: ExecutorRegistry | None) -> None:
        self.registry = registry
        self.problems: list[Problem] = []

    # -- helpers ---------------------------------------------------------
    def problem(self, loc: str, code: str, msg: str) -> None:
        self.problems.append(Problem(loc, code, msg))

    def string(self, obj: Mapping[str, JSON], key: str, loc: str) -> str | None:
        v = obj.get(key)
        if v is None:
            return None
        if not isinstance(v, str):
            self.problem(pointer(loc, key), "INVALID_TYPE", f"'{key}' must be a string")
            return None
        return v

    def number(
        self,
        obj: Mapping[str, JSON],
        key: str,
        loc: str,
        *,
        integer: bool = False,
        minimum: float | None = None,
    ) -> float | None:
        if key not in obj:
            return None
        v = obj[key]
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        if integer and ok and isinstance(v, float) and not v.is_integer():
            ok = False
        if not ok:
            kind = "an integer" if integer else "a number"
            self.problem(pointer(loc, key), "INVALID_TYPE", f"'{key}' must be {kind}")
            return None
        if minimum is not None and v < minimum:
            self.problem(pointer(loc, key), "INVALID_VALUE", f"'{key}' must be at least {minimum:g}")
            return None
        return float(v)

    def ref_path(
        self, obj: Mapping[str, JSON], key: str, loc: str, *, reference: bool = True
    ) -> tuple[Any, bool]:
        """Compile an optional path field; returns (path or None, was_null)."""
        if key not in obj:
            return None, False
        v = obj[key]
        if v is None:
            return None, True
        if not isinstance(v, str):
            self.problem(pointer(loc, key), "INVALID_TYPE", f"'{key}' must be a string or null")
            return None, False
        try:
            return (compile_reference_path(v) if reference else compile_path(v)), False
        except PathSyntaxError as exc:
            self.problem(pointer(loc, key), "INVALID_PATH", str(exc))
            return None, False

    def jsonpath_value(self, obj: Mapping[str, JSON], key: str, loc: str) -> CompiledValue | None:
        if key not in obj:
            return None
        t = compile_template(obj[key], pointer(loc, key), self.problems)
        return CompiledValue(field=key, evaluate=t.evaluate, constant=t.constant)

    def jsonata_value(self, obj: Mapping[str, JSON], key: str, loc: str) -> CompiledValue | None:
        if key not in obj:
            return None
        try:
            t = jsonata.compile_template(obj[key], field=key)
        except jsonata.JsonataSyntaxError as exc:
            self.problem(pointer(loc, key), "INVALID_JSONATA", str(exc))
            return None
        return CompiledValue(field=key, jsonata=t, constant=t.is_constant)

    def jsonata_or_literal(self, value: JSON, loc: str) -> Any:
        """Compile ``"{% expr %}"`` to an expression; other values are returned as is."""
        if isinstance(value, str) and jsonata.is_jsonata_template(value):
            try:
                return jsonata.compile_expression(value.strip()[2:-2])
            except jsonata.JsonataSyntaxError as exc:
                self.problem(loc, "INVALID_JSONATA", str(exc))
        return None

    # -- state machines --------------------------------------------------
    def machine(self, raw: JSON, loc: str, inherited: QueryLanguage, *, top: bool) -> StateMachine | None:
        if not isinstance(raw, dict):
            self.problem(loc, "INVALID_TYPE", "a state machine definition must be a JSON object")
            return None
        allowed = {"StartAt", "States", "Comment", "QueryLanguage"}
        if top:
            allowed |= {"TimeoutSeconds", "Version"}
        else:
            allowed |= {"ProcessorConfig"}
        for key in raw:
            if key not in allowed:
                self.problem(pointer(loc, key), "UNKNOWN_FIELD", f"Field '{key}' is not supported here")
        ql = self.query_language(raw, loc, inherited, top=top)
        start_at = raw.get("StartAt")
        if start_at is None:
            self.problem(loc, "MISSING_FIELD", "'StartAt' is required")
        elif not isinstance(start_at, str):
            self.problem(pointer(loc, "StartAt"), "INVALID_TYPE", "'StartAt' must be a string")
            start_at = None
        states_raw = raw.get("States")
        states: dict[str, State] = {}
        if states_raw is None:
            self.problem(loc, "MISSING_FIELD", "'States' is required")
        elif not isinstance(states_raw, dict):
            self.problem(pointer(loc, "States"), "INVALID_TYPE", "'States' must be an object")
        elif not states_raw:
            self.problem(pointer(loc, "States"), "INVALID_VALUE", "'States' must not be empty")
        else:
            for name, sraw in states_raw.items():
                sloc = pointer(pointer(loc, "States"), name)
                if len(name) > _MAX_NAME or not name:
                    self.problem(sloc, "INVALID_NAME", f"state names must be 1 to {_MAX_NAME} characters")
                st = self.state(name, sraw, sloc, ql)
                if st is not None:
                    states[name] = st
        timeout = None
        if top:
            timeout = self.number(raw, "TimeoutSeconds", loc, integer=True, minimum=1)
        if isinstance(start_at, str) and isinstance(states_raw, dict) and states_raw:
            if start_at not in states_raw:
                self.problem(
                    pointer(loc, "StartAt"), "MISSING_TARGET", f"StartAt '{start_at}' is not a state"
                )
                # The other transitions are still checked: every problem is listed at once.
                self.graph_checks(None, states_raw, loc)
            else:
                self.graph_checks(start_at, states_raw, loc)
        elif isinstance(states_raw, dict) and states_raw:
            self.graph_checks(None, states_raw, loc)
        if not isinstance(start_at, str):
            return None
        return StateMachine(
            start_at=start_at,
            states=states,
            query_language=ql,
            timeout_seconds=timeout,
            comment=raw.get("Comment") if isinstance(raw.get("Comment"), str) else None,
            version=raw.get("Version") if isinstance(raw.get("Version"), str) else None,
            raw=raw,
        )

    def query_language(
        self, raw: Mapping[str, JSON], loc: str, inherited: QueryLanguage, *, top: bool
    ) -> QueryLanguage:
        ql = raw.get("QueryLanguage", inherited)
        if ql not in (JSONPATH, JSONATA):
            self.problem(
                pointer(loc, "QueryLanguage"), "INVALID_VALUE", "'QueryLanguage' must be JSONPath or JSONata"
            )
            return inherited
        if inherited == JSONATA and ql == JSONPATH and not top:
            # AWS: a JSONata machine cannot contain JSONPath states.
            self.problem(
                pointer(loc, "QueryLanguage"),
                "INVALID_VALUE",
                "a state cannot use JSONPath inside a JSONata state machine",
            )
        return ql  # type: ignore[no-any-return]

    def graph_checks(self, start_at: str | None, states_raw: Mapping[str, JSON], loc: str) -> None:
        """Every transition names a state; with a valid ``start_at``, every state is reachable."""
        edges: dict[str, list[str]] = {}
        for name, sraw in states_raw.items():
            targets: list[str] = []
            if isinstance(sraw, dict):
                sloc = pointer(pointer(loc, "States"), name)
                for key in ("Next", "Default"):
                    t = sraw.get(key)
                    if isinstance(t, str):
                        targets.append(t)
                        if t not in states_raw:
                            self.problem(
                                pointer(sloc, key), "MISSING_TARGET", f"'{key}' names no state: '{t}'"
                            )
                for listkey in ("Choices", "Catch"):
                    items = sraw.get(listkey)
                    if isinstance(items, list):
                        for i, it in enumerate(items):
                            if isinstance(it, dict) and isinstance(it.get("Next"), str):
                                t = it["Next"]
                                targets.append(t)
                                if t not in states_raw:
                                    self.problem(
                                        pointer(pointer(pointer(sloc, listkey), i), "Next"),
                                        "MISSING_TARGET",
                                        f"'Next' names no state: '{t}'",
                                    )
            edges[name] = targets
        if start_at is None:
            return
        seen = {start_at}
        todo = [start_at]
        while todo:
            for t in edges.get(todo.pop(), []):
                if t in states_raw and t not in seen:
                    seen.add(t)
                    todo.append(t)
        for name in states_raw:
            if name not in seen:
                self.problem(
                    pointer(pointer(loc, "States"), name),
                    "UNREACHABLE_STATE",
                    f"state '{name}' is not reachable",
                )

    # -- states ----------------------------------------------------------
    def state(self, name: str, raw: JSON, loc: str, inherited: QueryLanguage) -> State | None:
        if not isinstance(raw, dict):
            self.problem(loc, "INVALID_TYPE", "a state must be a JSON object")
            return None
        stype = raw.get("Type")
        if stype not in STATE_TYPES:
            if stype is None:
                self.problem(loc, "MISSING_FIELD", "'Type' is required")
            else:
                self.problem(pointer(loc, "Type"), "INVALID_VALUE", f"unknown state type {stype!r}")
            return None
        ql = self.query_language(raw, loc, inherited, top=False)
        allowed = ALLOWED_FIELDS[stype]
        for key in raw:
            if key not in allowed:
                self.problem(
                    pointer(loc, key), "UNKNOWN_FIELD", f"Field '{key}' is not supported by {stype} states"
                )
            elif ql == JSONATA and key in _JSONPATH_ONLY:
                self.problem(
                    pointer(loc, key),
                    "JSONPATH_FIELD_IN_JSONATA",
                    f"Field '{key}' is not supported in a JSONata state; use Arguments, Output or Items",
                )
            elif ql == JSONPATH and key in _JSONATA_ONLY:
                self.problem(
                    pointer(loc, key),
                    "JSONATA_FIELD_IN_JSONPATH",
                    f"Field '{key}' is only supported in a JSONata state (set QueryLanguage to JSONata)",
                )
        # Flow: exactly one of Next / End where the type continues.
        nxt = self.string(raw, "Next", loc)
        end = raw.get("End", False)
        if "End" in raw and not isinstance(end, bool):
            self.problem(pointer(loc, "End"), "INVALID_TYPE", "'End' must be a boolean")
            end = False
        if stype in ("Pass", "Task", "Wait", "Parallel", "Map"):
            if nxt is not None and end:
                self.problem(loc, "NEXT_AND_END", "a state cannot have both 'Next' and 'End'")
            elif nxt is None and not end:
                self.problem(loc, "MISSING_NEXT_OR_END", "a state must have either 'Next' or 'End: true'")
        common: dict[str, Any] = {
            "name": name,
            "type": stype,
            "query_language": ql,
            "next": nxt,
            "end": bool(end),
            "comment": raw.get("Comment") if isinstance(raw.get("Comment"), str) else None,
            "needs_context": _needs_context(raw, ql),
        }
        if ql == JSONPATH:
            common["input_path"], common["input_path_null"] = self.ref_path(
                raw, "InputPath", loc, reference=False
            )
            common["output_path"], common["output_path_null"] = self.ref_path(
                raw, "OutputPath", loc, reference=False
            )
            if "Assign" in raw:
                common["assign"] = self.assign(raw["Assign"], pointer(loc, "Assign"), ql)
        else:
            if "Assign" in raw:
                common["assign"] = self.assign(raw["Assign"], pointer(loc, "Assign"), ql)
            common["output"] = self.jsonata_value(raw, "Output", loc)
        builder: Callable[[Mapping[str, JSON], str, dict[str, Any]], State | None] = getattr(
            self, f"s_{stype.lower()}"
        )
        return builder(raw, loc, common)

    def assign(self, value: JSON, loc: str, ql: QueryLanguage) -> CompiledValue | None:
        if not isinstance(value, dict):
            self.problem(loc, "INVALID_TYPE", "'Assign' must be an object")
            return None
        for key in value:
            name = key[:-2] if key.endswith(".$") and ql == JSONPATH else key
            if (
                not name
                or not (name[0].isalpha() or name[0] == "_")
                or not all(c.isalnum() or c == "_" for c in name)
            ):
                self.problem(pointer(loc, key), "INVALID_VARIABLE_NAME", f"invalid variable name '{name}'")
            if name == "states":
                self.problem(pointer(loc, key), "RESERVED_VARIABLE", "'states' is a reserved variable name")
        if ql == JSONPATH:
            t = compile_template(value, loc, self.problems)
            return CompiledValue(field="Assign", evaluate=t.evaluate, constant=t.constant)
        try:
            jt = jsonata.compile_template(value, field="Assign")
        except jsonata.JsonataSyntaxError as exc:
            self.problem(loc, "INVALID_JSONATA", str(exc))
            return None
        return CompiledValue(field="Assign", jsonata=jt, constant=jt.is_constant)

    def result_path(self, raw: Mapping[str, JSON], loc: str, common: dict[str, Any]) -> None:
        if common["query_language"] == JSONPATH:
            common["result_path"], common["result_path_null"] = self.ref_path(raw, "ResultPath", loc)

    def payload(self, raw: Mapping[str, JSON], loc: str, common: dict[str, Any]) -> CompiledValue | None:
        if common["query_language"] == JSONPATH:
            return self.jsonpath_value(raw, "Parameters", loc)
        return self.jsonata_value(raw, "Arguments", loc)

    def retriers(self, raw: Mapping[str, JSON], loc: str) -> tuple[Retrier, ...]:
        items = raw.get("Retry")
        if items is None:
            return ()
        rloc = pointer(loc, "Retry")
        if not isinstance(items, list):
            self.problem(rloc, "INVALID_TYPE", "'Retry' must be an array")
            return ()
        out: list[Retrier] = []
        for i, it in enumerate(items):
            iloc = pointer(rloc, i)
            if not isinstance(it, dict):
                self.problem(iloc, "INVALID_TYPE", "a retrier must be an object")
                continue
            for key in it:
                if key not in _RETRY_FIELDS:
                    self.problem(
                        pointer(iloc, key), "UNKNOWN_FIELD", f"Field '{key}' is not supported in a retrier"
                    )
            errors = self.error_equals(it, iloc, last=i == len(items) - 1)
            interval = self.number(it, "IntervalSeconds", iloc, integer=True, minimum=1)
            attempts = self.number(it, "MaxAttempts", iloc, integer=True, minimum=0)
            backoff = self.number(it, "BackoffRate", iloc, minimum=1)
            max_delay = self.number(it, "MaxDelaySeconds", iloc, integer=True, minimum=1)
            jitter = it.get("JitterStrategy", "NONE")
            if jitter not in ("FULL", "NONE"):
                self.problem(
                    pointer(iloc, "JitterStrategy"), "INVALID_VALUE", "'JitterStrategy' must be FULL or NONE"
                )
            if interval is not None and interval > _MAX_TIMEOUT:
                self.problem(
                    pointer(iloc, "IntervalSeconds"), "INVALID_VALUE", "'IntervalSeconds' is too large"
                )
            if attempts is not None and attempts > _MAX_TIMEOUT:
                self.problem(pointer(iloc, "MaxAttempts"), "INVALID_VALUE", "'MaxAttempts' is too large")
            out.append(
                Retrier(
                    error_equals=errors,
                    interval_seconds=interval if interval is not None else 1.0,
                    max_attempts=int(attempts) if attempts is not None else 3,
                    backoff_rate=backoff if backoff is not None else 2.0,
                    max_delay_seconds=max_delay,
                    jitter_full=jitter == "FULL",
                )
            )
        return tuple(out)

    def error_equals(self, it: Mapping[str, JSON], loc: str, *, last: bool) -> tuple[str, ...]:
        errs = it.get("ErrorEquals")
        if errs is None:
            self.problem(loc, "MISSING_FIELD", "'ErrorEquals' is required")
            return ()
        if not isinstance(errs, list) or not errs or not all(isinstance(e, str) for e in errs):
            self.problem(
                pointer(loc, "ErrorEquals"),
                "INVALID_TYPE",
                "'ErrorEquals' must be a non-empty array of strings",
            )
            return ()
        if "States.ALL" in errs:
            if len(errs) != 1:
                self.problem(
                    pointer(loc, "ErrorEquals"),
                    "INVALID_VALUE",
                    "'States.ALL' must appear alone in 'ErrorEquals'",
                )
            if not last:
                self.problem(
                    pointer(loc, "ErrorEquals"), "INVALID_VALUE", "a 'States.ALL' entry must be the last one"
                )
        return tuple(errs)

    def catchers(self, raw: Mapping[str, JSON], loc: str, ql: QueryLanguage) -> tuple[Catcher, ...]:
        items = raw.get("Catch")
        if items is None:
            return ()
        cloc = pointer(loc, "Catch")
        if not isinstance(items, list):
            self.problem(cloc, "INVALID_TYPE", "'Catch' must be an array")
            return ()
        out: list[Catcher] = []
        for i, it in enumerate(items):
            iloc = pointer(cloc, i)
            if not isinstance(it, dict):
                self.problem(iloc, "INVALID_TYPE", "a catcher must be an object")
                continue
            for key in it:
                if key not in _CATCH_FIELDS:
                    self.problem(
                        pointer(iloc, key), "UNKNOWN_FIELD", f"Field '{key}' is not supported in a catcher"
                    )
                elif ql == JSONATA and key == "ResultPath":
                    self.problem(
                        pointer(iloc, key), "JSONPATH_FIELD_IN_JSONATA", "use 'Output' in a JSONata catcher"
                    )
                elif ql == JSONPATH and key == "Output":
                    self.problem(pointer(iloc, key), "JSONATA_FIELD_IN_JSONPATH", "'Output' needs JSONata")
            errors = self.error_equals(it, iloc, last=i == len(items) - 1)
            nxt = it.get("Next")
            if not isinstance(nxt, str):
                self.problem(iloc, "MISSING_FIELD", "a catcher must have 'Next'")
                nxt = ""
            rp, _ = self.ref_path(it, "ResultPath", iloc)
            out.append(
                Catcher(
                    error_equals=errors,
                    next=nxt,
                    result_path=rp,
                    result_path_set="ResultPath" in it,
                    output=self.jsonata_value(it, "Output", iloc) if ql == JSONATA else None,
                    assign=self.assign(it["Assign"], pointer(iloc, "Assign"), ql) if "Assign" in it else None,
                )
            )
        return tuple(out)

    def seconds_field(
        self,
        raw: Mapping[str, JSON],
        key: str,
        loc: str,
        common: dict[str, Any],
        *,
        maximum: int = _MAX_TIMEOUT,
    ) -> tuple[float | None, Any, Any]:
        """A TimeoutSeconds-like field: number, JSONata expression, or its ...Path twin."""
        value: float | None = None
        expr: Any = None
        if key in raw:
            v = raw[key]
            if common["query_language"] == JSONATA and isinstance(v, str):
                expr = self.jsonata_or_literal(v, pointer(loc, key))
                if expr is None:
                    self.problem(
                        pointer(loc, key),
                        "INVALID_TYPE",
                        f"'{key}' must be a positive integer or a JSONata expression",
                    )
            else:
                value = self.number(raw, key, loc, integer=True, minimum=1 if key != "Seconds" else 0)
                if value is not None and value > maximum:
                    self.problem(pointer(loc, key), "INVALID_VALUE", f"'{key}' must be at most {maximum}")
        path, _ = self.ref_path(raw, key + "Path", loc, reference=False)
        if key in raw and key + "Path" in raw:
            self.problem(loc, "MUTUALLY_EXCLUSIVE", f"'{key}' and '{key}Path' cannot both be set")
        return value, path, expr

    # -- one builder per state type ----------------------------------------
    def s_pass(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        self.result_path(raw, loc, c)
        if c["query_language"] == JSONPATH:
            c["parameters"] = self.jsonpath_value(raw, "Parameters", loc)
        if "Result" in raw:
            c["result"] = raw["Result"]
            c["has_result"] = True
        c["simple"] = (
            c["query_language"] == JSONPATH
            and not any(k in raw for k in ("InputPath", "OutputPath", "Assign"))
            and not c["needs_context"]
        )
        return PassState(**c)

    def s_task(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State | None:
        resource = raw.get("Resource")
        if not isinstance(resource, str):
            self.problem(
                loc if resource is None else pointer(loc, "Resource"),
                "MISSING_FIELD",
                "'Resource' must be a string",
            )
            resource = ""
        ql = c["query_language"]
        self.result_path(raw, loc, c)
        params = self.payload(raw, loc, c)
        if ql == JSONPATH:
            c["result_selector"] = self.jsonpath_value(raw, "ResultSelector", loc)
        timeout, tpath, texpr = self.seconds_field(raw, "TimeoutSeconds", loc, c)
        hb, hpath, hexpr = self.seconds_field(raw, "HeartbeatSeconds", loc, c)
        if timeout is not None and hb is not None and hb >= timeout:
            self.problem(
                pointer(loc, "HeartbeatSeconds"),
                "INVALID_VALUE",
                "'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'",
            )
        credentials = None
        if "Credentials" in raw:
            credentials = (
                self.jsonpath_value(raw, "Credentials", loc)
                if ql == JSONPATH
                else self.jsonata_value(raw, "Credentials", loc)
            )
        if resource:
            self.check_resource(resource, raw, loc, ql)
        return TaskState(
            **c,
            resource=resource,
            parameters=params,
            retry=self.retriers(raw, loc),
            catch=self.catchers(raw, loc, ql),
            timeout_seconds=timeout,
            timeout_seconds_path=tpath,
            timeout_jsonata=texpr,
            heartbeat_seconds=hb,
            heartbeat_seconds_path=hpath,
            heartbeat_jsonata=hexpr,
            credentials=credentials,
        )

    def check_resource(self, resource: str, raw: Mapping[str, JSON], loc: str, ql: QueryLanguage) -> None:
        if self.registry is None:
            return
        try:
            parsed, reg = self.registry.lookup(resource)
        except UnknownResource as exc:
            self.problem(pointer(loc, "Resource"), "UNKNOWN_RESOURCE", str(exc))
            return
        if not isinstance(reg.executor, ParameterChecker):
            return
        key = "Parameters" if ql == JSONPATH else "Arguments"
        static = static_parameters(raw.get(key), jsonata=ql == JSONATA)
        try:
            found = reg.executor.check_parameters(parsed.action, parsed.pattern, static)
        except Exception as exc:  # a plugin's checker must not turn validation into a traceback
            self.problem(pointer(loc, "Resource"), "CHECK_FAILED", f"the executor could not check its parameters: {exc}")
            return
        for prob in found:
            where = pointer(loc, key)
            for seg in prob.path:
                where = pointer(where, seg)
            self.problem(where, "INVALID_PARAMETER", prob.message)

    def s_choice(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        choices_raw = raw.get("Choices")
        rules: list[ChoiceRule] = []
        cloc = pointer(loc, "Choices")
        if not isinstance(choices_raw, list) or not choices_raw:
            self.problem(
                cloc if "Choices" in raw else loc, "MISSING_FIELD", "'Choices' must be a non-empty array"
            )
        else:
            for i, r in enumerate(choices_raw):
                rloc = pointer(cloc, i)
                if c["query_language"] == JSONATA:
                    rules.append(self.jsonata_rule(r, rloc))
                    continue
                test = compile_rule(r, rloc, self.problems, top=True)
                assign = None
                if isinstance(r, dict) and "Assign" in r:
                    assign = self.assign(r["Assign"], pointer(rloc, "Assign"), JSONPATH)
                nxt = r.get("Next") if isinstance(r, dict) else None
                rules.append(ChoiceRule(test=test, next=nxt if isinstance(nxt, str) else None, assign=assign))
        default = self.string(raw, "Default", loc)
        return ChoiceState(**c, choices=tuple(rules), default=default)

    def jsonata_rule(self, r: JSON, loc: str) -> ChoiceRule:
        if not isinstance(r, dict):
            self.problem(loc, "INVALID_TYPE", "a Choice rule must be an object")
            return ChoiceRule(test=lambda s: False)
        for key in r:
            if key not in ("Condition", "Next", "Assign", "Output", "Comment"):
                self.problem(
                    pointer(loc, key),
                    "UNKNOWN_FIELD",
                    f"Field '{key}' is not supported in a JSONata Choice rule",
                )
        cond = r.get("Condition")
        expr = None
        if isinstance(cond, bool):
            expr = None
        elif isinstance(cond, str) and jsonata.is_jsonata_template(cond):
            expr = self.jsonata_or_literal(cond, pointer(loc, "Condition"))
        else:
            self.problem(
                loc if cond is None else pointer(loc, "Condition"),
                "MISSING_FIELD",
                "'Condition' must be a JSONata expression",
            )
        nxt = r.get("Next")
        if not isinstance(nxt, str):
            self.problem(loc, "MISSING_FIELD", "a Choice rule must have 'Next'")
            nxt = None
        constant = bool(cond) if isinstance(cond, bool) else False
        return ChoiceRule(
            test=lambda s: constant,
            next=nxt,
            assign=self.assign(r["Assign"], pointer(loc, "Assign"), JSONATA) if "Assign" in r else None,
            output=self.jsonata_value(r, "Output", loc),
            jsonata_condition=expr,
        )

    def s_wait(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        given = [k for k in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if k in raw]
        if len(given) != 1:
            self.problem(
                loc,
                "INVALID_WAIT",
                "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
            )
        seconds, spath, sexpr = None, None, None
        if "Seconds" in raw or "SecondsPath" in raw:
            seconds, spath, sexpr = self.seconds_field(raw, "Seconds", loc, c)
        timestamp, texpr = None, None
        if "Timestamp" in raw:
            v = raw["Timestamp"]
            if c["query_language"] == JSONATA and isinstance(v, str) and jsonata.is_jsonata_template(v):
                texpr = self.jsonata_or_literal(v, pointer(loc, "Timestamp"))
            elif isinstance(v, str):
                from engine.definition.choice import parse_timestamp

                if parse_timestamp(v) is None:
                    self.problem(
                        pointer(loc, "Timestamp"),
                        "INVALID_VALUE",
                        "'Timestamp' must be an RFC 3339 timestamp",
                    )
                timestamp = v
            else:
                self.problem(pointer(loc, "Timestamp"), "INVALID_TYPE", "'Timestamp' must be a string")
        tpath, _ = self.ref_path(raw, "TimestampPath", loc, reference=False)
        return WaitState(
            **c,
            seconds=seconds,
            seconds_path=spath,
            seconds_jsonata=sexpr,
            timestamp=timestamp,
            timestamp_path=tpath,
            timestamp_jsonata=texpr,
        )

    def s_succeed(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        return SucceedState(**c)

    def s_fail(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        out: dict[str, Any] = {}
        for key in ("Error", "Cause"):
            low = key.lower()
            if key in raw and f"{key}Path" in raw:
                self.problem(loc, "MUTUALLY_EXCLUSIVE", f"'{key}' and '{key}Path' cannot both be set")
            v = raw.get(key)
            if v is not None:
                if not isinstance(v, str):
                    self.problem(pointer(loc, key), "INVALID_TYPE", f"'{key}' must be a string")
                elif c["query_language"] == JSONATA and jsonata.is_jsonata_template(v):
                    out[f"{low}_jsonata"] = self.jsonata_or_literal(v, pointer(loc, key))
                else:
                    out[low] = v
            pv = raw.get(f"{key}Path")
            if pv is not None:
                if not isinstance(pv, str):
                    self.problem(pointer(loc, f"{key}Path"), "INVALID_TYPE", f"'{key}Path' must be a string")
                else:
                    ev, _ = compile_dynamic(pv, f"{key}Path", pointer(loc, f"{key}Path"), self.problems)
                    out[f"{low}_path"] = ev
                    out[f"{low}_path_text"] = pv
        return FailState(**c, **out)

    def s_parallel(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State:
        self.result_path(raw, loc, c)
        branches_raw = raw.get("Branches")
        branches: list[StateMachine] = []
        bloc = pointer(loc, "Branches")
        if not isinstance(branches_raw, list) or not branches_raw:
            self.problem(
                bloc if "Branches" in raw else loc, "MISSING_FIELD", "'Branches' must be a non-empty array"
            )
        else:
            for i, b in enumerate(branches_raw):
                m = self.machine(b, pointer(bloc, i), c["query_language"], top=False)
                if m is not None:
                    branches.append(m)
        ql = c["query_language"]
        return ParallelState(
            **c,
            branches=tuple(branches),
            parameters=self.payload(raw, loc, c),
            result_selector=self.jsonpath_value(raw, "ResultSelector", loc) if ql == JSONPATH else None,
            retry=self.retriers(raw, loc),
            catch=self.catchers(raw, loc, ql),
        )

    def s_map(self, raw: Mapping[str, JSON], loc: str, c: dict[str, Any]) -> State | None:
        self.result_path(raw, loc, c)
        ql = c["query_language"]
        key = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
        if "ItemProcessor" in raw and "Iterator" in raw:
            self.problem(loc, "MUTUALLY_EXCLUSIVE", "'ItemProcessor' and 'Iterator' cannot both be set")
        proc_raw = raw.get(key)
        if proc_raw is None:
            self.problem(loc, "MISSING_FIELD", "'ItemProcessor' is required")
            return None
        distributed = False
        if isinstance(proc_raw, dict):
            cfg = proc_raw.get("ProcessorConfig")
            if isinstance(cfg, dict):
                mode = cfg.get("Mode", "INLINE")
                if mode not in ("INLINE", "DISTRIBUTED"):
                    self.problem(
                        pointer(pointer(pointer(loc, key), "ProcessorConfig"), "Mode"),
                        "INVALID_VALUE",
                        "Mode must be INLINE or DISTRIBUTED",
                    )
                distributed = mode == "DISTRIBUTED"
        processor = self.machine(proc_raw, pointer(loc, key), ql, top=False)
        if processor is None:
            return None
        if "ItemReader" in raw:
            self.problem(
                pointer(loc, "ItemReader"),
                "UNSUPPORTED",
                "ItemReader needs an S3 executor, which is not installed",
            )
        if "ResultWriter" in raw:
            self.problem(
                pointer(loc, "ResultWriter"),
                "UNSUPPORTED",
                "ResultWriter needs an S3 executor, which is not installed",
            )
        if "Parameters" in raw and "ItemSelector" in raw:
            self.problem(loc, "MUTUALLY_EXCLUSIVE", "'Parameters' and 'ItemSelector' cannot both be set")
        if ql == JSONPATH:
            selector = self.jsonpath_value(
                raw, "ItemSelector" if "ItemSelector" in raw else "Parameters", loc
            )
            items_path, _ = self.ref_path(raw, "ItemsPath", loc, reference=False)
            items = None
        else:
            selector = self.jsonata_value(raw, "ItemSelector", loc)
            items_path = None
            items = self.jsonata_value(raw, "Items", loc)
        mc = raw.get("MaxConcurrency", 0)
        mc_expr = None
        if ql == JSONATA and isinstance(mc, str):
            mc_expr = self.jsonata_or_literal(mc, pointer(loc, "MaxConcurrency"))
            mc = 0
        elif not isinstance(mc, int) or isinstance(mc, bool) or mc < 0:
            self.problem(
                pointer(loc, "MaxConcurrency"),
                "INVALID_VALUE",
                "'MaxConcurrency' must be a non-negative integer",
            )
            mc = 0
        mc_path, _ = self.ref_path(raw, "MaxConcurrencyPath", loc, reference=False)
        tfc = (
            self.number(raw, "ToleratedFailureCount", loc, integer=True, minimum=0)
            if not isinstance(raw.get("ToleratedFailureCount"), str)
            else None
        )
        tfp = (
            self.number(raw, "ToleratedFailurePercentage", loc, minimum=0)
            if not isinstance(raw.get("ToleratedFailurePercentage"), str)
            else None
        )
        if tfp is not None and tfp > 100:
            self.problem(
                pointer(loc, "ToleratedFailurePercentage"),
                "INVALID_VALUE",
                "'ToleratedFailurePercentage' must be at most 100",
            )
        tfc_path, _ = self.ref_path(raw, "ToleratedFailureCountPath", loc, reference=False)
        tfp_path, _ = self.ref_path(raw, "ToleratedFailurePercentagePath", loc, reference=False)
        return MapState(
            **c,
            processor=processor,
            distributed=distributed,
            items_path=items_path,
            items=items,
            item_selector=selector,
            result_selector=self.jsonpath_value(raw, "ResultSelector", loc) if ql == JSONPATH else None,
            max_concurrency=mc,
            max_concurrency_path=mc_path,
            max_concurrency_jsonata=mc_expr,
            tolerated_failure_count=int(tfc) if tfc is not None else None,
            tolerated_failure_count_path=tfc_path,
            tolerated_failure_percentage=tfp,
            tolerated_failure_percentage_path=tfp_path,
            label=raw.get("Label") if isinstance(raw.get("Label"), str) else None,
            item_batcher=self.item_batcher(raw, loc, ql),
            retry=self.retriers(raw, loc),
            catch=self.catchers(raw, loc, ql),
        )

    def item_batcher(self, raw: Mapping[str, JSON], loc: str, ql: QueryLanguage) -> ItemBatcher | None:
        """ItemBatcher as AWS defines it: at least one limit, each a number, a path or (JSONata) an expression."""
        if "ItemBatcher" not in raw:
            return None
        braw = raw["ItemBatcher"]
        bloc = pointer(loc, "ItemBatcher")
        if not isinstance(braw, dict):
            self.problem(bloc, "INVALID_TYPE", "'ItemBatcher' must be an object")
            return None
        allowed = {"MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"}
        if ql == JSONPATH:
            allowed |= {"MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"}
        for key in braw:
            if key not in allowed:
                self.problem(pointer(bloc, key), "UNKNOWN_FIELD", f"Field '{key}' is not supported here")
        limits: dict[str, Any] = {}
        for key, maximum in (("MaxItemsPerBatch", None), ("MaxInputBytesPerBatch", _MAX_BATCH_BYTES)):
            value: Any = None
            expr: Any = None
            v = braw.get(key)
            if ql == JSONATA and isinstance(v, str):
                expr = self.jsonata_or_literal(v, pointer(bloc, key))
                if expr is None:
                    self.problem(pointer(bloc, key), "INVALID_TYPE", f"'{key}' must be a positive integer or a JSONata expression")
            elif key in braw:
                n = self.number(braw, key, bloc, integer=True, minimum=1)
                if n is not None and maximum is not None and n > maximum:
                    self.problem(pointer(bloc, key), "INVALID_VALUE", f"'{key}' must be at most {maximum}")
                value = int(n) if n is not None else None
            path, _ = self.ref_path(braw, key + "Path", bloc, reference=False)
            if key in braw and key + "Path" in braw:
                self.problem(bloc, "MUTUALLY_EXCLUSIVE", f"'{key}' and '{key}Path' cannot both be set")
            limits[key] = (value, path, expr)
        if not any(k in braw for k in ("MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath")):
            self.problem(bloc, "MISSING_FIELD", "'ItemBatcher' needs MaxItemsPerBatch or MaxInputBytesPerBatch (or a ...Path)")
        batch_input = (
            self.jsonpath_value(braw, "BatchInput", bloc) if ql == JSONPATH else self.jsonata_value(braw, "BatchInput", bloc)
        )
        items, nbytes = limits["MaxItemsPerBatch"], limits["MaxInputBytesPerBatch"]
        return ItemBatcher(
            max_items=items[0],
            max_items_path=items[1],
            max_items_jsonata=items[2],
            max_bytes=nbytes[0],
            max_bytes_path=nbytes[1],
            max_bytes_jsonata=nbytes[2],
            batch_input=batch_input,
        )
