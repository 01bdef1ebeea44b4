"""TestState: one state, run once, with AWS's statuses and inspection data."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from engine import Engine, ExecutorRegistry, InvalidDefinition
from engine.testing import TestStateValidation
from executors.local import LambdaExecutor, register

TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "InputPath": "$.order",
    "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
    "ResultSelector": {"charged.$": "$.Payload.amount"},
    "ResultPath": "$.charge",
    "OutputPath": "$.charge",
    "Retry": [
        {"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 2, "MaxAttempts": 3},
    ],
    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
    "Next": "Ship",
}
MOCK_OK = {"result": {"Payload": {"amount": 42}, "StatusCode": 200}, "fieldValidationMode": "NONE"}


def _engine(**kwargs: Any) -> Engine:
    return Engine(registry=kwargs.pop("registry", ExecutorRegistry()), load_plugins=False, **kwargs)


async def test_a_mocked_task_succeeds_with_every_processing_step_inspected() -> None:
    result = await _engine().test_state(TASK, {"order": {"id": 7}}, inspection_level="DEBUG", mock=MOCK_OK)
    assert result.status == "SUCCEEDED"
    assert result.next_state == "Ship"
    assert result.output == {"charged": 42}
    assert result.inspection_data == {
        "input": {"order": {"id": 7}},
        "afterInputPath": {"id": 7},
        "afterParameters": {"FunctionName": "charge", "Payload": {"id": 7}},
        "result": {"Payload": {"amount": 42}, "StatusCode": 200},
        "afterResultSelector": {"charged": 42},
        "afterResultPath": {"order": {"id": 7}, "charge": {"charged": 42}},
    }


async def test_the_wire_shape_carries_json_text() -> None:
    result = await _engine().test_state(TASK, {"order": {}}, inspection_level="DEBUG", mock=MOCK_OK)
    wire = result.to_aws()
    assert wire["status"] == "SUCCEEDED" and wire["nextState"] == "Ship"
    assert orjson.loads(wire["output"]) == {"charged": 42}  # type: ignore[arg-type]
    assert orjson.loads(wire["inspectionData"]["afterParameters"]) == {
        "FunctionName": "charge",
        "Payload": {},
    }  # type: ignore[index]


async def test_info_level_has_no_inspection_data() -> None:
    result = await _engine().test_state(TASK, {"order": {}}, mock=MOCK_OK)
    assert result.inspection_data is None
    assert "inspectionData" not in result.to_aws()


async def test_a_mocked_result_may_be_json_text_as_on_the_wire() -> None:
    mock = {"result": '{"Payload": {"amount": 1}}', "fieldValidationMode": "NONE"}
    result = await _engine().test_state(TASK, '{"order": {}}', mock=mock)
    assert result.output == {"charged": 1}


async def test_an_error_matching_a_retrier_is_retriable_with_its_back_off() -> None:
    mock = {"errorOutput": {"error": "Lambda.TooManyRequestsException", "cause": "slow down"}}
    result = await _engine().test_state(TASK, {"order": {}}, inspection_level="DEBUG", mock=mock)
    assert (result.status, result.error, result.cause, result.next_state) == (
        "RETRIABLE",
        "Lambda.TooManyRequestsException",
        "slow down",
        None,
    )
    assert result.inspection_data is not None
    assert result.inspection_data["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 2}
    assert "output" not in result.to_aws()


async def test_an_error_caught_by_a_catcher_reports_its_output_and_next_state() -> None:
    mock = {"errorOutput": {"error": "Lambda.Unknown", "cause": "boom"}}
    result = await _engine().test_state(TASK, {"order": {}}, inspection_level="DEBUG", mock=mock)
    assert result.status == "CAUGHT_ERROR"
    assert result.next_state == "Failed"
    assert result.output == {"order": {}, "error": {"Error": "Lambda.Unknown", "Cause": "boom"}}
    assert result.inspection_data is not None and result.inspection_data["errorDetails"] == {"catchIndex": 0}


async def test_an_unhandled_error_fails() -> None:
    state = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}
    result = await _engine().test_state(state, {}, mock={"errorOutput": {"error": "SQS.Down", "cause": "x"}})
    assert (result.status, result.error, result.cause, result.next_state) == ("FAILED", "SQS.Down", "x", None)
    fail = await _engine().test_state({"Type": "Fail", "Error": "E", "Cause": "C"}, {})
    assert (fail.status, fail.error, fail.cause) == ("FAILED", "E", "C")


async def test_an_unmocked_task_runs_its_real_executor() -> None:
    registry = ExecutorRegistry()
    functions = LambdaExecutor({"charge": lambda payload: {"amount": payload["id"] * 2}})
    register(registry, functions)
    result = await _engine(registry=registry).test_state(TASK, {"order": {"id": 5}})
    assert result.status == "SUCCEEDED" and result.output == {"charged": 10}


async def test_an_unmocked_task_without_executor_is_an_invalid_definition() -> None:
    with pytest.raises(InvalidDefinition, match="lambda:invoke"):
        await _engine().test_state(TASK, {"order": {}})


async def test_a_pass_state_shows_parameters_and_result_path() -> None:
    state = {"Type": "Pass", "Parameters": {"a.$": "$.x"}, "ResultPath": "$.r", "End": True}
    result = await _engine().test_state(state, {"x": 1}, inspection_level="DEBUG")
    assert result.status == "SUCCEEDED" and result.next_state is None
    assert result.output == {"x": 1, "r": {"a": 1}}
    assert result.inspection_data == {
        "input": {"x": 1},
        "afterInputPath": {"x": 1},
        "afterParameters": {"a": 1},
        "afterResultPath": {"x": 1, "r": {"a": 1}},
    }


async def test_a_choice_state_in_a_whole_machine_reports_the_branch_taken() -> None:
    machine = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Next": "Pick"},
            "Pick": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Succeed"},
            "Small": {"Type": "Succeed"},
        },
    }
    engine = _engine()
    assert (await engine.test_state(machine, {"n": 11}, state_name="Pick")).next_state == "Big"
    assert (await engine.test_state(machine, {"n": 1}, state_name="Pick")).next_state == "Small"
    assert (await engine.test_state(machine, {"n": 1})).next_state == "Pick"


async def test_jsonata_tasks_show_arguments_and_assigned_variables() -> None:
    state = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": "arn:aws:states:::sns:publish",
        "Arguments": {
            "Message": "{% $states.input.text & $suffix %}",
            "Who": "{% $states.context.Execution.Name %}",
        },
        "Assign": {"messageId": "{% $states.result.MessageId %}"},
        "Output": "{% $states.result %}",
        "End": True,
    }
    result = await _engine().test_state(
        state,
        {"text": "hi"},
        inspection_level="TRACE",
        variables={"suffix": "!"},
        context={"Execution": {"Name": "exec-1"}},
        mock={"result": {"MessageId": "m-1"}, "fieldValidationMode": "NONE"},
    )
    assert result.status == "SUCCEEDED"
    assert result.inspection_data is not None
    assert result.inspection_data["afterArguments"] == {"Message": "hi!", "Who": "exec-1"}
    assert result.inspection_data["variables"] == {"suffix": "!", "messageId": "m-1"}


async def test_map_parallel_sync_and_callback_tasks_need_a_mock() -> None:
    engine = _engine()
    map_state = {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "ResultSelector": {"n.$": "States.ArrayLength($)"},
        "End": True,
    }
    with pytest.raises(TestStateValidation, match="needs a mock"):
        await engine.test_state(map_state, [1, 2])
    mapped = await engine.test_state(map_state, [1, 2], mock={"result": [5, 6, 7]}, inspection_level="DEBUG")
    assert mapped.output == {"n": 3}
    sync = {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": True}
    with pytest.raises(TestStateValidation, match=r"\.sync"):
        await engine.test_state(sync, {})
    assert (
        await engine.test_state(sync, {}, mock={"result": {"ok": 1}, "fieldValidationMode": "NONE"})
    ).output == {"ok": 1}


async def test_requests_aws_refuses_are_validation_errors() -> None:
    engine = _engine()
    with pytest.raises(TestStateValidation, match="inspectionLevel"):
        await engine.test_state({"Type": "Pass", "End": True}, {}, inspection_level="LOUD")
    with pytest.raises(TestStateValidation, match="exactly one"):
        await engine.test_state(TASK, {}, mock={"result": 1, "errorOutput": {"error": "E"}})
    with pytest.raises(TestStateValidation, match="not to a Pass state"):
        await engine.test_state({"Type": "Pass", "End": True}, {}, mock={"result": 1})
    with pytest.raises(TestStateValidation, match="stateName"):
        await engine.test_state({"Type": "Pass", "End": True}, {}, state_name="X")
    with pytest.raises(TestStateValidation, match="no state named"):
        await engine.test_state({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}, {}, state_name="B")


async def test_a_wait_state_returns_at_once_in_virtual_time() -> None:
    result = await _engine().test_state({"Type": "Wait", "Seconds": 3600, "Next": "After"}, {"a": 1})
    assert (result.status, result.output, result.next_state) == ("SUCCEEDED", {"a": 1}, "After")


async def test_wire_shaped_requests_with_json_text_work_as_values_do() -> None:
    state = {
        "Type": "Pass",
        "QueryLanguage": "JSONata",
        "Output": "{% $states.input.a & $v & $states.context.Execution.Name %}",
        "End": True,
    }
    result = await _engine().test_state(
        orjson.dumps(state).decode(),
        '{"a": "x"}',
        variables='{"v": "y"}',
        context='{"Execution": {"Name": "z"}}',
        inspection_level="DEBUG",
    )
    assert result.to_aws()["output"] == '"xyz"'
    with pytest.raises(TestStateValidation, match="variables is not valid JSON"):
        await _engine().test_state(state, {}, variables="{nope")


async def test_retrier_retry_count_moves_the_back_off_and_exhausts_the_retrier() -> None:
    mock = {"errorOutput": {"error": "Lambda.TooManyRequestsException", "cause": "slow down"}}
    engine = _engine()
    second = await engine.test_state(
        TASK, {"order": {}}, inspection_level="DEBUG", mock=mock, state_configuration={"retrierRetryCount": 2}
    )
    assert second.status == "RETRIABLE"
    assert second.inspection_data is not None
    assert second.inspection_data["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 8}
    exhausted = await engine.test_state(
        TASK, {"order": {}}, mock=mock, state_configuration={"retrierRetryCount": 3}
    )
    assert (exhausted.status, exhausted.next_state) == ("CAUGHT_ERROR", "Failed")


DISTRIBUTED = {
    "Type": "Map",
    "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}},
    },
    "ToleratedFailureCount": 1,
    "End": True,
}


async def test_map_iteration_failures_are_checked_against_the_tolerated_threshold() -> None:
    engine = _engine()
    mock = {"result": [1, None, 3]}
    within = await engine.test_state(
        DISTRIBUTED,
        [1, 2, 3],
        mock=mock,
        inspection_level="DEBUG",
        state_configuration={"mapIterationFailureCount": 1},
    )
    assert within.status == "SUCCEEDED" and within.output == [1, None, 3]
    assert within.inspection_data is not None and within.inspection_data["toleratedFailureCount"] == 1
    beyond = await engine.test_state(
        DISTRIBUTED, [1, 2, 3], mock=mock, state_configuration={"mapIterationFailureCount": 2}
    )
    assert (beyond.status, beyond.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")


async def test_state_configuration_is_validated() -> None:
    engine = _engine()
    error = {"errorOutput": {"error": "E", "cause": "c"}}
    with pytest.raises(TestStateValidation, match="is not a state of"):
        await engine.test_state(
            DISTRIBUTED, [1], mock=error, state_configuration={"errorCausedByState": "Nope"}
        )
    caused = await engine.test_state(
        DISTRIBUTED, [1], mock=error, state_configuration={"errorCausedByState": "Work"}
    )
    assert (caused.status, caused.error) == ("FAILED", "E")
    with pytest.raises(TestStateValidation, match="applies to a Map state"):
        await engine.test_state(TASK, {}, mock=MOCK_OK, state_configuration={"mapIterationFailureCount": 1})
    with pytest.raises(TestStateValidation, match="at least 0"):
        await engine.test_state(TASK, {}, mock=MOCK_OK, state_configuration={"retrierRetryCount": -1})
    with pytest.raises(TestStateValidation, match="unknown stateConfiguration"):
        await engine.test_state(TASK, {}, mock=MOCK_OK, state_configuration={"retries": 1})


async def test_a_map_shows_its_items_and_what_item_selector_made_of_each() -> None:
    state = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"n.$": "$$.Map.Item.Value", "at.$": "$$.Map.Item.Index", "tag.$": "$.tag"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True,
    }
    result = await _engine().test_state(
        state, {"items": [5, 6], "tag": "t"}, mock={"result": [1, 2]}, inspection_level="DEBUG"
    )
    assert result.inspection_data is not None
    assert result.inspection_data["afterItemsPath"] == [5, 6]
    assert result.inspection_data["afterItemSelector"] == [
        {"n": 5, "at": 0, "tag": "t"},
        {"n": 6, "at": 1, "tag": "t"},
    ]
