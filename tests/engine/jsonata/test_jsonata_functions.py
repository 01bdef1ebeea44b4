"""The functions Step Functions adds to JSONata (engine/jsonata/_functions.py)."""

from __future__ import annotations

import hashlib
import random
import re
import uuid

import pytest

from engine.jsonata import (
    HASH_ALGORITHMS,
    UNDEFINED,
    JsonataEvaluationError,
    compile_expression,
    java_random_double,
)


def run(text: str, state_input: object = None, *, seed: int = 3) -> object:
    bindings = {"states": {"input": state_input}}
    return compile_expression(text).evaluate(bindings, rng=random.Random(seed), now_millis=0)


# -- $partition ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "size", "expected"),
    [
        # From the conformance cases array_partition#exec_hist_resp_0..19.
        ([0], 1, [[0]]),
        ([0], 5, [[0]]),
        ([0, 1], 1, [[0], [1]]),
        ([0, 1], 2, [[0, 1]]),
        ([0, 1, 2], 2, [[0, 1], [2]]),
        ([0, 1, 2, 3], 3, [[0, 1, 2], [3]]),
        ([0, 1, 2, 3], 5, [[0, 1, 2, 3]]),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 3, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
        ([], 2, []),
    ],
)
def test_partition_splits_an_array_into_chunks(items: list[int], size: int, expected: object) -> None:
    state_input = {"FunctionInput": {"fst": items, "snd": size}}
    text = "$partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd)"
    assert run(text, state_input) == expected


def test_partition_keeps_objects_and_nulls_in_chunks() -> None:
    assert run("$partition($states.input, 2)", [{"a": 1}, None, "x"]) == [[{"a": 1}, None], ["x"]]


def test_partition_rounds_a_fractional_size_down() -> None:
    assert run("$partition([1, 2, 3], 2.7)") == [[1, 2], [3]]


@pytest.mark.parametrize("size", ["0", "-1", "0.5", "'2'"])
def test_partition_refuses_a_size_that_is_not_a_positive_number(size: str) -> None:
    with pytest.raises(JsonataEvaluationError):
        run(f"$partition([1, 2], {size})")


def test_partition_refuses_something_that_is_not_an_array() -> None:
    with pytest.raises(JsonataEvaluationError):
        run("$partition('abc', 2)")


def test_partition_of_nothing_is_nothing() -> None:
    assert run("$partition($states.input.missing, 2)", {}) is UNDEFINED


# -- $range --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "step", "expected"),
    [
        # From the conformance cases array_range#exec_hist_resp_0..3.
        (0, 9, 3, [0, 3, 6, 9]),
        (0, 10, 3, [0, 3, 6, 9]),
        (1, 9, 9, 1),
        (1, 9, 2, [1, 3, 5, 7, 9]),
        # From the AWS documentation: the end is included when the step lands on it.
        (0, 10, 2, [0, 2, 4, 6, 8, 10]),
        (10, 0, -5, [10, 5, 0]),
    ],
)
def test_range_counts_from_start_to_end_inclusive(start: int, end: int, step: int, expected: object) -> None:
    state_input = {"FunctionInput": {"fst": start, "snd": end, "trd": step}}
    text = "$range($states.input.FunctionInput.fst, $states.input.FunctionInput.snd, " + (
        "$states.input.FunctionInput.trd)"
    )
    assert run(text, state_input) == expected


def test_range_with_a_single_value_is_that_value_not_an_array() -> None:
    # Conformance array_range#exec_hist_resp_2 records 1, not [1].
    assert run("$range(4, 4, 1)") == 4


def test_range_that_never_starts_is_nothing() -> None:
    assert run("$range(5, 1, 1)") is UNDEFINED


def test_range_refuses_a_zero_step() -> None:
    with pytest.raises(JsonataEvaluationError):
        run("$range(0, 5, 0)")


def test_range_refuses_non_numbers() -> None:
    with pytest.raises(JsonataEvaluationError):
        run("$range('a', 5, 1)")


# -- $hash ---------------------------------------------------------------------------------------------


