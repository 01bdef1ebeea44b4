"""Tests of OrderPipeline.json with statewright's pytest plugin: mocked services, virtual time.

Run them with ``python -m pytest examples/testing``. ``statewright_engine`` is
an engine on virtual time (the hour-long Wait takes no time) whose mock
configuration is this folder's ``MockConfigFile.json`` (see the fixture
below).
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from statewright import Engine, lambda_executor
from statewright.testing import assert_error_caught, assert_states_visited

HERE = Path(__file__).parent
DEFINITION = (HERE / "OrderPipeline.json").read_text()


@pytest.fixture
def statewright_mock_config() -> Path:
    return HERE / "MockConfigFile.json"


async def run(engine: Engine, test_case: str, order: Any = None) -> Any:
    return await engine.run(
        DEFINITION, order or {"id": "o-1"}, state_machine_name="OrderPipeline", test_case=test_case
    )


async def test_happy_path_queues_every_item_and_holds_the_order_an_hour(statewright_engine: Engine) -> None:
    result = await run(statewright_engine, "HappyPath")
    assert result.status == "SUCCEEDED"
    assert result.output["messages"] == [
        {"messageId": "msg-0"},
        {"messageId": "msg-1"},
        {"messageId": "msg-n"},
    ]
    assert_states_visited(
        result,
        ["ValidateOrder", "QueueItems", "SendItem", "SendItem", "SendItem", "HoldForPickup", "Shipped"],
        exact=True,
    )
    waited = (
        next(e for e in result.history if e.type == "WaitStateExited").time
        - next(e for e in result.history if e.type == "WaitStateEntered").time
    )
    assert waited == timedelta(hours=1)


async def test_retry_path_retries_the_throttled_lambda_with_back_off(statewright_engine: Engine) -> None:
    result = await run(statewright_engine, "RetryPath")
    assert result.status == "SUCCEEDED"
    attempts = [e.time for e in result.history if e.type == "TaskScheduled"][:3]
    assert [b - a for a, b in itertools.pairwise(attempts)] == [
        timedelta(seconds=2),
        timedelta(seconds=4),
    ]


async def test_an_invalid_order_is_caught_and_rejected(statewright_engine: Engine) -> None:
    result = await run(statewright_engine, "RejectedPath")
    assert (result.status, result.error) == ("FAILED", "OrderRejected")
    assert_error_caught(result, "ValidateOrder", "Order.Invalid", next_state="Rejected")


async def test_hybrid_path_runs_validation_as_a_local_function(statewright_engine: Engine) -> None:
    lambda_executor(statewright_engine.registry).add(
        "ValidateOrder", lambda order: {**order, "items": [{"sku": "kiwi"}]}
    )
    result = await run(statewright_engine, "HybridPath", {"id": "o-9"})
    assert result.status == "SUCCEEDED"
    assert result.output["order"] == {"id": "o-9", "items": [{"sku": "kiwi"}]}
    assert result.output["messages"] == [{"messageId": "msg-0"}]


async def test_the_validation_state_alone_with_test_state(statewright_engine: Engine) -> None:
    state = await statewright_engine.test_state(
        DEFINITION,
        {"id": "o-1"},
        state_name="ValidateOrder",
        inspection_level="DEBUG",
        mock={"errorOutput": {"error": "Lambda.TooManyRequestsException", "cause": "Rate exceeded"}},
    )
    assert state.status == "RETRIABLE"
    assert state.inspection_data is not None
    assert state.inspection_data["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 2}
