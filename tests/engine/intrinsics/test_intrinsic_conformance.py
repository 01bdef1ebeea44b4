"""Whole intrinsic expressions taken from the AWS-recorded conformance corpus.

Each row is an expression from a recorded case, the value ``$`` had when AWS
evaluated it (the case input, or the Parameters' input), and the value AWS
produced. Context values stand in for the placeholders the recorder wrote.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from engine.intrinsics import compile_intrinsic
from engine.scope import Scope

CONTEXT: dict[str, Any] = {
    "Execution": {"Name": "exec-1", "Input": {"input_field": {"constant_input_field": "constant_value"}}},
    "StateMachine": {"Id": "arn:aws:states:us-east-1:111111111111:stateMachine:Machine", "Name": "Machine"},
    "Map": {"Item": {"Value": "Pikachu", "Index": 1}},
}

CASES: list[tuple[str, str, Any, dict[str, Any], Any]] = [
    # (case id, expression, $ value, variables, expected)
    (
        "assign_from_value[BASE_ASSIGN_FROM_INTRINSIC_FUNCTION]",
        "States.Format('Hello {}, welcome to {}!', $.name, $.place)",
        {"name": "John", "place": "LocalStack"},
        {},
        "Hello John, welcome to LocalStack!",
    ),
    (
        "reference_assign[BASE_REFERENCE_IN_INTRINSIC_FUNCTION]",
        "States.Hash($inputString, 'SHA-256')",
        {},
        {"inputString": "Hash this string"},
        "1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e",
    ),
    (
        "reference_assign[BASE_REFERENCE_IN_INTRINSIC_FUNCTION]",
        "States.JsonMerge($json1, $json2, false)",
        {},
        {"json1": {"a": 1, "b": 2}, "json2": {"c": 3, "d": 4}},
        {"a": 1, "b": 2, "c": 3, "d": 4},
    ),
    (
        "reference_assign[BASE_REFERENCE_IN_INTRINSIC_FUNCTION]",
        "States.JsonToString($jsonObject)",
        {},
        {"jsonObject": {"test": "object"}},
        '{"test":"object"}',
    ),
    (
        "reference_assign[BASE_REFERENCE_IN_INTRINSIC_FUNCTION]",
        "States.StringSplit($csvString, ',')",
        {},
        {"csvString": "a,b,c,d,e"},
        ["a", "b", "c", "d", "e"],
    ),
    (
        "reference_assign[BASE_REFERENCE_IN_INTRINSIC_FUNCTION]",
        "States.Base64Decode($encodedString)",
        {},
        {"encodedString": "SGVsbG8gV29ybGQ="},
        "Hello World",
    ),
    (
        "reference_assign[BASE_REFERENCE_IN_ITERATOR_OUTER_SCOPE]",
        "States.MathAdd(States.MathAdd(States.MathAdd($yCurrent, $xCurrent), $zCurrent), $bias)",
        {},
        {"xCurrent": 9, "yCurrent": 44, "zCurrent": 6, "bias": 4.3},
        63,
    ),
    (
        "reference_in_map_state[MAP_STATE_REFERENCE_IN_INTRINSIC_FUNCTION]",
        "States.Format($AnswerTemplate, $$.Map.Item.Value)",
        {},
        {"AnswerTemplate": "It's {}!"},
        "It's Pikachu!",
    ),
    (
        "state_fail_intrinsic",
        "States.Format('This is a custom error message for {}, caused by {}.', $.Error, $.Cause)",
        {"Error": "error string", "Cause": "cause string"},
        {},
        "This is a custom error message for error string, caused by cause string.",
    ),
    ("array_0", "States.Array()", {"FunctionInput": "HelloWorld"}, {}, []),
    (
        "array_2#exec_hist_resp_7",
        "States.Array($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": {"Arg1": 1, "Arg2": []}, "snd": {"Arg1": 1, "Arg2": []}}},
        {},
        [{"Arg1": 1, "Arg2": []}, {"Arg1": 1, "Arg2": []}],
    ),
    (
        "context_json_path#exec_hist_resp_0",
        "States.Format('Formatting arguments fst={} and snd={}.', $$.Execution.Name, $$.StateMachine)",
        {"FunctionInput": None},
        {},
        "Formatting arguments fst=exec-1 and snd="
        "{Id=arn:aws:states:us-east-1:111111111111:stateMachine:Machine, Name=Machine}.",
    ),
    (
        "escape_sequence#exec_hist_resp_0",
        "States.StringSplit('Hello\nWorld', '\n')",
        {"FunctionInput": None},
        {},
        ["Hello", "World"],
    ),
    (
        "nested_calls_1#exec_hist_resp_0",
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)",
        {"FunctionInput": None},
        {},
        "Machine",
    ),
    (
        "nested_calls_2#exec_hist_resp_0",
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), "
        "States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
        {"FunctionInput": None},
        {},
        "Machine",
    ),
    (
        "json_merge_escaped_argument",
        'States.JsonMerge(States.StringToJson(\'{"constant_in_literal": "false"}\'), '
        "$$.Execution.Input.input_field, false)",
        {"input_field": {"constant_input_field": "constant_value"}},
        {},
        {"constant_input_field": "constant_value", "constant_in_literal": "false"},
    ),
    (
        "map_state_legacy_reentrant",
        "States.ArrayRange(0, 3, 1)",
        {},
        {},
        [0, 1, 2, 3],
    ),
    ("map_state_legacy_reentrant", "States.MathAdd($.Iterations, -1)", {"Iterations": 1}, {}, 0),
    (
        "assign_from_value[BASE_ASSIGN_FROM_INTRINSIC_FUNCTION]",
        "States.ArrayPartition($.inputArray, 2)",
        {"inputArray": [1, 2, 3, 4, 5, 6]},
        {},
        [[1, 2], [3, 4], [5, 6]],
    ),
    (
        "assign_from_value[BASE_ASSIGN_FROM_INTRINSIC_FUNCTION]",
        "States.ArrayRange(1, 10, 2)",
        {},
        {},
        [1, 3, 5, 7, 9],
    ),
    (
        "assign_from_value[BASE_ASSIGN_FROM_INTRINSIC_FUNCTION]",
        "States.ArrayGetItem($.inputArray, 2)",
        {"inputArray": [1, 2, 3, 4, 5, 6]},
        {},
        3,
    ),
    (
        "assign_from_value[BASE_ASSIGN_FROM_INTRINSIC_FUNCTION]",
        "States.ArrayUnique($.duplicateArray)",
        {"duplicateArray": [1, 2, 2, 3, 3, 4]},
        {},
        [1, 2, 3, 4],
    ),
    (
        "assign_from_value[BASE_ASSIGN_FROM_INTRINSIC_FUNCTION]",
        "States.ArrayContains($.inputArray, 5)",
        {"inputArray": [1, 2, 3, 4, 5, 6]},
        {},
        True,
    ),
    (
        "array_unique#exec_hist_resp_0",
        "States.ArrayLength($.FunctionInput)",
        {
            "FunctionInput": [
                None,
                None,
                True,
                True,
                False,
                False,
                1,
                1,
                1.1,
                0,
                0,
                "HelloWorld",
                "HelloWorld",
                [],
                [],
                [None],
                [None],
                {"a": 1, "b": 2},
                {"a": 1, "b": 2},
                {"a": 1, "b": 1},
            ]
        },
        {},
        20,
    ),
]


@pytest.mark.parametrize(
    ("expression", "value", "variables", "expected"),
    [
        pytest.param(expr, value, variables, expected, id=case_id)
        for case_id, expr, value, variables, expected in CASES
    ],
)
def test_expression_gives_the_value_aws_recorded(
    expression: str, value: Any, variables: dict[str, Any], expected: Any
) -> None:
    scope = Scope(input=value, context=CONTEXT, variables=variables, rng=random.Random(0))
    assert compile_intrinsic(expression).evaluate(scope) == expected


def test_uuid_in_assign_is_a_uuid_string() -> None:
    # AWS: reference_assign records "<uuid:1>" for States.UUID().
    out = compile_intrinsic("States.UUID()").evaluate(Scope(input={}, rng=random.Random(0)))
    assert isinstance(out, str) and len(out) == 36 and out[14] == "4"
