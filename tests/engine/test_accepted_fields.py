"""Every field the parser accepts takes effect or is refused with a problem naming it.

The fields come from the parser's own tables (``engine.definition.fields``):
each state type's ``ALLOWED_FIELDS`` in both query languages (a Map in both
processing modes), the fields of retriers, catchers, JSONata Choice rules,
ItemBatcher, ProcessorConfig and state machines. A field added to a table
without a probe here fails ``test_every_accepted_field_has_a_probe``.

A probe is a definition holding the field. Either the definition is refused
with a problem at the field's location, or it runs, and so does the same
definition without the field (or with a baseline value where the field cannot
be left out), and the two runs differ: in status, output, error, cause, or in
the history (event types, details, virtual times). The only fields allowed no
effect are listed in ``INERT``, each with the reason.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import (
    JSON,
    Engine,
    ExecutorCall,
    ExecutorContext,
    ExecutorRegistry,
    InvalidDefinition,
    StatesError,
    parse_definition,
)
from engine.definition.fields import (
    ALLOWED_FIELDS,
    CATCH_FIELDS,
    ITEM_BATCHER_FIELDS,
    JSONATA_CHOICE_RULE_FIELDS,
    JSONATA_ONLY,
    JSONPATH_ONLY,
    MACHINE_FIELDS,
    PROCESSOR_CONFIG_FIELDS,
    PROCESSOR_FIELDS,
    RETRY_FIELDS,
    TOP_MACHINE_FIELDS,
)
from engine.runtime.clock import LoopClock
from executors.local import CallableExecutor

ECHO: Final = "arn:aws:states:::test:echo"
FAIL: Final = "arn:aws:states:::test:fail"
SLOW: Final = "arn:aws:states:::test:slow"
JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"
PAST: Final = "2000-01-01T00:00:00Z"
INPUT: Final[dict[str, JSON]] = {
    "a": {"b": 1}, "n": 2, "xs": [1, 2, 3], "s": 5, "zero": 0, "t": "2026-01-01T00:01:00Z", "past": PAST,
}  # fmt: skip

INERT: Final = {
    "Comment": "documentation only (ASL: a human-readable description)",
    "Version": "the ASL version the machine is written in; only 1.0 exists",
    "Type": "selects the state type: every other probe of the type runs under it",
}


async def _echo(call: ExecutorCall, ctx: ExecutorContext) -> JSON:
    return {"parameters": call.parameters, "credentials": call.credentials}


async def _fail(call: ExecutorCall, ctx: ExecutorContext) -> JSON:
    raise StatesError("Boom", "failed on purpose")


async def _slow(call: ExecutorCall, ctx: ExecutorContext) -> JSON:
    await ctx.clock.sleep(10)
    return "slow"


def _registry() -> ExecutorRegistry:
    registry = ExecutorRegistry()
    registry.register(ECHO, CallableExecutor(_echo))
    registry.register(FAIL, CallableExecutor(_fail))
    registry.register(SLOW, CallableExecutor(_slow))
    return registry


# --- probes ---------------------------------------------------------------------------------------

MISSING: Final = object()


@dataclass
class Probe:
    """A machine with state ``S`` holding the field at ``where`` (a path into the machine).

    ``baseline`` replaces the field's value for the comparison run instead of
    removing the field (for fields a state cannot do without).
    """

    machine: dict[str, Any]
    where: tuple[str | int, ...]
    input: JSON = field(default_factory=lambda: copy.deepcopy(INPUT))
    baseline: Any = MISSING
    without: dict[str, Any] | None = None
    """A whole comparison machine, where the field's absence needs another change too."""


def _processor(mode: str) -> dict[str, Any]:
    processor: dict[str, Any] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    if mode == "DISTRIBUTED":
        processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    return processor


