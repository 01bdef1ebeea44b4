"""Choice states: every comparison operator, the combinators, type tests and the fall-through."""

from __future__ import annotations

from typing import Any

import pytest


def _choice(rule: dict[str, Any], **state: Any) -> dict[str, Any]:
    return {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}], "Default": "No", **state},
            "Yes": {"Type": "Pass", "Result": "yes", "End": True},
            "No": {"Type": "Pass", "Result": "no", "End": True},
        },
    }


CASES: list[tuple[dict[str, Any], Any, str]] = [
    ({"Variable": "$.v", "StringEquals": "a"}, {"v": "a"}, "yes"),
    ({"Variable": "$.v", "StringEquals": "a"}, {"v": "b"}, "no"),
    ({"Variable": "$.v", "StringLessThan": "b"}, {"v": "a"}, "yes"),
    ({"Variable": "$.v", "StringGreaterThanEquals": "b"}, {"v": "b"}, "yes"),
    ({"Variable": "$.v", "StringEquals": "1"}, {"v": 1}, "no"),  # the wrong type never matches
    ({"Variable": "$.v", "NumericEquals": 1}, {"v": 1.0}, "yes"),
    ({"Variable": "$.v", "NumericLessThan": 1}, {"v": 0.5}, "yes"),
    ({"Variable": "$.v", "NumericGreaterThan": 1}, {"v": 1}, "no"),
    ({"Variable": "$.v", "NumericLessThanEquals": 1}, {"v": 1}, "yes"),
    ({"Variable": "$.v", "NumericEquals": 1}, {"v": "1"}, "no"),
    ({"Variable": "$.v", "NumericEquals": 1}, {"v": True}, "no"),
    ({"Variable": "$.v", "BooleanEquals": False}, {"v": False}, "yes"),
    ({"Variable": "$.v", "BooleanEquals": False}, {"v": 0}, "no"),
    (
        {"Variable": "$.v", "TimestampEquals": "2024-01-01T00:00:00Z"},
        {"v": "2024-01-01T01:00:00+01:00"},
        "yes",
    ),
    ({"Variable": "$.v", "TimestampLessThan": "2024-01-01T00:00:00Z"}, {"v": "2023-12-31T23:59:59Z"}, "yes"),
    ({"Variable": "$.v", "TimestampGreaterThan": "2024-01-01T00:00:00Z"}, {"v": "not a time"}, "no"),
    ({"Variable": "$.v", "StringMatches": "log-*.txt"}, {"v": "log-2024.txt"}, "yes"),
    ({"Variable": "$.v", "StringMatches": "log-*.txt"}, {"v": "log-2024.csv"}, "no"),
    ({"Variable": "$.v", "StringMatches": "a\\*b"}, {"v": "a*b"}, "yes"),
    ({"Variable": "$.v", "StringMatches": "a\\*b"}, {"v": "axb"}, "no"),
    ({"Variable": "$.a", "StringEqualsPath": "$.b"}, {"a": "x", "b": "x"}, "yes"),
    ({"Variable": "$.a", "NumericGreaterThanPath": "$.b"}, {"a": 3, "b": 2}, "yes"),
    ({"Variable": "$.a", "NumericGreaterThanPath": "$.b"}, {"a": 2, "b": 3}, "no"),
    ({"Variable": "$.a", "BooleanEqualsPath": "$.b"}, {"a": True, "b": True}, "yes"),
    (
        {"Variable": "$.a", "TimestampLessThanEqualsPath": "$.b"},
        {"a": "2024-01-01T00:00:00Z", "b": "2024-01-01T00:00:00Z"},
        "yes",
    ),
    ({"Variable": "$.v", "IsPresent": True}, {"v": None}, "yes"),
    ({"Variable": "$.v", "IsPresent": True}, {}, "no"),
    ({"Variable": "$.v", "IsPresent": False}, {}, "yes"),
    ({"Variable": "$.v", "IsNull": True}, {"v": None}, "yes"),
    ({"Variable": "$.v", "IsNull": True}, {}, "no"),  # a type test on a missing path is false, not an error
    ({"Variable": "$.v", "IsNumeric": True}, {"v": 2}, "yes"),
    ({"Variable": "$.v", "IsNumeric": True}, {"v": False}, "no"),
    ({"Variable": "$.v", "IsString": False}, {"v": 2}, "yes"),
    ({"Variable": "$.v", "IsBoolean": True}, {"v": True}, "yes"),
    ({"Variable": "$.v", "IsTimestamp": True}, {"v": "2024-01-01T00:00:00Z"}, "yes"),
    ({"Variable": "$.v", "IsTimestamp": True}, {"v": "2024-01-01"}, "no"),
    (
        {"And": [{"Variable": "$.a", "NumericGreaterThan": 0}, {"Variable": "$.b", "StringEquals": "x"}]},
        {"a": 1, "b": "x"},
        "yes",
    ),
    (
        {"And": [{"Variable": "$.a", "NumericGreaterThan": 0}, {"Variable": "$.b", "StringEquals": "x"}]},
        {"a": 1, "b": "y"},
        "no",
    ),
    (
        {"Or": [{"Variable": "$.a", "NumericGreaterThan": 5}, {"Variable": "$.b", "StringEquals": "x"}]},
        {"a": 1, "b": "x"},
        "yes",
    ),
    ({"Not": {"Variable": "$.a", "StringEquals": "x"}}, {"a": "y"}, "yes"),
    ({"Not": {"Variable": "$.a", "IsPresent": True}}, {}, "yes"),
    ({"Variable": "$$.Execution.Input.v", "StringEquals": "ctx"}, {"v": "ctx"}, "yes"),
]


