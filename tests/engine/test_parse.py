"""Definition validation: every problem AWS refuses, with its JSON location and code.

Each case lists the exact set of ``(location, code)`` pairs the validator must
report, so a missing problem, an extra one, or one at the wrong location all
fail. Locations are JSON Pointers into the definition (RFC 6901 escaping).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from engine import ExecutorRegistry, InvalidDefinition, Problem, StateMachine, parse_definition
from engine.definition.model import ChoiceState, MapState, ParallelState, PassState, TaskState
from executors.local import LambdaExecutor, register

LAMBDA = "arn:aws:states:::lambda:invoke"


def _end() -> dict[str, Any]:
    return {"Type": "Pass", "End": True}


def _task(**fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Parameters": {"FunctionName": "f"},
        "End": True,
    }
    state.update(fields)
    return state


def _one(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": "A", "States": {"A": state}, **top}


def _choice(*rules: Any) -> dict[str, Any]:
    return {
        "StartAt": "C",
        "States": {"C": {"Type": "Choice", "Choices": list(rules), "Default": "D"}, "D": _end()},
    }


def problems_of(definition: Any, registry: ExecutorRegistry | None = None) -> set[tuple[str, str]]:
    with pytest.raises(InvalidDefinition) as info:
        parse_definition(definition, registry=registry)
    return {(p.location, p.code) for p in info.value.problems}


@pytest.fixture
def registry() -> ExecutorRegistry:
    reg = ExecutorRegistry()
    register(reg, LambdaExecutor())
    return reg


# -- the graph: StartAt, Next targets, reachability, Next/End ---------------------------

GRAPH_CASES: list[tuple[str, Any, set[tuple[str, str]]]] = [
    ("missing StartAt", {"States": {"A": _end()}}, {("", "MISSING_FIELD")}),
    ("StartAt names no state", {"StartAt": "X", "States": {"A": _end()}}, {("/StartAt", "MISSING_TARGET")}),
    ("StartAt not a string", {"StartAt": 1, "States": {"A": _end()}}, {("/StartAt", "INVALID_TYPE")}),
    ("missing States", {"StartAt": "A"}, {("", "MISSING_FIELD")}),
    ("empty States", {"StartAt": "A", "States": {}}, {("/States", "INVALID_VALUE")}),
    ("a state that is not an object", _one(5), {("/States/A", "INVALID_TYPE")}),  # type: ignore[arg-type]
    (
        "Next names no state",
        _one({"Type": "Pass", "Next": "Z"}),
        {("/States/A/Next", "MISSING_TARGET")},
    ),
    (
        "Choice Default names no state",
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.a", "IsPresent": True, "Next": "D"}],
                    "Default": "Nowhere",
                },
                "D": _end(),
            },
        },
        {("/States/C/Default", "MISSING_TARGET")},
    ),
    (
        "a Choice rule's Next names no state",
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.a", "IsPresent": True, "Next": "Nowhere"}],
                    "Default": "D",
                },
                "D": _end(),
            },
        },
        {("/States/C/Choices/0/Next", "MISSING_TARGET")},
    ),
    (
        "a catcher's Next names no state",
        _one(_task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Nowhere"}])),
        {("/States/A/Catch/0/Next", "MISSING_TARGET")},
    ),
    (
        "unreachable state",
        {"StartAt": "A", "States": {"A": _end(), "B": _end()}},
        {("/States/B", "UNREACHABLE_STATE")},
    ),
    (
        "a cycle unreachable from StartAt",
        {
            "StartAt": "A",
            "States": {"A": _end(), "B": {"Type": "Pass", "Next": "C"}, "C": {"Type": "Pass", "Next": "B"}},
        },
        {("/States/B", "UNREACHABLE_STATE"), ("/States/C", "UNREACHABLE_STATE")},
    ),
    (
        "both Next and End",
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B", "End": True}, "B": _end()}},
        {("/States/A", "NEXT_AND_END")},
    ),
    ("neither Next nor End", _one({"Type": "Pass"}), {("/States/A", "MISSING_NEXT_OR_END")}),
    (
        "End not a boolean",
        _one({"Type": "Pass", "End": "yes"}),
        {("/States/A/End", "INVALID_TYPE"), ("/States/A", "MISSING_NEXT_OR_END")},
    ),
    (
        "a terminal state with Next",
        _one({"Type": "Succeed", "Next": "A"}),
        {("/States/A/Next", "UNKNOWN_FIELD")},
    ),
]


@pytest.mark.parametrize(
    ("definition", "expected"), [c[1:] for c in GRAPH_CASES], ids=[c[0] for c in GRAPH_CASES]
)
def test_graph_problems_are_reported_with_their_location(
    definition: Any, expected: set[tuple[str, str]]
) -> None:
    assert problems_of(definition) == expected


# -- fields and types --------------------------------------------------------------------

FIELD_CASES: list[tuple[str, Any, set[tuple[str, str]]]] = [
    (
        "unknown fields at the top and in a state",
        {"StartAt": "A", "Foo": 1, "States": {"A": {"Type": "Pass", "End": True, "Bar": 2}}},
        {("/Foo", "UNKNOWN_FIELD"), ("/States/A/Bar", "UNKNOWN_FIELD")},
    ),
    ("unknown state type", _one({"Type": "Nope", "End": True}), {("/States/A/Type", "INVALID_VALUE")}),
    ("missing Type", _one({"End": True}), {("/States/A", "MISSING_FIELD")}),
    ("Task without Resource", _one({"Type": "Task", "End": True}), {("/States/A", "MISSING_FIELD")}),
    (
        "Fail with both Error and ErrorPath",
        _one({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}),
        {("/States/A", "MUTUALLY_EXCLUSIVE")},
    ),
    (
        "Wait with two durations",
        _one({"Type": "Wait", "Seconds": 1, "Timestamp": "2020-01-01T00:00:00Z", "End": True}),
        {("/States/A", "INVALID_WAIT")},
    ),
    ("Wait with no duration", _one({"Type": "Wait", "End": True}), {("/States/A", "INVALID_WAIT")}),
    (
        "Wait with a malformed Timestamp",
        _one({"Type": "Wait", "Timestamp": "tomorrow", "End": True}),
        {("/States/A/Timestamp", "INVALID_VALUE")},
    ),
    (
        "TimeoutSeconds together with TimeoutSecondsPath",
        _one(_task(TimeoutSeconds=5, TimeoutSecondsPath="$.t")),
        {("/States/A", "MUTUALLY_EXCLUSIVE")},
    ),
    (
        "HeartbeatSeconds not below TimeoutSeconds",
        _one(_task(TimeoutSeconds=5, HeartbeatSeconds=5)),
        {("/States/A/HeartbeatSeconds", "INVALID_VALUE")},
    ),
    (
        "TimeoutSeconds of a Task not an integer",
        _one(_task(TimeoutSeconds=1.5)),
        {("/States/A/TimeoutSeconds", "INVALID_TYPE")},
    ),
    (
        "machine TimeoutSeconds below one",
        _one(_end(), TimeoutSeconds=0),
        {("/TimeoutSeconds", "INVALID_VALUE")},
    ),
    (
        "Parallel without branches",
        _one({"Type": "Parallel", "Branches": [], "End": True}),
        {("/States/A/Branches", "MISSING_FIELD")},
    ),
    ("Map without ItemProcessor", _one({"Type": "Map", "End": True}), {("/States/A", "MISSING_FIELD")}),
    (
        "Map with a negative MaxConcurrency",
        _one(
            {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": _end()}},
                "MaxConcurrency": -1,
                "End": True,
            }
        ),
        {("/States/A/MaxConcurrency", "INVALID_VALUE")},
    ),
    (
        "a state name with JSON Pointer special characters is escaped",
        {"StartAt": "a/b~c", "States": {"a/b~c": {"Type": "Pass", "End": True, "X": 1}}},
        {("/States/a~1b~0c/X", "UNKNOWN_FIELD")},
    ),
    (
        "a state name longer than 80 characters",
        {"StartAt": "n" * 81, "States": {"n" * 81: _end()}},
        {("/States/" + "n" * 81, "INVALID_NAME")},
    ),
]


@pytest.mark.parametrize(
    ("definition", "expected"), [c[1:] for c in FIELD_CASES], ids=[c[0] for c in FIELD_CASES]
)
def test_field_problems_are_reported_with_their_location(
    definition: Any, expected: set[tuple[str, str]]
) -> None:
    assert problems_of(definition) == expected


# -- Retry and Catch shapes ----------------------------------------------------------------

RETRY_CATCH_CASES: list[tuple[str, Any, set[tuple[str, str]]]] = [
    (
        "every bad retrier field",
        _one(
            _task(
                Retry=[
                    {
                        "ErrorEquals": ["X"],
                        "MaxAttempts": -1,
                        "IntervalSeconds": 0,
                        "BackoffRate": 0.5,
                        "JitterStrategy": "SOME",
                        "MaxDelaySeconds": 0,
                        "Foo": 1,
                    }
                ]
            )
        ),
        {
            ("/States/A/Retry/0/MaxAttempts", "INVALID_VALUE"),
            ("/States/A/Retry/0/IntervalSeconds", "INVALID_VALUE"),
            ("/States/A/Retry/0/BackoffRate", "INVALID_VALUE"),
            ("/States/A/Retry/0/JitterStrategy", "INVALID_VALUE"),
            ("/States/A/Retry/0/MaxDelaySeconds", "INVALID_VALUE"),
            ("/States/A/Retry/0/Foo", "UNKNOWN_FIELD"),
        },
    ),
    (
        "MaxAttempts as a string, a retrier without ErrorEquals, an empty ErrorEquals",
        _one(_task(Retry=[{"ErrorEquals": ["X"], "MaxAttempts": "3"}, {}, {"ErrorEquals": []}])),
        {
            ("/States/A/Retry/0/MaxAttempts", "INVALID_TYPE"),
            ("/States/A/Retry/1", "MISSING_FIELD"),
            ("/States/A/Retry/2/ErrorEquals", "INVALID_TYPE"),
        },
    ),
    ("Retry not an array", _one(_task(Retry={})), {("/States/A/Retry", "INVALID_TYPE")}),
    ("a retrier that is not an object", _one(_task(Retry=["X"])), {("/States/A/Retry/0", "INVALID_TYPE")}),
    (
        "States.ALL in a retrier that is not the last",
        _one(_task(Retry=[{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}])),
        {("/States/A/Retry/0/ErrorEquals", "INVALID_VALUE")},
    ),
    (
        "States.ALL together with another error name",
        _one(_task(Retry=[{"ErrorEquals": ["States.ALL", "X"]}])),
        {("/States/A/Retry/0/ErrorEquals", "INVALID_VALUE")},
    ),
    (
        "States.ALL in a catcher that is not the last",
        {
            "StartAt": "A",
            "States": {
                "A": _task(
                    Catch=[{"ErrorEquals": ["States.ALL"], "Next": "B"}, {"ErrorEquals": ["X"], "Next": "B"}]
                ),
                "B": _end(),
            },
        },
        {("/States/A/Catch/0/ErrorEquals", "INVALID_VALUE")},
    ),
    (
        "a catcher without Next",
        _one(_task(Catch=[{"ErrorEquals": ["X"]}])),
        {("/States/A/Catch/0", "MISSING_FIELD")},
    ),
    (
        "an unknown catcher field and a bad catcher ResultPath",
        {
            "StartAt": "A",
            "States": {
                "A": _task(Catch=[{"ErrorEquals": ["X"], "Next": "B", "Foo": 1, "ResultPath": "nope"}]),
                "B": _end(),
            },
        },
        {("/States/A/Catch/0/Foo", "UNKNOWN_FIELD"), ("/States/A/Catch/0/ResultPath", "INVALID_PATH")},
    ),
    ("Catch not an array", _one(_task(Catch={})), {("/States/A/Catch", "INVALID_TYPE")}),
]


@pytest.mark.parametrize(
    ("definition", "expected"), [c[1:] for c in RETRY_CATCH_CASES], ids=[c[0] for c in RETRY_CATCH_CASES]
)
def test_retry_and_catch_problems_are_reported_with_their_location(
    definition: Any, expected: set[tuple[str, str]]
) -> None:
    assert problems_of(definition) == expected


# -- Choice rules --------------------------------------------------------------------------

CHOICE_CASES: list[tuple[str, Any, set[tuple[str, str]]]] = [
    (
        "a top-level rule without Next",
        _choice({"Variable": "$.a", "StringEquals": "x"}),
        {("/States/C/Choices/0", "MISSING_FIELD")},
    ),
    (
        "two comparison operators in one rule",
        _choice({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "D"}),
        {("/States/C/Choices/0", "INVALID_RULE")},
    ),
    (
        "And that is not an array",
        _choice({"And": {"Variable": "$.a"}, "Next": "D"}),
        {("/States/C/Choices/0/And", "INVALID_TYPE")},
    ),
    ("an empty And", _choice({"And": [], "Next": "D"}), {("/States/C/Choices/0/And", "INVALID_TYPE")}),
    (
        "a combinator mixed with a comparison",
        _choice({"Not": {"Variable": "$.a", "IsNull": True}, "Variable": "$.a", "Next": "D"}),
        {("/States/C/Choices/0", "INVALID_RULE")},
    ),
    (
        "IsPresent with a non-boolean inside Not",
        _choice({"Not": {"Variable": "$.a", "IsPresent": "yes"}, "Next": "D"}),
        {("/States/C/Choices/0/Not/IsPresent", "INVALID_TYPE")},
    ),
    (
        "a ...Path comparator with a bad path and a Numeric comparator with a string, inside Or",
        _choice(
            {
                "Or": [
                    {"Variable": "$.a", "StringEqualsPath": "nope"},
                    {"Variable": "$.a", "NumericEquals": "1"},
                ],
                "Next": "D",
            }
        ),
        {
            ("/States/C/Choices/0/Or/0/StringEqualsPath", "INVALID_PATH"),
            ("/States/C/Choices/0/Or/1/NumericEquals", "INVALID_TYPE"),
        },
    ),
    (
        "a nested rule with a Next",
        _choice({"And": [{"Variable": "$.a", "IsString": True, "Next": "D"}], "Next": "D"}),
        {("/States/C/Choices/0/And/0/Next", "UNKNOWN_FIELD")},
    ),
    (
        "a Timestamp comparator with a value that is not a timestamp",
        _choice({"Variable": "$.a", "TimestampEquals": "yesterday", "Next": "D"}),
        {("/States/C/Choices/0/TimestampEquals", "INVALID_VALUE")},
    ),
    (
        "BooleanEquals with a number",
        _choice({"Variable": "$.a", "BooleanEquals": 1, "Next": "D"}),
        {("/States/C/Choices/0/BooleanEquals", "INVALID_TYPE")},
    ),
    (
        "a comparison without Variable",
        _choice({"StringEquals": "x", "Next": "D"}),
        {("/States/C/Choices/0", "MISSING_FIELD")},
    ),
    (
        "an unknown operator",
        _choice({"Variable": "$.a", "Bogus": 1, "Next": "D"}),
        {("/States/C/Choices/0", "INVALID_RULE"), ("/States/C/Choices/0/Bogus", "UNKNOWN_FIELD")},
    ),
    (
        "a Variable that is not a path",
        _choice({"Variable": "a", "IsNull": True, "Next": "D"}),
        {("/States/C/Choices/0/Variable", "INVALID_PATH")},
    ),
    (
        "no Choices",
        {"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [], "Default": "D"}, "D": _end()}},
        {("/States/C/Choices", "MISSING_FIELD")},
    ),
]


@pytest.mark.parametrize(
    ("definition", "expected"), [c[1:] for c in CHOICE_CASES], ids=[c[0] for c in CHOICE_CASES]
)
def test_choice_rule_problems_are_reported_with_their_location(
    definition: Any, expected: set[tuple[str, str]]
) -> None:
    assert problems_of(definition) == expected


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.a", "NumericLessThanPath": "$.b"},
        {"Variable": "$.a", "StringEqualsPath": "$$.Execution.Name"},
        {"Variable": "$.a", "TimestampGreaterThanEqualsPath": "$.b"},
        {"Variable": "$.a", "BooleanEqualsPath": "$.b"},
        {"Variable": "$.a", "IsPresent": False},
        {"Variable": "$.a", "StringMatches": "log-*.txt"},
        {"Not": {"Variable": "$.a", "IsNull": True}},
        {"And": [{"Variable": "$.a", "IsNumeric": True}, {"Or": [{"Variable": "$.a", "NumericEquals": 1}]}]},
    ],
)
def test_well_formed_choice_rules_are_accepted(rule: dict[str, Any]) -> None:
    machine = parse_definition(_choice({**rule, "Next": "D"}))
    state = machine.states["C"]
    assert isinstance(state, ChoiceState)
    assert [r.next for r in state.choices] == ["D"]


# -- paths and intrinsics --------------------------------------------------------------------


def test_bad_paths_are_reported_per_field() -> None:
    definition = _one(
        {"Type": "Pass", "InputPath": "foo", "ResultPath": "$.a[*]", "OutputPath": 3, "End": True}
    )
    assert problems_of(definition) == {
        ("/States/A/InputPath", "INVALID_PATH"),
        ("/States/A/ResultPath", "INVALID_PATH"),
        ("/States/A/OutputPath", "INVALID_TYPE"),
    }


def test_bad_dynamic_parameters_and_intrinsics_are_reported_at_their_key() -> None:
    definition = _one(
        {
            "Type": "Pass",
            "Parameters": {
                "x.$": "nope",
                "y.$": "States.Format(",
                "z.$": "States.Nope()",
                "w.$": 5,
                "nested": {"v.$": "$..a["},
            },
            "End": True,
        }
    )
    found = problems_of(definition)
    assert {loc for loc, _ in found} == {
        "/States/A/Parameters/x.$",
        "/States/A/Parameters/y.$",
        "/States/A/Parameters/z.$",
        "/States/A/Parameters/w.$",
        "/States/A/Parameters/nested/v.$",
    }
    assert ("/States/A/Parameters/z.$", "INVALID_INTRINSIC") in found
    assert ("/States/A/Parameters/x.$", "INVALID_PATH") in found


# -- Map and Parallel scoping ------------------------------------------------------------------


def test_a_parallel_branch_cannot_point_at_an_outer_state() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Next": "Out"}}}],
                "Next": "Out",
            },
            "Out": _end(),
        },
    }
    assert problems_of(definition) == {("/States/P/Branches/0/States/B1/Next", "MISSING_TARGET")}


def test_an_outer_state_cannot_point_into_a_parallel_branch() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "B1", "States": {"B1": _end()}}], "Next": "B1"}
        },
    }
    assert problems_of(definition) == {("/States/P/Next", "MISSING_TARGET")}


def test_a_map_processor_is_validated_as_its_own_state_machine() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "I",
                    "States": {"I": {"Type": "Pass", "Next": "After", "Foo": 1}, "J": _end()},
                },
                "Next": "After",
            },
            "After": _end(),
        },
    }
    assert problems_of(definition) == {
        ("/States/M/ItemProcessor/States/I/Foo", "UNKNOWN_FIELD"),
        ("/States/M/ItemProcessor/States/I/Next", "MISSING_TARGET"),
        ("/States/M/ItemProcessor/States/J", "UNREACHABLE_STATE"),
    }


def test_the_legacy_iterator_field_is_validated_at_its_own_location() -> None:
    definition = _one(
        {"Type": "Map", "Iterator": {"StartAt": "Missing", "States": {"I": _end()}}, "End": True}
    )
    assert problems_of(definition) == {
        ("/States/A/Iterator/StartAt", "MISSING_TARGET"),
    }


def test_problems_in_a_nested_branch_inside_a_map_carry_the_full_location() -> None:
    inner = {"StartAt": "X", "States": {"X": {"Type": "Wait", "End": True}}}
    definition = _one(
        {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "P",
                "States": {"P": {"Type": "Parallel", "Branches": [inner], "End": True}},
            },
            "End": True,
        }
    )
    assert problems_of(definition) == {
        ("/States/A/ItemProcessor/States/P/Branches/0/States/X", "INVALID_WAIT")
    }


# -- resources, against a registry ---------------------------------------------------------------


def test_an_unknown_resource_is_a_problem_when_a_registry_is_given(registry: ExecutorRegistry) -> None:
    definition = _one({"Type": "Task", "Resource": "arn:aws:states:::nope:act", "End": True})
    assert problems_of(definition, registry) == {("/States/A/Resource", "UNKNOWN_RESOURCE")}


def test_an_unknown_resource_is_accepted_without_a_registry() -> None:
    machine = parse_definition(_one({"Type": "Task", "Resource": "arn:aws:states:::nope:act", "End": True}))
    assert isinstance(machine.states["A"], TaskState)


def test_an_unsupported_integration_pattern_is_an_unknown_resource(registry: ExecutorRegistry) -> None:
    definition = _one(_task(Resource=LAMBDA + ".sync"))
    assert problems_of(definition, registry) == {("/States/A/Resource", "UNKNOWN_RESOURCE")}


def test_an_executor_checks_its_parameters_at_validation_time(registry: ExecutorRegistry) -> None:
    definition = _one(_task(Parameters={"Payload": {}}))
    assert problems_of(definition, registry) == {("/States/A/Parameters", "INVALID_PARAMETER")}


def test_a_dynamic_function_name_satisfies_the_parameter_check(registry: ExecutorRegistry) -> None:
    machine = parse_definition(_one(_task(Parameters={"FunctionName.$": "$.fn"})), registry=registry)
    assert isinstance(machine.states["A"], TaskState)


# -- query languages -------------------------------------------------------------------------------


def test_jsonpath_only_fields_are_refused_in_a_jsonata_state() -> None:
    definition = _one(
        {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "InputPath": "$",
            "Parameters": {},
            "ResultPath": "$.x",
            "OutputPath": "$",
            "End": True,
        }
    )
    assert problems_of(definition) == {
        ("/States/A/InputPath", "JSONPATH_FIELD_IN_JSONATA"),
        ("/States/A/Parameters", "JSONPATH_FIELD_IN_JSONATA"),
        ("/States/A/ResultPath", "JSONPATH_FIELD_IN_JSONATA"),
        ("/States/A/OutputPath", "JSONPATH_FIELD_IN_JSONATA"),
    }


def test_result_selector_is_refused_in_a_jsonata_task_and_arguments_in_a_jsonpath_task() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "QueryLanguage": "JSONata",
                "Resource": LAMBDA,
                "ResultSelector": {},
                "Next": "B",
            },
            "B": {"Type": "Task", "Resource": LAMBDA, "Arguments": {"FunctionName": "f"}, "End": True},
        },
    }
    assert problems_of(definition) == {
        ("/States/A/ResultSelector", "JSONPATH_FIELD_IN_JSONATA"),
        ("/States/B/Arguments", "JSONATA_FIELD_IN_JSONPATH"),
    }


def test_a_jsonata_machine_cannot_hold_a_jsonpath_state() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}},
    }
    assert problems_of(definition) == {("/States/A/QueryLanguage", "INVALID_VALUE")}


def test_a_jsonpath_machine_may_hold_a_jsonata_state() -> None:
    machine = parse_definition(
        _one({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input %}", "End": True})
    )
    assert machine.states["A"].query_language == "JSONata"
    assert machine.query_language == "JSONPath"


def test_a_reference_to_a_variable_never_assigned_is_a_problem() -> None:
    definition = _one({"Type": "Pass", "Parameters": {"x.$": "$undefined"}, "End": True})
    assert problems_of(definition) == {("/States/A/Parameters/x.$", "UNDEFINED_VARIABLE")}


def test_a_variable_assigned_by_an_earlier_state_may_be_referenced() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"count": 1}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"c.$": "$count"}, "End": True},
        },
    }
    assert parse_definition(definition).start_at == "A"


@pytest.mark.parametrize("name", ["1x", "a-b", "states"])
def test_assign_refuses_bad_and_reserved_variable_names(name: str) -> None:
    found = problems_of(_one({"Type": "Pass", "Assign": {name: 1}, "End": True}))
    assert {loc for loc, _ in found} == {f"/States/A/Assign/{name}"}
    assert found & {
        (f"/States/A/Assign/{name}", "INVALID_VARIABLE_NAME"),
        (f"/States/A/Assign/{name}", "RESERVED_VARIABLE"),
    }


# -- the exception and the model -----------------------------------------------------------------


def test_malformed_json_text_is_an_invalid_definition_at_the_root() -> None:
    assert problems_of('{"StartAt": ') == {("", "INVALID_JSON")}


def test_a_definition_that_is_not_an_object_is_an_invalid_definition() -> None:
    assert problems_of("[1, 2]") == {("", "INVALID_TYPE")}


def test_every_problem_is_listed_not_only_the_first() -> None:
    definition = {
        "StartAt": "A",
        "Extra": True,
        "States": {"A": {"Type": "Pass", "Next": "Nowhere", "Bogus": 1}, "B": {"Type": "Wait", "End": True}},
    }
    with pytest.raises(InvalidDefinition) as info:
        parse_definition(definition)
    exc = info.value
    assert len(exc.problems) == 5
    text = str(exc)
    assert "(5 problems)" in text
    for p in exc.problems:
        assert str(p) in text


def test_a_problem_renders_location_message_and_code() -> None:
    assert str(Problem("/States/A/Next", "MISSING_TARGET", "'Next' names no state: 'Z'")) == (
        "/States/A/Next: 'Next' names no state: 'Z' [MISSING_TARGET]"
    )
    assert str(Problem("", "INVALID_JSON", "bad")).startswith("/: bad")


def test_json_text_and_bytes_parse_to_the_same_machine_as_the_dict() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "End": True}},
    }
    from_dict = parse_definition(definition)
    from_text = parse_definition(orjson.dumps(definition).decode())
    from_bytes = parse_definition(orjson.dumps(definition))
    for m in (from_text, from_bytes):
        assert m.start_at == from_dict.start_at
        assert m.states.keys() == from_dict.states.keys()
        a = m.states["A"]
        assert isinstance(a, PassState)
        assert a.result == {"x": 1}
        assert a.has_result


def test_the_parsed_machine_is_typed_and_immutable() -> None:
    definition = {
        "StartAt": "T",
        "TimeoutSeconds": 30,
        "Comment": "demo",
        "States": {
            "T": {"Type": "Task", "Resource": LAMBDA, "Retry": [{"ErrorEquals": ["X"]}], "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {"B": _end()}}], "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": _end()}},
                "MaxConcurrency": 2,
                "End": True,
            },
        },
    }
    machine = parse_definition(definition)
    assert isinstance(machine, StateMachine)
    assert machine.timeout_seconds == 30
    assert machine.comment == "demo"
    task = machine.states["T"]
    assert isinstance(task, TaskState)
    assert task.next == "P"
    (retrier,) = task.retry
    # AWS's defaults for an entry that gives only ErrorEquals.
    assert (retrier.interval_seconds, retrier.max_attempts, retrier.backoff_rate, retrier.jitter_full) == (
        1.0,
        3,
        2.0,
        False,
    )
    parallel = machine.states["P"]
    assert isinstance(parallel, ParallelState)
    assert parallel.branches[0].start_at == "B"
    map_state = machine.states["M"]
    assert isinstance(map_state, MapState)
    assert map_state.max_concurrency == 2
    assert map_state.processor.start_at == "I"
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.next = "M"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        machine.start_at = "P"  # type: ignore[misc]


def test_invalid_definition_is_not_a_states_error() -> None:
    """Retry and Catch match StatesError by name; a definition problem must never be matchable."""
    from engine import StatesError

    assert not issubclass(InvalidDefinition, StatesError)


def test_a_wrong_start_at_and_a_missing_next_are_both_reported() -> None:
    with pytest.raises(InvalidDefinition) as info:
        parse_definition({"StartAt": "X", "States": {"A": {"Type": "Pass", "Next": "Z"}}})
    assert sorted((p.location, p.code) for p in info.value.problems) == [
        ("/StartAt", "MISSING_TARGET"),
        ("/States/A/Next", "MISSING_TARGET"),
    ]
    assert "(2 problems)" in str(info.value)


def test_one_problem_is_one_problem() -> None:
    with pytest.raises(InvalidDefinition, match=r"\(1 problem\)"):
        parse_definition({"StartAt": "X", "States": {"A": {"Type": "Pass", "End": True}}})
