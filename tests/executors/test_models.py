"""Mocked results checked against botocore's service models (TestState's fieldValidationMode)."""

from __future__ import annotations

from executors.models import BotocoreModels

MODELS = BotocoreModels()


def test_present_fields_must_have_the_models_types() -> None:
    ok = {"MessageId": "m-1", "MD5OfMessageBody": "abc", "SequenceNumber": "1"}
    assert MODELS.check_result("arn:aws:states:::sqs:sendMessage", ok, "PRESENT") == []
    assert MODELS.check_result("arn:aws:states:::sqs:sendMessage", {"MessageId": 5}, "PRESENT") == [
        "$.MessageId must be a string"
    ]
    assert MODELS.check_result("arn:aws:states:::sqs:sendMessage", [1], "STRICT") == ["$ must be an object"]


def test_nested_shapes_lists_and_maps_are_walked() -> None:
    bad = {"Item": {"pk": {"S": 1}}, "ConsumedCapacity": {"CapacityUnits": "many"}}
    assert MODELS.check_result("arn:aws:states:::aws-sdk:dynamodb:getItem", bad, "PRESENT") == [
        "$.Item.pk.S must be a string",
        "$.ConsumedCapacity.CapacityUnits must be a number",
    ]


def test_strict_wants_the_required_fields() -> None:
    # ECS DescribeClusters has no required output field; STS GetCallerIdentity neither; use a shape that has one.
    problems = MODELS.check_result(
        "arn:aws:states:::aws-sdk:sfn:startExecution", {"executionArn": "a"}, "STRICT"
    )
    assert problems == ["$.startDate is required"]
    assert (
        MODELS.check_result("arn:aws:states:::aws-sdk:sfn:startExecution", {"executionArn": "a"}, "PRESENT")
        == []
    )


def test_optimized_integrations_may_add_fields_and_decode_blobs() -> None:
    invoke = {"StatusCode": 200, "Payload": {"any": ["json"]}, "SdkHttpMetadata": {"HttpStatusCode": 200}}
    assert MODELS.check_result("arn:aws:states:::lambda:invoke", invoke, "STRICT") == []


def test_results_without_a_model_pass() -> None:
    assert MODELS.check_result("arn:aws:states:::ecs:runTask.sync", {"Tasks": "not checked"}, "STRICT") == []
    assert MODELS.check_result("arn:aws:lambda:us-east-1:123456789012:function:f", 1, "STRICT") == []
    assert MODELS.check_result("arn:aws:states:::eks:runJob", {}, "STRICT") == []
