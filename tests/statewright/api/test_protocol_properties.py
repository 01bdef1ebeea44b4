"""Property tests of the wire protocol: whatever a client sends, the answer is an ApiError or a checked dict."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from statewright.api import ApiError
from statewright.api._arns import parse_arn
from statewright.api._paging import read_token
from statewright.api._protocol import operation_model, parse_request, service_model

OPERATIONS = sorted(service_model().operation_names)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _member_names(operation: str) -> list[str]:
    shape = operation_model("AWSStepFunctions." + operation).input_shape
    return list(shape.members) if shape is not None else []


@st.composite
def bodies(draw: Any) -> tuple[str, dict[str, Any]]:
    operation = draw(st.sampled_from(OPERATIONS))
    names = [*_member_names(operation), "unknownField"]
    body = draw(st.dictionaries(st.sampled_from(names), json_values, max_size=6))
    return operation, body


@settings(max_examples=300, deadline=None)
@given(bodies())
def test_any_json_body_is_either_accepted_or_an_aws_error(case: tuple[str, dict[str, Any]]) -> None:
    operation, body = case
    op = operation_model("AWSStepFunctions." + operation)
    try:
        out = parse_request(op, orjson.dumps(body))
    except ApiError as err:
        assert err.code in {"SerializationException", "ValidationException"}
        assert err.status == 400 and err.message
        return
    assert out == body
    shape = op.input_shape
    for required in shape.required_members if shape is not None else []:
        assert out.get(required) is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_are_either_a_json_object_or_a_serialization_error(raw: bytes) -> None:
    op = operation_model("AWSStepFunctions.ListStateMachines")
    try:
        parse_request(op, raw)
    except ApiError as err:
        assert err.code in {"SerializationException", "ValidationException"}


@given(st.text(max_size=80))
def test_any_text_is_an_arn_or_invalid_arn(text: str) -> None:
    try:
        arn = parse_arn(text, "stateMachine", "execution", "express", "activity")
    except ApiError as err:
        assert err.code == "InvalidArn"
        return
    assert str(arn) == text


@given(st.text(max_size=40))
def test_any_next_token_is_a_position_or_invalid_token(text: str) -> None:
    try:
        read_token(text, "ListStateMachines")
    except ApiError as err:
        assert err.code == "InvalidToken"