def test_hash_matches_the_value_aws_reports_for_sha1() -> None:
    assert run("$hash('input', 'SHA-1')") == "140f86aae51ab9e1cda9b4254fe98a74eb54c1a1"


@pytest.mark.parametrize("algorithm", sorted(HASH_ALGORITHMS))
def test_hash_supports_every_documented_algorithm(algorithm: str) -> None:
    expected = hashlib.new(HASH_ALGORITHMS[algorithm], "héllo".encode()).hexdigest()
    assert run(f"$hash($states.input, '{algorithm}')", "héllo") == expected


@pytest.mark.parametrize("algorithm", ["SHA-2", "sha-256", "MD4", "1"])
def test_hash_refuses_other_algorithms(algorithm: str) -> None:
    with pytest.raises(JsonataEvaluationError) as caught:
        run(f"$hash('x', '{algorithm}')")
    assert "MD5, SHA-1, SHA-256, SHA-384, SHA-512" in (caught.value.cause or "")


def test_hash_refuses_a_non_string_value() -> None:
    with pytest.raises(JsonataEvaluationError):
        run("$hash(12, 'MD5')")


# -- $random ---------------------------------------------------------------------------------------------


def test_seeded_random_is_java_util_random_as_on_aws() -> None:
    assert run("$random(42)") == 0.7275636800328681


def test_seeded_random_is_the_same_whatever_the_execution_rng() -> None:
    assert run("$random(7)", seed=1) == run("$random(7)", seed=2) == java_random_double(7)


def test_unseeded_random_draws_from_the_execution_rng() -> None:
    first = run("$random()", seed=11)
    assert first == random.Random(11).random()
    assert run("$random()", seed=11) == first
    assert run("$random()", seed=12) != first


def test_random_values_lie_in_the_unit_interval() -> None:
    values = run("[1..50].$random()", seed=5)
    assert isinstance(values, list)
    assert all(0 <= v < 1 for v in values)


def test_random_refuses_a_non_numeric_seed() -> None:
    with pytest.raises(JsonataEvaluationError):
        run("$random('x')")


# -- $uuid -------------------------------------------------------------------------------------------------

_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_uuid_is_a_version_4_uuid() -> None:
    value = run("$uuid()")
    assert isinstance(value, str)
    assert _UUID4.match(value)
    assert uuid.UUID(value).version == 4


def test_uuid_is_reproducible_from_the_execution_rng() -> None:
    assert run("$uuid()", seed=9) == run("$uuid()", seed=9)
    assert run("$uuid()", seed=9) != run("$uuid()", seed=10)


def test_uuid_differs_between_calls_in_one_evaluation() -> None:
    first, second = run("[$uuid(), $uuid()]")  # type: ignore[misc]
    assert first != second


# -- $parse ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # From the conformance cases parse#exec_hist_resp_0..6.
        ("-0", 0),
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
        ("null", None),
    ],
)
def test_parse_reads_json_text(text: str, expected: object) -> None:
    result = run("$parse($states.input.FunctionInput)", {"FunctionInput": text})
    assert result == expected
    assert type(result) is type(expected)


def test_parse_result_can_be_navigated() -> None:
    assert run("$parse($states.input).a.b", '{"a": {"b": [1, 2]}}') == [1, 2]


def test_parse_refuses_invalid_json() -> None:
    with pytest.raises(JsonataEvaluationError) as caught:
        run("$parse('{')")
    assert "not valid JSON" in (caught.value.cause or "")


def test_parse_refuses_a_non_string() -> None:
    with pytest.raises(JsonataEvaluationError):
        run("$parse(12)")


# -- $shuffle ------------------------------------------------------------------------------------------------


def test_shuffle_is_a_permutation_drawn_from_the_execution_rng() -> None:
    first = run("$shuffle([1, 2, 3, 4, 5, 6, 7, 8])", seed=4)
    assert sorted(first) == [1, 2, 3, 4, 5, 6, 7, 8]  # type: ignore[arg-type]
    assert run("$shuffle([1, 2, 3, 4, 5, 6, 7, 8])", seed=4) == first
