"""The fields of a definition: which a state type allows, and reading each into a typed value.

``ALLOWED_FIELDS`` says which fields each state type accepts (and which only
in one query language); ``FieldReader`` reads one field at a time into what
the model holds (a compiled path, template, JSONata expression, number,
Retrier or Catcher), recording a problem at the field's JSON location
instead of stopping, so every problem of a definition is reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from engine import jsonata
from engine.definition.model import (
    JSONATA,
    JSONPATH,
    Catcher,
    CompiledValue,
    QueryLanguage,
    Retrier,
)
from engine.errors import Problem
from engine.jsonvalue import JSON
from engine.paths import PathSyntaxError, compile_path, compile_reference_path
from engine.registry import ExecutorRegistry
from engine.templates import compile_template, pointer

STATE_TYPES: Final = ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
_COMMON: Final = {"Type", "Comment", "QueryLanguage"}
_FLOW: Final = {"Next", "End"}
_IO_PATHS: Final = {"InputPath", "OutputPath"}
JSONPATH_ONLY: Final = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "Result",
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
        "MaxItemsPerBatchPath",
        "MaxInputBytesPerBatchPath",
    }
)
JSONATA_ONLY: Final = frozenset({"Arguments", "Output", "Items", "Condition"})
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
RETRY_FIELDS: Final = frozenset(
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
CATCH_FIELDS: Final = frozenset({"ErrorEquals", "Next", "ResultPath", "Comment", "Assign", "Output"})
JSONATA_CHOICE_RULE_FIELDS: Final = frozenset({"Condition", "Next", "Assign", "Output", "Comment"})
ITEM_BATCHER_FIELDS: Final = frozenset(
    {
        "MaxItemsPerBatch",
        "MaxItemsPerBatchPath",
        "MaxInputBytesPerBatch",
        "MaxInputBytesPerBatchPath",
        "BatchInput",
    }
)
"""A Map's ItemBatcher; its ``...Path`` fields are JSONPath-only (``JSONPATH_ONLY``)."""
PROCESSOR_CONFIG_FIELDS: Final = frozenset({"Mode", "ExecutionType"})
MACHINE_FIELDS: Final = frozenset({"StartAt", "States", "Comment", "QueryLanguage"})
"""Every state machine's fields: the top one, a Parallel branch, a Map processor."""
TOP_MACHINE_FIELDS: Final = frozenset({"TimeoutSeconds", "Version"})
PROCESSOR_FIELDS: Final = frozenset({"ProcessorConfig"})
"""A Map processor's own field (a Parallel branch has none)."""
MAX_NAME: Final = 80
MAX_TIMEOUT: Final = 99999999
MAX_BATCH_BYTES: Final = 262_144
"""MaxInputBytesPerBatch: at most 256 KiB, the payload limit."""


class FieldReader:
    """Reads fields into typed values; every problem is recorded with its JSON location."""

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
                if key not in RETRY_FIELDS:
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
            if interval is not None and interval > MAX_TIMEOUT:
                self.problem(
                    pointer(iloc, "IntervalSeconds"), "INVALID_VALUE", "'IntervalSeconds' is too large"
                )
            if attempts is not None and attempts > MAX_TIMEOUT:
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
                if key not in CATCH_FIELDS:
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
        maximum: int = MAX_TIMEOUT,
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
