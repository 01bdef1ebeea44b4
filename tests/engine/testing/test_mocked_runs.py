"""Executions against a test case: mocked Tasks answer invocation by invocation, the rest run for real."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import anyio
import pytest

from engine import Engine, ExecutorRegistry, InvalidDefinition
from engine.runtime.clock import ImmediateClock
from engine.testing import InvalidMockConfig
from executors.local import register

DATA = Path(__file__).parent / "data"
DEFINITION = (DATA / "LambdaSQSIntegration.json").read_text()
CONFIG = DATA / "MockConfigFile.json"
NAME = "LambdaSQSIntegration"


def _engine(registry: ExecutorRegistry | None = None, config: Any = CONFIG) -> Engine:
    return Engine(
        registry=registry or ExecutorRegistry(),
        load_plugins=False,
        clock=ImmediateClock(),
        mock_config=config,
    )


def _types(result: Any) -> list[str]:
    return [e.type for e in result.history]


async def test_happy_path_runs_with_no_executor_for_lambda_or_sqs() -> None:
    async with _engine() as engine:
        result = await engine.run(DEFINITION, {"in": 1}, state_machine_name=NAME, test_case="HappyPath")
    assert result.status == "SUCCEEDED"
    assert result.output == {
        "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
        "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
    }
    sqs_entered = [e for e in result.history if e.type == "TaskStateEntered"][1]
    assert sqs_entered.details == {
        "name": "SQSState",
        "input": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}},
    }
    succeeded = [e for e in result.history if e.type == "TaskSucceeded"]
    assert succeeded[1].details is not None and succeeded[1].details["resourceType"] == "sqs"
    assert succeeded[1].details["resource"] == "sendMessage"


async def test_retry_path_takes_the_next_response_on_each_attempt_with_the_real_back_off() -> None:
    async with _engine() as engine:
        result = await engine.run(DEFINITION, {}, state_machine_name=NAME, test_case="RetryPath")
    assert result.status == "SUCCEEDED"
    failed = [e.details["error"] for e in result.history if e.type == "TaskFailed" and e.details]
    assert failed == [
        "Lambda.ResourceNotReadyException",
        "Lambda.TimeoutException",
        "Lambda.TimeoutException",
    ]
    scheduled = [e.timestamp for e in result.history if e.type == "TaskScheduled"][:4]
    # IntervalSeconds 2, BackoffRate 2: the attempts start 2, 4 and 8 seconds apart, in virtual time.
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(scheduled)]
    assert gaps == [2.0, 4.0, 8.0]


async def test_hybrid_path_runs_the_unmocked_state_on_its_real_executor() -> None:
    registry = ExecutorRegistry()
    sent: list[Any] = []

    async def send(call: Any, ctx: Any) -> Any:
        sent.append(call.parameters)
        return {"MessageId": "real-1"}

    from executors.local import CallableExecutor

    registry.register("arn:aws:states:::sqs:sendMessage", CallableExecutor(send))
    async with _engine(registry) as engine:
        result = await engine.run(DEFINITION, {}, state_machine_name=NAME, test_case="HybridPath")
    assert result.status == "SUCCEEDED"
    assert result.output == {"MessageId": "real-1"}
    assert sent[0]["MessageBody"] == {
        "StatusCode": 200,
        "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"},
    }


async def test_an_unmocked_state_without_executor_fails_validation_naming_state_and_resource() -> None:
    async with _engine() as engine:
        with pytest.raises(InvalidDefinition) as info:
            engine.start(DEFINITION, {}, state_machine_name=NAME, test_case="HybridPath")
    [problem] = info.value.problems
    assert problem.location == "/States/SQSState/Resource"
    assert "SQSState" in problem.message and "arn:aws:states:::sqs:sendMessage" in problem.message


async def test_an_unknown_test_case_or_missing_config_is_refused_before_anything_runs() -> None:
    async with _engine() as engine:
        with pytest.raises(InvalidMockConfig, match="no test case 'Nope'"):
            engine.start(DEFINITION, {}, state_machine_name=NAME, test_case="Nope")
        with pytest.raises(InvalidMockConfig, match="has no test cases"):
            engine.start(DEFINITION, {}, state_machine_name="Other", test_case="HappyPath")
    async with Engine(registry=ExecutorRegistry(), load_plugins=False) as engine:
        with pytest.raises(InvalidMockConfig, match="no mock configuration"):
            engine.start(DEFINITION, {}, state_machine_name=NAME, test_case="HappyPath")


async def test_test_case_states_missing_from_the_definition_are_reported() -> None:
    config = {
        "StateMachines": {NAME: {"TestCases": {"T": {"LambdaState": "R", "SQSState": "R", "Ghost": "R"}}}},
        "MockedResponses": {"R": {"0": {"Return": {}}}},
    }
    async with _engine(config=config) as engine:
        with pytest.raises(InvalidDefinition) as info:
            engine.start(DEFINITION, {}, state_machine_name=NAME, test_case="T")
    assert [p.location for p in info.value.problems] == [f"/StateMachines/{NAME}/TestCases/T/Ghost"]


MAP_MACHINE = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "MaxConcurrency": 1,
            "ItemProcessor": {
                "StartAt": "Work",
                "States": {
                    "Work": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": True}
                },
            },
            "Next": "Fork",
        },
        "Fork": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Left",
                    "States": {
                        "Left": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True}
                    },
                },
                {
                    "StartAt": "Right",
                    "States": {
                        "Right": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::ecs:runTask.sync",
                            "End": True,
                        }
                    },
                },
            ],
            "End": True,
        },
    },
}


async def test_map_iterations_and_parallel_branches_count_for_the_state_they_run() -> None:
    config = {
        "StateMachines": {"M": {"TestCases": {"T": {"Work": "Counted", "Left": "One", "Right": "One"}}}},
        "MockedResponses": {
            "Counted": {"0": {"Return": "first"}, "1-2": {"Return": "middle"}, "3": {"Return": "last"}},
            "One": {"0": {"Return": {"ok": True}}},
        },
    }
    async with _engine(config=config) as engine:
        result = await engine.run(MAP_MACHINE, [1, 2, 3, 4], state_machine_name="M", test_case="T")
    assert result.status == "SUCCEEDED"
    assert result.output == [{"ok": True}, {"ok": True}]
    map_exit = next(e for e in result.history if e.type == "MapStateExited")
    assert map_exit.details == {"name": "Each", "output": ["first", "middle", "middle", "last"]}


async def test_invocations_past_the_last_key_fail_the_execution_with_states_runtime() -> None:
    config = {
        "StateMachines": {"M": {"TestCases": {"T": {"Work": "Twice", "Left": "Twice", "Right": "Twice"}}}},
        "MockedResponses": {"Twice": {"0-1": {"Return": 1}}},
    }
    async with _engine(config=config) as engine:
        result = await engine.run(MAP_MACHINE, [1, 2, 3], state_machine_name="M", test_case="T")
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "invocation 2 of state 'Work'" in (result.cause or "")


async def test_a_mocked_result_goes_through_result_selector_result_path_output_path_and_the_size_guard() -> (
    None
):
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject.waitForTaskToken",
                "ResultSelector": {"body.$": "$.Body"},
                "ResultPath": "$.got",
                "OutputPath": "$.got",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    config = {
        "StateMachines": {"M": {"TestCases": {"Small": {"T": "Small"}, "Big": {"T": "Big"}}}},
        "MockedResponses": {
            "Small": {"0": {"Return": {"Body": "hello", "ETag": "x"}}},
            "Big": {"0": {"Return": {"Body": "x" * 300_000}}},
        },
    }
    # A mocked callback Task is answered by its mock at once (real seconds bound a regression that waits).
    with anyio.fail_after(10):
        async with _engine(config=config) as engine:
            small = await engine.run(definition, {"keep": 1}, state_machine_name="M", test_case="Small")
            big = await engine.run(definition, {}, state_machine_name="M", test_case="Big")
    assert small.output == {"body": "hello"}
    assert big.status == "FAILED" and big.error == "States.DataLimitExceeded"


async def test_a_thrown_error_is_caught_by_catch_like_a_real_one() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::batch:submitJob.sync",
                "Catch": [{"ErrorEquals": ["Batch.Failed"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    config = {
        "StateMachines": {"M": {"TestCases": {"T": {"T": "Boom"}}}},
        "MockedResponses": {"Boom": {"0": {"Throw": {"Error": "Batch.Failed", "Cause": "exit 1"}}}},
    }
    async with _engine(config=config) as engine:
        result = await engine.run(definition, {"a": 1}, state_machine_name="M", test_case="T")
    assert result.status == "SUCCEEDED"
    assert result.output == {"a": 1, "error": {"Error": "Batch.Failed", "Cause": "exit 1"}}
    assert "TaskFailed" in _types(result)


async def test_without_a_test_case_the_engine_runs_as_usual() -> None:
    registry = ExecutorRegistry()
    register(registry)
    async with _engine(registry) as engine:
        with pytest.raises(InvalidDefinition, match="sqs:sendMessage"):
            engine.start(DEFINITION, {}, state_machine_name=NAME)


def test_a_state_machine_arn_with_a_test_case_splits_as_step_functions_local_reads_it() -> None:
    from engine.testing import split_test_case

    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:LambdaSQSIntegration"
    assert split_test_case(f"{arn}#HappyPath") == (arn, "HappyPath")
    assert split_test_case(arn) == (arn, None)


async def test_a_durable_engine_refuses_test_cases_rather_than_resume_them_against_real_services(
    tmp_path: Path,
) -> None:
    async with Engine(
        registry=ExecutorRegistry(),
        load_plugins=False,
        mock_config=CONFIG,
        store=f"sqlite:///{tmp_path / 's.db'}",
    ) as engine:
        with pytest.raises(InvalidMockConfig, match="without a durable store"):
            engine.start(DEFINITION, {}, state_machine_name=NAME, test_case="HappyPath")


async def test_a_mocked_callback_task_gets_a_task_token_and_answers_at_once() -> None:
    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    config = {
        "StateMachines": {"M": {"TestCases": {"T": {"Ask": "Approved"}}}},
        "MockedResponses": {"Approved": {"0": {"Return": {"approved": True}}}},
    }
    with anyio.fail_after(10):
        async with _engine(config=config) as engine:
            result = await engine.run(definition, {}, state_machine_name="M", test_case="T")
    assert (result.status, result.output) == ("SUCCEEDED", {"approved": True})
    scheduled = next(e for e in result.history if e.type == "TaskScheduled")
    assert scheduled.details is not None
    token = scheduled.details["parameters"]["MessageBody"]["token"]  # type: ignore[index,call-overload]
    assert isinstance(token, str) and token