def _failing_processor(mode: str, ql: str = JSONPATH) -> dict[str, Any]:
    processor = _processor(mode)
    if ql == JSONPATH:
        rule: dict[str, Any] = {"Variable": "$", "NumericEquals": 2, "Next": "Bad"}
    else:
        rule = {"Condition": "{% $states.input = 2 %}", "Next": "Bad"}
    processor["States"] = {
        "P": {"Type": "Choice", "Choices": [rule], "Default": "Ok"},
        "Bad": {"Type": "Fail", "Error": "Bad"},
        "Ok": {"Type": "Pass", "End": True},
    }
    return processor


def _base(stype: str, ql: str, mode: str) -> dict[str, Any]:
    items = {"ItemsPath": "$.xs"} if ql == JSONPATH else {"Items": "{% $states.input.xs %}"}
    return {
        "Pass": {"Type": "Pass"},
        "Task": {"Type": "Task", "Resource": ECHO},
        "Choice": {"Type": "Choice", "Choices": [_rule(ql, "Other")], "Default": "Done"},
        "Wait": {"Type": "Wait", "Seconds": 0},
        "Succeed": {"Type": "Succeed"},
        "Fail": {"Type": "Fail", "Error": "E"},
        "Parallel": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}]},
        "Map": {"Type": "Map", "ItemProcessor": _processor(mode), **items},
    }[stype]


def _rule(ql: str, target: str) -> dict[str, Any]:
    if ql == JSONPATH:
        return {"Variable": "$.n", "NumericEquals": 2, "Next": target}
    return {"Condition": "{% $states.input.n = 2 %}", "Next": target}


def _machine(state: dict[str, Any], ql: str) -> dict[str, Any]:
    if state["Type"] not in ("Choice", "Succeed", "Fail") and "End" not in state:
        state.setdefault("Next", "Done")
    machine: dict[str, Any] = {
        "StartAt": "S",
        "States": {
            "S": state,
            "Done": {"Type": "Pass", "End": True},
            "Other": {"Type": "Pass", "End": True, **({"Result": "other"} if ql == JSONPATH else {"Output": "other"})},
        },
    }
    if ql == JSONATA:
        machine["QueryLanguage"] = JSONATA
    return machine


