"""``statewright.testing``: assertions on histories, on real executions with mocked services."""

from __future__ import annotations

from typing import Any

import pytest

from engine import Engine, ExecutorRegistry
from engine.runtime.clock import ImmediateClock
from statewright.testing import assert_error_caught, assert_states_visited, states_visited

DEFINITION = {
    "StartAt": "Fetch",
    "States": {
        "Fetch": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "ResultPath": "$.fetched",
            "Retry": [{"ErrorEquals": ["DynamoDB.Throttled"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Fallback"}],
            "Next": "Each",
        },
        "Fallback": {"Type": "Pass", "Next": "Each"},
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Send",
                "States": {"Send": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True}},
            },
            "Catch": [{"ErrorEquals": ["SNS.Down"], "ResultPath": "$.mapError", "Next": "Done"}],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}
CONFIG = {
    "StateMachines": {
        "M": {
            "TestCases": {
                "RetriedThenOk": {"Fetch": "ThrottledOnce", "Send": "Sent"},
                "Caught": {"Fetch": "Broken", "Send": "Down"},
            }
        }
    },
    "MockedResponses": {
        "ThrottledOnce": {
            "0": {"Throw": {"Error": "DynamoDB.Throttled", "Cause": "slow"}},
            "1": {"Return": {}},
        },
        "Broken": {"0": {"Throw": {"Error": "DynamoDB.Broken", "Cause": "x"}}},
        "Sent": {"0-9": {"Return": {"MessageId": "m"}}},
        "Down": {"0-9": {"Throw": {"Error": "SNS.Down", "Cause": "y"}}},
    },
}


async def _run(test_case: str) -> Any:
    async with Engine(
        registry=ExecutorRegistry(), load_plugins=False, clock=ImmediateClock(), mock_config=CONFIG
    ) as e:
        return await e.run(DEFINITION, {"items": [1, 2]}, state_machine_name="M", test_case=test_case)


async def test_states_visited_lists_nested_states_in_history_order() -> None:
    result = await _run("RetriedThenOk")
    assert states_visited(result) == ["Fetch", "Each", "Send", "Send", "Done"]
    assert_states_visited(result, ["Fetch", "Done"])
    with pytest.raises(AssertionError, match="expected exactly"):
        assert_states_visited(result, ["Fetch", "Done"], exact=True)


async def test_a_retried_error_that_then_succeeds_is_not_caught() -> None:
    result = await _run("RetriedThenOk")
    with pytest.raises(AssertionError, match=r"no DynamoDB\.Throttled was caught in state 'Fetch'"):
        assert_error_caught(result, "Fetch", "DynamoDB.Throttled")


async def test_errors_caught_by_a_task_and_by_a_map_are_recognised_with_where_they_went() -> None:
    result = await _run("Caught")
    assert result.status == "SUCCEEDED"
    assert_error_caught(result, "Fetch", "DynamoDB.Broken", next_state="Fallback")
    assert_error_caught(result, "Each", "SNS.Down", next_state="Done")
    with pytest.raises(AssertionError, match="went to 'Fallback', not 'Each'"):
        assert_error_caught(result, "Fetch", "DynamoDB.Broken", next_state="Each")