@pytest.mark.parametrize(
    ("rule", "data", "branch"),
    [c for c in CASES],
    ids=[f"{i}-{next(iter(c[0]))}" for i, c in enumerate(CASES)],
)
async def test_a_choice_rule_picks_its_branch(
    harness: Any, rule: dict[str, Any], data: Any, branch: str
) -> None:
    result = await harness.run(_choice(rule), data)
    assert result.status == "SUCCEEDED"
    assert result.output == branch


async def test_the_first_matching_rule_wins(harness: Any) -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
                    {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Small"},
                    {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"},
                ],
            },
            "Big": {"Type": "Pass", "Result": "big", "End": True},
            "Small": {"Type": "Pass", "Result": "small", "End": True},
        },
    }
    assert (await harness.run(definition, {"n": 5})).output == "small"
    assert (await harness.run(definition, {"n": 50})).output == "big"


async def test_no_match_without_default_fails_with_no_choice_matched(harness: Any) -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.v", "StringEquals": "a", "Next": "Done"}]},
            "Done": {"Type": "Succeed"},
        },
    }
    result = await harness.run(definition, {"v": "c"})
    assert result.status == "FAILED"
    assert result.error == "States.NoChoiceMatched"
    assert result.cause is not None and "'C'" in result.cause


async def test_a_comparison_on_a_missing_variable_fails_with_states_runtime(harness: Any) -> None:
    result = await harness.run(_choice({"Variable": "$.missing", "StringEquals": "a"}), {"v": 1})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause is not None and "$.missing" in result.cause


async def test_a_choice_passes_its_input_through_input_and_output_path(harness: Any) -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "InputPath": "$.inner",
                "OutputPath": "$.keep",
                "Choices": [{"Variable": "$.flag", "BooleanEquals": True, "Next": "Done"}],
            },
            "Done": {"Type": "Succeed"},
        },
    }
    result = await harness.run(definition, {"inner": {"flag": True, "keep": {"k": 1}}, "outer": 0})
    assert result.output == {"k": 1}
    assert result.history.types == [
        "ExecutionStarted",
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]


async def test_a_choice_loop_runs_until_its_condition_changes(harness: Any) -> None:
    definition = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 3, "Next": "Done"}],
                "Default": "Inc",
            },
            "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Check"},
            "Done": {"Type": "Succeed"},
        },
    }
    result = await harness.run(definition, {"n": 0})
    assert result.output == {"n": 3}
    assert result.history.types.count("ChoiceStateEntered") == 4