def _state_probe(stype: str, name: str, ql: str, mode: str) -> Probe | None:
    """A probe of field ``name`` on a state of type ``stype``; None when there is none."""
    if name == "QueryLanguage":
        return _language_probe(stype, ql, mode)
    state = _base(stype, ql, mode)
    value, extra_input, baseline = _value(stype, name, ql, mode, state)
    if value is MISSING:
        return None
    state[name] = value
    machine = _machine(state, ql)
    probe = Probe(machine, ("States", "S", name), baseline=baseline)
    if isinstance(probe.input, dict):
        probe.input.update(extra_input)
    if stype == "Map" and name == "InputPath":
        state.pop("ItemsPath", None)  # the effective input is the list itself
    if stype == "Map" and name in ("ToleratedFailureCount", "ToleratedFailurePercentage",
                                   "ToleratedFailureCountPath", "ToleratedFailurePercentagePath"):  # fmt: skip
        state["ItemProcessor"] = _failing_processor(mode, ql)
    if stype == "Map" and name in ("Retry", "Catch"):
        state["ItemProcessor"] = _failing_processor(mode, ql)
    if stype == "Map" and name in ("MaxConcurrency", "MaxConcurrencyPath"):
        # Iterations that wait: one at a time, or all at once, show in the history's times.
        state["ItemProcessor"]["States"]["P"] = {"Type": "Wait", "Seconds": 1, "End": True}
    if stype == "Map" and name == "Iterator":
        state.pop("ItemProcessor")
        probe.baseline = _processor(mode)
    if stype == "Map" and name == "ItemProcessor":
        state[name] = _failing_processor(mode, ql)
    if stype == "Fail" and name == "ErrorPath":
        state.pop("Error")
    if stype == "Wait" and name != "Seconds" and name in ("SecondsPath", "Timestamp", "TimestampPath"):
        state.pop("Seconds")
    if name == "End":
        probe.without = _set(machine, ("States", "S", "End"), MISSING)
        probe.without["States"]["S"]["Next"] = "Other"
    if stype in ("Task",) and name in ("Retry", "Catch"):
        state["Resource"] = FAIL
    if stype == "Parallel" and name in ("Retry", "Catch"):
        state["Branches"] = [{"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "Boom"}}}]
    if stype == "Task" and name in ("TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath"):
        state["Resource"] = SLOW
        if name.startswith("Heartbeat"):
            state["TimeoutSeconds"] = 60
    if name == "Catch":
        machine["States"]["Caught"] = {"Type": "Pass", "End": True}
    return probe


def table_branches(jp: bool) -> list[dict[str, Any]]:
    inner = {"Type": "Pass", "End": True, **({"Result": 1} if jp else {"Output": 1})}
    return [{"StartAt": "B", "States": {"B": inner}}]


def _language_probe(stype: str, ql: str, mode: str) -> Probe:
    """A state's own QueryLanguage: JSONata in a JSONPath machine evaluates ``{% %}`` strings
    that JSONPath keeps as they are; JSONPath in a JSONata machine is refused."""
    state = _base(stype, JSONATA, mode)
    if ql == JSONATA:
        state = _base(stype, JSONPATH, mode)
        state["QueryLanguage"] = JSONPATH
        return Probe(_machine(state, JSONATA), ("States", "S", "QueryLanguage"))
    state["QueryLanguage"] = JSONATA
    probe_input: JSON = copy.deepcopy(INPUT)
    if stype == "Fail":
        state["Error"] = "{% 'X' & 'Y' %}"
    elif stype == "Succeed":
        state["Output"] = "{% 'X' & 'Y' %}"
    else:
        state["Assign"] = {"v": "{% 1 + 1 %}"}
    if stype == "Map":
        state.pop("Items")
        probe_input = [1, 2]
    machine = _machine(state, JSONPATH)
    probe = Probe(machine, ("States", "S", "QueryLanguage"), input=probe_input)
    if stype in ("Choice", "Succeed"):
        # Their JSONata fields (Condition, Output) have no JSONPath meaning: compare with the
        # JSONPath state of the same shape.
        twin = _base(stype, JSONPATH, mode)
        twin["Assign"] = {"v": "{% 1 + 1 %}"} if stype == "Choice" else None
        if twin["Assign"] is None:
            del twin["Assign"]
        probe.without = _machine(twin, JSONPATH)
    return probe


def _value(stype: str, name: str, ql: str, mode: str, state: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
    """The field's probe value, input additions, and a baseline value (or MISSING)."""
    no: dict[str, Any] = {}
    jp = ql == JSONPATH
    result_like = stype in ("Task", "Parallel", "Map")
    table: dict[str, tuple[Any, dict[str, Any], Any]] = {
        "QueryLanguage": (JSONATA if jp else MISSING, no, MISSING),
        "Next": ("Other", no, "Done"),
        "End": (True, no, MISSING),
        "InputPath": ("$.a" if stype != "Map" else "$.xs", no, MISSING),
        "OutputPath": ("$.a", no, MISSING),
        "Result": ({"r": 1}, no, MISSING),
        "ResultPath": ("$.res", no, MISSING),
        "ResultSelector": ({"picked": "fixed"}, no, MISSING),
        "Assign": ({"v": 7} if jp else {"v": "{% $states.input.n %}"}, no, MISSING),
        "Output": ("{% $states.input.n %}", no, MISSING),
        "Resource": (FAIL, no, ECHO),
        "Parameters": (
            {"p.$": "$.n"} if stype != "Map" else {"v.$": "$$.Map.Item.Value", "k": 1},
            no,
            MISSING,
        ),
        "Arguments": ({"x": "{% $states.input.n %}"}, no, MISSING),
        "Credentials": ({"RoleArn": "arn:aws:iam::123456789012:role/r"}, no, MISSING),
        "TimeoutSeconds": (1, no, MISSING),
        "TimeoutSecondsPath": ("$.one", {"one": 1}, MISSING),
        "HeartbeatSeconds": (1, no, MISSING),
        "HeartbeatSecondsPath": ("$.one", {"one": 1}, MISSING),
        "Retry": ([{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}], no, MISSING),
        "Catch": ([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], no, MISSING),
        "Choices": ([_rule(ql, "Done")], no, [_rule(ql, "Other")]),
        "Default": ("Other", {"n": 3}, "Done"),
        "Seconds": (5, no, 0),
        "SecondsPath": ("$.s", no, "$.zero"),
        "Timestamp": ("2026-01-01T00:01:00Z" if jp else "{% $states.input.t %}", no, PAST),
        "TimestampPath": ("$.t", no, "$.past"),
        "Error": ("Other" if jp else "{% 'X' & $states.input.n %}", no, "E"),
        "ErrorPath": ("$.t", no, MISSING),
        "Cause": ("because" if jp else "{% 'c' & $states.input.n %}", no, MISSING),
        "CausePath": ("$.t", no, MISSING),
        "ItemProcessor": (_failing_processor(mode, ql), no, _processor(mode)),
        "Iterator": (_failing_processor(mode, ql), no, MISSING),
        "ItemsPath": ("$.xs", no, "$.a.list"),
        "Items": ("{% $states.input.xs %}", no, [9]),
        "ItemSelector": (
            {"v.$": "$$.Map.Item.Value", "k": 1} if jp else {"v": "{% $states.context.Map.Item.Value %}", "k": 1},
            no,
            MISSING,
        ),
        "MaxConcurrency": (1 if jp else "{% 1 %}", no, MISSING),
        "MaxConcurrencyPath": ("$.one", {"one": 1}, MISSING),
        "ToleratedFailureCount": (1, no, MISSING),
        "ToleratedFailureCountPath": ("$.one", {"one": 1}, MISSING),
        "ToleratedFailurePercentage": (50, no, MISSING),
        "ToleratedFailurePercentagePath": ("$.half", {"half": 50}, MISSING),
        "ItemReader": ({"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b", "Key": "k"}}, no, MISSING),
        "ResultWriter": ({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "p"}}, no, MISSING),
        "ItemBatcher": ({"MaxItemsPerBatch": 2}, no, MISSING),
        "Label": ("batch", no, MISSING),
    }
    if name in ("Next", "End") and stype in ("Choice", "Succeed", "Fail"):
        return MISSING, no, MISSING
    if name == "QueryLanguage":
        return MISSING, no, MISSING  # _language_probe
    if stype == "Choice" and name in ("Assign", "Output"):
        value, _, _ = table[name]
        return value, {"n": 3}, MISSING  # a Choice's own Assign and Output go with its Default
    if name == "Branches":
        return table_branches(jp), no, copy.deepcopy(state["Branches"])
    if name == "End":
        state.pop("Next", None)
        state["End"] = True
        return True, no, MISSING  # compared with Next (Probe.without)
    if name == "ResultSelector" and not result_like:
        return MISSING, no, MISSING
    if name == "ItemsPath" and stype == "Map":
        return "$.xs", {"a": {"list": [7]}}, "$.a.list"
    return table.get(name, (MISSING, no, MISSING))


def _two_starts(ql: str) -> dict[str, Any]:
    """S and T, each able to start: S marks the input and goes to T, T leaves once marked."""
    if ql == JSONPATH:
        mark: dict[str, Any] = {"Result": True, "ResultPath": "$.seen"}
        rule: dict[str, Any] = {"Variable": "$.seen", "IsPresent": True, "Next": "Done"}
    else:
        mark = {"Output": "{% $merge([$states.input, {'seen': true}]) %}"}
        rule = {"Condition": "{% $exists($states.input.seen) %}", "Next": "Done"}
    return {
        "S": {"Type": "Pass", **mark, "Next": "T"},
        "T": {"Type": "Choice", "Choices": [rule], "Default": "S"},
        "Done": {"Type": "Pass", "End": True},
    }


def _top_probe(name: str, ql: str) -> Probe | None:
    if name == "QueryLanguage":
        # A Fail's Error is a plain string in JSONPath and an expression in JSONata.
        machine: dict[str, Any] = {"StartAt": "S", "States": {"S": {"Type": "Fail", "Error": "{% 'X' & 'Y' %}"}}}
        machine["QueryLanguage"] = JSONATA
        return Probe(machine, (name,), baseline=JSONPATH if ql == JSONATA else MISSING)
    if name == "StartAt":
        machine = {"StartAt": "T", "States": _two_starts(ql)}
        if ql == JSONATA:
            machine["QueryLanguage"] = JSONATA
        return Probe(machine, (name,), baseline="S")
    machine = _machine({"Type": "Task", "Resource": SLOW}, ql)
    if name == "States":
        value: Any = {"S": {"Type": "Pass", "Next": "Done"}, "Done": {"Type": "Pass", "End": True}}
        return Probe(_set(machine, (name,), value), (name,), baseline=machine["States"])
    if name == "TimeoutSeconds":
        machine[name] = 1
        return Probe(machine, (name,))
    return None


def _processor_probe(name: str, ql: str) -> Probe | None:
    """A field of a Map's processor (``ItemProcessor``'s own fields)."""
    state = _base("Map", ql, "INLINE")
    machine = _machine(state, ql)
    processor = state["ItemProcessor"]
    where = ("States", "S", "ItemProcessor", name)
    if name == "ProcessorConfig":
        processor[name] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
        return Probe(machine, where)
    if name == "StartAt":
        processor["States"] = _two_starts(ql)
        processor["StartAt"] = "T"
        state["ItemSelector"] = {"k": 1}  # objects as items, for the mark
        return Probe(machine, where, baseline="S")
    if name == "States":
        processor["States"] = {"P": {"Type": "Pass", "Result" if ql == JSONPATH else "Output": "q", "End": True}}
        return Probe(machine, where, baseline=_processor("INLINE")["States"])
    if name == "QueryLanguage":
        if ql == JSONATA:
            processor[name] = JSONPATH
            return Probe(machine, where)
        processor[name] = JSONATA
        processor["States"]["P"]["Assign"] = {"v": "{% 1 + 1 %}"}
        return Probe(machine, where)
    return None


def _processor_config_probe(name: str, ql: str) -> Probe | None:
    state = _base("Map", ql, "DISTRIBUTED")
    machine = _machine(state, ql)
    where = ("States", "S", "ItemProcessor", "ProcessorConfig", name)
    if name == "Mode":
        state["ItemProcessor"]["ProcessorConfig"] = {"Mode": "DISTRIBUTED"}
        return Probe(machine, where, baseline="INLINE")
    if name == "ExecutionType":
        # EXPRESS children are not modelled: the refusal must name the field.
        state["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] = "EXPRESS"
        return Probe(machine, where, baseline="STANDARD")
    return None


def _retry_probe(name: str, ql: str) -> Probe | None:
    retrier: dict[str, Any] = {"ErrorEquals": ["Boom"], "MaxAttempts": 2}
    values: dict[str, tuple[Any, Any]] = {
        "ErrorEquals": (["Boom"], ["Other"]),
        "IntervalSeconds": (3, MISSING),
        "MaxAttempts": (1, MISSING),
        "BackoffRate": (3.0, MISSING),
        "MaxDelaySeconds": (1, MISSING),
        "JitterStrategy": ("FULL", MISSING),
    }
    if name not in values:
        return None
    value, baseline = values[name]
    retrier[name] = value
    machine = _machine({"Type": "Task", "Resource": FAIL, "Retry": [retrier]}, ql)
    return Probe(machine, ("States", "S", "Retry", 0, name), baseline=baseline)


def _catch_probe(name: str, ql: str) -> Probe | None:
    catcher: dict[str, Any] = {"ErrorEquals": ["Boom"], "Next": "Done"}
    values: dict[str, tuple[Any, Any]] = {
        "ErrorEquals": (["Boom"], ["Other"]),
        "Next": ("Other", "Done"),
        "ResultPath": ("$.error", MISSING),
        "Assign": ({"v": 1}, MISSING),
        "Output": ("{% $states.errorOutput.Error %}", MISSING),
    }
    value, baseline = values.get(name, (MISSING, MISSING))
    if value is MISSING:
        return None
    catcher[name] = value
    machine = _machine({"Type": "Task", "Resource": FAIL, "Catch": [catcher]}, ql)
    return Probe(machine, ("States", "S", "Catch", 0, name), baseline=baseline)


def _choice_rule_probe(name: str) -> Probe | None:
    rule: dict[str, Any] = {"Condition": "{% $states.input.n = 2 %}", "Next": "Other"}
    values: dict[str, tuple[Any, Any]] = {
        "Condition": ("{% $states.input.n = 2 %}", "{% false %}"),
        "Next": ("Other", "Done"),
        "Assign": ({"v": 1}, MISSING),
        "Output": ("{% 'chosen' %}", MISSING),
    }
    if name not in values:
        return None
    value, baseline = values[name]
    rule[name] = value
    machine = _machine({"Type": "Choice", "Choices": [rule], "Default": "Done"}, JSONATA)
    return Probe(machine, ("States", "S", "Choices", 0, name), baseline=baseline)


def _batcher_probe(name: str, ql: str, mode: str) -> Probe | None:
    batcher: dict[str, Any] = {"MaxItemsPerBatch": 3}
    values: dict[str, tuple[Any, Any]] = {
        "MaxItemsPerBatch": (1, 3),
        "MaxItemsPerBatchPath": ("$.one", MISSING),
        "MaxInputBytesPerBatch": (10, MISSING),
        "MaxInputBytesPerBatchPath": ("$.ten", MISSING),
        "BatchInput": ({"b": 1}, MISSING),
    }
    if name not in values:
        return None
    value, baseline = values[name]
    if name == "MaxItemsPerBatchPath":
        batcher.pop("MaxItemsPerBatch")
        batcher["MaxInputBytesPerBatch"] = 1000
    batcher[name] = value
    state = _base("Map", ql, mode)
    state["ItemBatcher"] = batcher
    probe = Probe(_machine(state, ql), ("States", "S", "ItemBatcher", name), baseline=baseline)
    assert isinstance(probe.input, dict)
    probe.input.update({"one": 1, "ten": 10})
    return probe


# --- the cases, from the parser's tables ----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    label: str
    make: Callable[[], Probe | None]
    language_refusal: bool = False


def _cases() -> Iterator[Case]:
    for stype, fields in sorted(ALLOWED_FIELDS.items()):
        modes = ("INLINE", "DISTRIBUTED") if stype == "Map" else ("",)
        for name in sorted(fields):
            for ql in (JSONPATH, JSONATA):
                refused = (ql == JSONATA and name in JSONPATH_ONLY) or (ql == JSONPATH and name in JSONATA_ONLY)
                for mode in modes:
                    label = f"{stype}{'/' + mode if mode else ''}/{ql}/{name}"
                    yield Case(label, lambda s=stype, n=name, q=ql, m=mode: _state_probe(s, n, q, m), refused)
    for name in sorted(RETRY_FIELDS):
        for ql in (JSONPATH, JSONATA):
            yield Case(f"Retry/{ql}/{name}", lambda n=name, q=ql: _retry_probe(n, q))
    for name in sorted(CATCH_FIELDS):
        for ql in (JSONPATH, JSONATA):
            refused = (ql == JSONATA and name == "ResultPath") or (ql == JSONPATH and name == "Output")
            yield Case(f"Catch/{ql}/{name}", lambda n=name, q=ql: _catch_probe(n, q), refused)
    for name in sorted(JSONATA_CHOICE_RULE_FIELDS):
        yield Case(f"ChoiceRule/JSONata/{name}", lambda n=name: _choice_rule_probe(n))
    for name in sorted(ITEM_BATCHER_FIELDS):
        for ql in (JSONPATH, JSONATA):
            for mode in ("INLINE", "DISTRIBUTED"):
                refused = ql == JSONATA and name in JSONPATH_ONLY
                label = f"ItemBatcher/{mode}/{ql}/{name}"
                yield Case(label, lambda n=name, q=ql, m=mode: _batcher_probe(n, q, m), refused)
    for name in sorted(PROCESSOR_CONFIG_FIELDS):
        for ql in (JSONPATH, JSONATA):
            yield Case(f"ProcessorConfig/{ql}/{name}", lambda n=name, q=ql: _processor_config_probe(n, q))
    for name in sorted(MACHINE_FIELDS | TOP_MACHINE_FIELDS):
        for ql in (JSONPATH, JSONATA):
            yield Case(f"StateMachine/{ql}/{name}", lambda n=name, q=ql: _top_probe(n, q))
    for name in sorted(MACHINE_FIELDS | PROCESSOR_FIELDS):
        for ql in (JSONPATH, JSONATA):
            yield Case(f"ItemProcessor/{ql}/{name}", lambda n=name, q=ql: _processor_probe(n, q))


CASES: Final = list(_cases())


def _field_name(case: Case) -> str:
    return case.label.rsplit("/", 1)[1]


# --- running a probe ------------------------------------------------------------------------------


def _set(machine: dict[str, Any], where: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(machine)
    node: Any = out
    for key in where[:-1]:
        node = node[key]
    if value is MISSING:
        del node[where[-1]]
    else:
        node[where[-1]] = value
    return out


def _targets(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("Next", "Default") and isinstance(item, str):
                yield item
            else:
                yield from _targets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _targets(item)


def _pruned(machine: dict[str, Any]) -> dict[str, Any]:
    """Without the helper states nothing transitions to (an unreachable state is an error)."""
    out = copy.deepcopy(machine)
    states = out.get("States")
    if isinstance(states, dict):
        used = set(_targets(states)) | {out.get("StartAt")}
        for helper in ("Done", "Other", "Caught"):
            if helper in states and helper not in used:
                del states[helper]
    return out


def _pointer(where: tuple[str | int, ...]) -> str:
    return "".join(f"/{key}" for key in where)


def _problems(machine: dict[str, Any]) -> list[Any] | None:
    try:
        parse_definition(_pruned(machine), registry=_registry())
    except InvalidDefinition as exc:
        return exc.problems
    return None


async def _fingerprint(machine: dict[str, Any], value: JSON) -> tuple[Any, ...]:
    clock = LoopClock(datetime(2026, 1, 1, tzinfo=UTC))  # wall time from the fast-forwarded loop
    async with Engine(load_plugins=False, registry=_registry(), clock=clock, seed=1) as engine:
        result = await engine.run(_pruned(machine), value, name="probe")
    start = result.history[0].timestamp
    events = tuple((e.type, round(e.timestamp - start, 3), repr(e.details)) for e in result.history)
    return result.status, repr(result.output), result.error, result.cause, events


@pytest.mark.looptime
@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
async def test_an_accepted_field_takes_effect_or_is_refused_naming_it(case: Case) -> None:
    name = _field_name(case)
    if name in INERT:
        return
    probe = case.make()
    if probe is None:
        pytest.fail(f"no probe for {case.label}: add one, or refuse the field in the parser")
    with_field = _problems(probe.machine)
    if case.language_refusal or with_field is not None:
        assert with_field is not None, f"{case.label}: expected a refusal"
        location = _pointer(probe.where)
        assert any(p.location == location for p in with_field), (location, with_field)
        return
    without = probe.without if probe.without is not None else _set(probe.machine, probe.where, probe.baseline)
    assert _problems(without) is None, f"{case.label}: the comparison definition must be valid"
    baseline = await _fingerprint(without, probe.input)
    assert baseline == await _fingerprint(without, probe.input), "runs must be deterministic"
    assert await _fingerprint(probe.machine, probe.input) != baseline, (
        f"{case.label}: the field made no difference"
    )


def test_every_accepted_field_has_a_probe() -> None:
    missing = [c.label for c in CASES if _field_name(c) not in INERT and c.make() is None]
    assert missing == []


def test_the_walk_covers_every_state_type_and_both_languages() -> None:
    labels = {c.label.split("/")[0] for c in CASES}
    assert set(ALLOWED_FIELDS) <= labels
    assert len(CASES) > 200


# --- what the walk found, stated directly ---------------------------------------------------------


def _map_machine(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": processor, "End": True, **fields}}}


@pytest.mark.parametrize("mode", ["INLINE", "DISTRIBUTED"])
async def test_tolerated_failures_hold_in_either_mode(mode: str) -> None:
    machine = _map_machine(_failing_processor(mode), ToleratedFailureCount=1)
    async with Engine(load_plugins=False, registry=_registry()) as engine:
        tolerated = await engine.run(machine, [1, 2, 3])
        beyond = await engine.run(machine, [2, 2, 3])
    assert (tolerated.status, tolerated.output) == ("SUCCEEDED", [1, None, 3])
    assert (beyond.status, beyond.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")


async def test_a_distributed_maps_label_names_its_map_run() -> None:
    machine = _map_machine(_processor("DISTRIBUTED"), Label="batch")
    async with Engine(load_plugins=False, registry=_registry()) as engine:
        result = await engine.run(machine, [1], name="run")
    started = next(e for e in result.history if e.type == "MapRunStarted")
    assert started.details is not None
    # AWS's shape: arn:aws:states:REGION:ACCOUNT:mapRun:STATE_MACHINE_NAME/LABEL:UUID
    assert re.fullmatch(
        r"arn:aws:states:us-east-1:\d{12}:mapRun:[^:/]+/batch:[0-9a-f-]{36}",
        str(started.details["mapRunArn"]),
    )


@pytest.mark.parametrize(
    ("machine", "location"),
    [
        (_map_machine({**_processor("INLINE"), "ProcessorConfig": {"Mode": "INLINE", "Modes": 1}}),
         "/States/M/ItemProcessor/ProcessorConfig/Modes"),
        (_map_machine({**_processor("INLINE"), "ProcessorConfig": "INLINE"}), "/States/M/ItemProcessor/ProcessorConfig"),
        (_map_machine({**_processor("INLINE"), "ProcessorConfig": {"ExecutionType": "STANDARD"}}),
         "/States/M/ItemProcessor/ProcessorConfig/ExecutionType"),
        (_map_machine(_processor("DISTRIBUTED"), Label=7), "/States/M/Label"),
        (_map_machine(_processor("INLINE"), Label="batch"), "/States/M/Label"),
        ({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
            {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}]}}},
         "/States/P/Branches/0/ProcessorConfig"),
    ],
)  # fmt: skip
def test_fields_accepted_and_ignored_before_are_refused_with_their_location(
    machine: dict[str, Any], location: str
) -> None:
    problems = _problems(machine)
    assert problems is not None and [p.location for p in problems] == [location]


PROCESSOR_CONFIGS = st.fixed_dictionaries(
    {},
    optional={
        "Mode": st.sampled_from(["INLINE", "DISTRIBUTED", "inline", 1]),
        "ExecutionType": st.sampled_from(["STANDARD", "EXPRESS", "Standard", None]),
        "Other": st.just(1),
    },
)


@given(config=st.one_of(st.none(), PROCESSOR_CONFIGS), label=st.one_of(st.none(), st.just("L"), st.just(3)))
def test_a_maps_mode_fields_are_refused_exactly_where_they_do_not_apply(
    config: dict[str, Any] | None, label: Any
) -> None:
    processor = _processor("INLINE")
    fields: dict[str, Any] = {} if label is None else {"Label": label}
    if config is not None:
        processor["ProcessorConfig"] = config
    cfg = config or {}
    mode = cfg.get("Mode", "INLINE")
    where = "/States/M/ItemProcessor/ProcessorConfig"
    expected = set()
    if "Other" in cfg:
        expected.add(f"{where}/Other")
    if mode not in ("INLINE", "DISTRIBUTED"):
        expected.add(f"{where}/Mode")
    if "ExecutionType" in cfg and (mode != "DISTRIBUTED" or cfg["ExecutionType"] != "STANDARD"):
        expected.add(f"{where}/ExecutionType")
    if label is not None and (mode != "DISTRIBUTED" or not isinstance(label, str)):
        expected.add("/States/M/Label")
    problems = _problems(_map_machine(processor, **fields)) or []
    assert {p.location for p in problems} == expected
