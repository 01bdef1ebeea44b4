"""Numbers and nesting at the edges of JSON, through the engine.

Invariant: an integer of any size stays exact (JSON numbers have no size
limit); NaN, Infinity and other non-JSON Python values are refused at the
boundary with ``InvalidInput``; a value nested as deep as the parser accepts
(``MAX_DEPTH``) runs and is written back, a deeper one is refused; nothing
raises a Python exception to the caller.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import Engine, InvalidInput
from engine.jsonvalue import MAX_DEPTH, NotJSON, check_value, dumps, dumps_str, loads

PASS: dict[str, Any] = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


def _deep(levels: int) -> Any:
    value: Any = 1
    for i in range(levels):
        value = {"k": value} if i % 2 else [value]
    return value


@pytest.mark.parametrize(
    "n", [2**64, 2**70, -(2**70), 10**5000 + 7], ids=["2^64", "2^70", "-2^70", "5000-digits"]
)
async def test_integers_beyond_64_bits_stay_exact_through_input_parameters_and_history(n: int) -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Parameters": {"n.$": "$.n", "fixed": 2**70}, "End": True}},
    }
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(definition, {"n": n})
    assert result.status == "SUCCEEDED"
    assert result.output == {"n": n, "fixed": 2**70}
    assert loads(result.history.to_aws()[-1]["executionSucceededEventDetails"]["output"]) == result.output


def test_json_text_keeps_long_integers_exact() -> None:
    text = '{"a": 123456789012345678901234567890, "b": -98765432109876543210, "c": 1.5, "d": "12345678901234567890123"}'
    assert loads(text) == {
        "a": 123456789012345678901234567890,
        "b": -98765432109876543210,
        "c": 1.5,
        "d": "12345678901234567890123",
    }
    digits = "9" * 5000
    assert loads(f"[{digits}]") == [10**5000 - 1]
    assert dumps_str(loads(f"[{digits}]")) == f"[{digits}]"


@pytest.mark.parametrize("number", [-(2**63) - 1, -(10**19) + 1, -(2**63), 2**64 - 1, 2**64, -(2**64)])
def test_integers_at_the_edges_of_64_bits_read_back_exactly(number: int) -> None:
    # -(2**63) - 1 has 19 digits, as -(2**63) does: a digit count alone does not tell it is outside.
    for data in (str(number), str(number).encode(), f'{{"n": {number}}}'):
        value = loads(data)
        assert (value if isinstance(value, int) else value["n"]) == number
        assert type(value if isinstance(value, int) else value["n"]) is int


async def test_an_intrinsic_result_beyond_64_bits_is_kept() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "States.MathAdd($.a, $.a)"}, "End": True}},
    }
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(definition, {"a": 2**62})
    assert (result.status, result.output) == ("SUCCEEDED", {"x": 2**63})


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -float("inf"), {1, 2}, {"k": (1, 2j)}, {1: "x"}]
)
async def test_non_json_input_is_refused_with_invalid_input(value: Any) -> None:
    async with Engine(load_plugins=False) as engine:
        with pytest.raises(InvalidInput):
            engine.start(PASS, {"v": value})


@pytest.mark.parametrize("levels", [300, 1000, MAX_DEPTH - 3])
async def test_input_nested_up_to_the_limit_runs_and_is_written_back(levels: int) -> None:
    value = _deep(levels)
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "ResultPath": "$.copy", "Next": "B"},
            "B": {"Type": "Pass", "OutputPath": "$.copy", "End": True},
        },
    }
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(definition, {"v": value})
    assert result.status == "SUCCEEDED"
    assert result.output == {"v": value}
    assert loads(dumps(result.history.to_aws())) == result.history.to_aws()


async def test_input_nested_deeper_than_the_limit_is_refused_at_the_boundary() -> None:
    async with Engine(load_plugins=False) as engine:
        with pytest.raises(InvalidInput, match="nested more than"):
            engine.start(PASS, _deep(MAX_DEPTH + 5))
        with pytest.raises(InvalidInput, match="nested more than"):
            engine.start(PASS, _deep(10_000))
        with pytest.raises(InvalidInput):
            engine.start(PASS, input_json="[" * 2000 + "]" * 2000)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


@given(json_values)
def test_any_json_value_round_trips_exactly(value: Any) -> None:
    check_value(value)
    assert loads(dumps(value)) == value


@given(st.sampled_from([float("nan"), float("inf")]), st.integers(0, 30))
def test_nan_and_infinity_are_never_json(bad: float, depth: int) -> None:
    value: Any = bad
    for _ in range(depth):
        value = [value]
    with pytest.raises(NotJSON):
        check_value(value)


@pytest.mark.parametrize("levels", [1000, 10_000])
def test_a_deep_definition_dict_gets_an_answer_not_a_recursion_error(levels: int) -> None:
    from engine import InvalidDefinition, parse_definition

    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": _deep(levels), "End": True}}}
    if levels < MAX_DEPTH:
        assert parse_definition(definition).states["A"].result == _deep(levels)  # type: ignore[attr-defined]
    else:
        with pytest.raises(InvalidDefinition, match="nested more than"):
            parse_definition(definition)


def test_a_deep_definition_text_is_refused_as_invalid_json() -> None:
    from engine import InvalidDefinition, parse_definition

    text = (
        '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": '
        + "[" * 2000
        + "]" * 2000
        + ', "End": true}}}'
    )
    with pytest.raises(InvalidDefinition) as info:
        parse_definition(text)
    assert info.value.problems[0].code == "INVALID_JSON"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {"k": {1, 2}}])
async def test_a_task_result_that_is_not_json_fails_the_task_with_states_runtime(bad: Any) -> None:
    from engine import ExecutorRegistry
    from executors.local import CallableExecutor

    async def handler(call: Any, ctx: Any) -> Any:
        return {"v": bad}

    registry = ExecutorRegistry()
    registry.register("arn:aws:states:::custom:call", CallableExecutor(handler))
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::custom:call", "End": True}},
    }
    async with Engine(load_plugins=False, registry=registry) as engine:
        result = await engine.run(definition)
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "not JSON" in (result.cause or "")
    assert "TaskFailed" in result.history.types
