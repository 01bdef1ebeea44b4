"""Each intrinsic function: values and run-time errors (``States.IntrinsicFailure``).

Arguments come through ``$.a``/``$.b``/``$.c`` paths so the run-time checks
(not the definition-time ones) are exercised.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

import pytest

from engine.errors import IntrinsicFailure
from engine.intrinsics import compile_intrinsic
from engine.intrinsics.functions import java_string
from engine.scope import Scope


def call(name: str, *args: Any, rng: random.Random | None = None) -> Any:
    names = ["a", "b", "c", "d"][: len(args)]
    text = f"States.{name}({', '.join('$.' + n for n in names)})"
    scope = Scope(input=dict(zip(names, args, strict=True)), rng=rng or random.Random(0))
    return compile_intrinsic(text).evaluate(scope)


def fails(name: str, *args: Any, match: str) -> IntrinsicFailure:
    with pytest.raises(IntrinsicFailure, match=match) as info:
        call(name, *args)
    assert info.value.error == "States.IntrinsicFailure"
    assert info.value.state_scoped
    return info.value


# --------------------------------------------------------------------------- Format


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("", ""),
        (" ", " "),
        ("HelloWorld", "HelloWorld"),
        (None, "null"),
        (1, "1"),
        (1.1, "1.1"),
        (True, "true"),
        (False, "false"),
        ('{"Arg1": 1, "Arg2": []}', '{"Arg1": 1, "Arg2": []}'),
        ({"Arg1": 1, "Arg2": []}, "{Arg1=1, Arg2=[]}"),
        ([1, "a", None, {"k": [True]}], "[1, a, null, {k=[true]}]"),
        ({"Id": "arn:x", "Name": "m"}, "{Id=arn:x, Name=m}"),
        (2.0, "2.0"),
        (-0.5, "-0.5"),
        (1e20, "1.0E20"),
        (1.5e-5, "1.5E-5"),
        (12345678.9, "1.23456789E7"),
        (0.001, "0.001"),
        (0.0, "0.0"),
        (123456789012, "123456789012"),
    ],
)
def test_format_renders_values_as_aws_does(value: Any, text: str) -> None:
    # AWS: format_1 / format_2 / context_json_path cases.
    assert call("Format", "Formatting argument {}.", value) == f"Formatting argument {text}."
    assert java_string(value) == text


def test_format_with_a_template_from_a_path_splits_at_placeholders() -> None:
    assert call("Format", "It's {}! {}", "Pikachu", 2) == "It's Pikachu! 2"


def test_format_with_a_template_from_a_path_checks_the_placeholder_count() -> None:
    fails("Format", "{} and {}", 1, match="the template has 2 placeholder\\(s\\) '{}' but 1 value\\(s\\)")


def test_format_refuses_a_template_that_is_not_a_string() -> None:
    fails("Format", 3, match="Invalid arguments in States.Format: the argument 'template' must be a string")


# --------------------------------------------------------------------------- JSON


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", None),
        (" ", None),
        ("null", None),
        ("-0", 0),
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
    ],
)
def test_string_to_json_parses_json_text(text: str, value: Any) -> None:
    # AWS: string_to_json cases (blank strings give null).
    assert call("StringToJson", text) == value


@pytest.mark.parametrize("text", ["{", "nope", "{'a': 1}", "[1,]", "NaN"])
def test_string_to_json_fails_on_invalid_json(text: str) -> None:
    fails("StringToJson", text, match="States.StringToJson: the argument is not valid JSON")


def test_string_to_json_refuses_a_non_string() -> None:
    fails("StringToJson", {"a": 1}, match="'string' must be a string, but was the object")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (0, "0"),
        (1.1, "1.1"),
        (True, "true"),
        ("HelloWorld", '"HelloWorld"'),
        ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'),
        ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
        ({"é": "✓"}, '{"é":"✓"}'),
    ],
)
def test_json_to_string_writes_compact_json(value: Any, text: str) -> None:
    assert call("JsonToString", value) == text


def test_json_merge_is_shallow_and_the_second_object_wins() -> None:
    # AWS: json_merge — the nested "a" objects are not merged.
    left = {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}
    right = {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}
    assert call("JsonMerge", left, right, False) == {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4}
    assert left == {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}


def test_json_merge_refuses_a_deep_merge_at_run_time() -> None:
    fails("JsonMerge", {}, {}, True, match="deep merge is not supported")


def test_json_merge_refuses_non_objects() -> None:
    fails("JsonMerge", [], {}, False, match="'json1' must be an object, but was the array \\[\\]")


# --------------------------------------------------------------------------- arrays


def test_array_collects_its_arguments_in_order() -> None:
    assert call("Array", "", None, 1.1, {"k": []}) == ["", None, 1.1, {"k": []}]


@pytest.mark.parametrize(
    ("items", "size", "chunks"),
    [
        ([], 1, []),
        ([0], 5, [[0]]),
        ([0, 1, 2], 2, [[0, 1], [2]]),
        ([0, 1, 2, 3], 2, [[0, 1], [2, 3]]),
        ([0, 1, 2, 3], 3, [[0, 1, 2], [3]]),
        ([0, 1, 2], 1.5, [[0, 1], [2]]),
    ],
)
def test_array_partition_cuts_into_chunks_of_the_given_size(items: list[int], size: Any, chunks: Any) -> None:
    assert call("ArrayPartition", items, size) == chunks


@pytest.mark.parametrize("size", [0, -1, 0.4])
def test_array_partition_refuses_a_size_below_one(size: Any) -> None:
    fails("ArrayPartition", [1], size, match="chunk size must be greater than 0")


@pytest.mark.parametrize(
    ("items", "value", "found"),
    [
        ([], None, False),
        ([], [], False),
        ([[1, 2, 3], 2], None, False),
        ([[1, 2, 3], 2], [1, 2, 3], True),
        ([{"1": 2, "2": []}], [], False),
        ([{"1": 2, "2": []}], {"2": [], "1": 2}, True),
        ([True, False], True, True),
        ([True, False], False, True),
        ([1], True, False),
        ([True], 1, False),
        (["1"], 1, False),
    ],
)
def test_array_contains_compares_json_values(items: list[Any], value: Any, found: bool) -> None:
    assert call("ArrayContains", items, value) is found


@pytest.mark.parametrize(
    ("start", "end", "step", "expected"),
    [
        (0, 9, 3, [0, 3, 6, 9]),
        (0, 10, 3, [0, 3, 6, 9]),
        (1, 9, 9, [1]),
        (1, 9, 2, [1, 3, 5, 7, 9]),
        (5, 1, 1, []),
        (5, 1, -2, [5, 3, 1]),
        (0, 999, 1, list(range(1000))),
        (0.5, 2.4, 1, [1, 2]),
    ],
)
def test_array_range_includes_the_end_when_the_step_lands_on_it(
    start: Any, end: Any, step: Any, expected: list[int]
) -> None:
    assert call("ArrayRange", start, end, step) == expected


def test_array_range_refuses_more_than_a_thousand_items() -> None:
    fails("ArrayRange", 0, 1000, 1, match="the range would have 1001 items; at most 1000 are allowed")


def test_array_range_refuses_a_zero_step() -> None:
    fails("ArrayRange", 0, 10, 0.2, match="the step must not be 0")


def test_array_get_item_returns_the_item_at_an_index() -> None:
    assert call("ArrayGetItem", [1, 2, 3, 4, 5, 6, 7, 8, 9], 5) == 6
    assert call("ArrayGetItem", ["a", "b"], 0.6) == "b"


@pytest.mark.parametrize("index", [3, 100])
def test_array_get_item_out_of_bounds_fails(index: int) -> None:
    fails("ArrayGetItem", [1, 2, 3], index, match=f"the index {index} is out of bounds for an array of 3")


def test_array_get_item_refuses_a_negative_index() -> None:
    fails("ArrayGetItem", [1, 2, 3], -1, match="the index must not be negative, but was -1")


def test_array_length_counts_items() -> None:
    assert call("ArrayLength", [None, [], {}]) == 3
    assert call("ArrayLength", []) == 0
    fails("ArrayLength", {"a": 1}, match="'array' must be an array, but was the object")


def test_array_unique_keeps_the_first_of_equal_values_in_order() -> None:
    items = [None, None, True, True, False, 1, 1, 1.1, 0, 0, "a", "a", [], [], [None], [None],
             {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1}, 1.0]  # fmt: skip
    assert call("ArrayUnique", items) == [
        None, True, False, 1, 1.1, 0, "a", [], [None], {"a": 1, "b": 2}, {"a": 1, "b": 1}, 1.0,
    ]  # fmt: skip


# --------------------------------------------------------------------------- encoding and hashing


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("", ""),
        ("Data to encode", "RGF0YSB0byBlbmNvZGU="),
        ("Hello World", "SGVsbG8gV29ybGQ="),
        ("é✓", "w6ninJM="),
    ],
)
def test_base64_encodes_utf8_and_decodes_back(raw: str, encoded: str) -> None:
    assert call("Base64Encode", raw) == encoded
    assert call("Base64Decode", encoded) == raw


def test_base64_decode_accepts_missing_padding_like_java() -> None:
    assert call("Base64Decode", "SGVsbG8gV29ybGQ") == "Hello World"


@pytest.mark.parametrize("text", ["%%%%", "a", "SGVsbG8=x", "SGVs bG8="])
def test_base64_decode_fails_on_invalid_input(text: str) -> None:
    fails("Base64Decode", text, match="the argument is not valid base64")


def test_base64_functions_refuse_inputs_over_ten_thousand_characters() -> None:
    fails("Base64Encode", "x" * 10_001, match="the input has 10001 characters; at most 10000")
    fails("Base64Decode", "A" * 10_004, match="at most 10000")
    assert len(call("Base64Encode", "x" * 10_000)) > 0


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        (
            "SHA-384",
            "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
        ),
        (
            "SHA-512",
            "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce"
            "2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
        ),
    ],
)
def test_hash_gives_lowercase_hex_digests(algorithm: str, digest: str) -> None:
    # AWS: hash cases over "input data".
    assert call("Hash", "input data", algorithm) == digest


def test_hash_refuses_an_unknown_algorithm_at_run_time() -> None:
    fails("Hash", "x", "SHA-3", match="unknown hash algorithm 'SHA-3'; use one of MD5, SHA-1")


def test_hash_refuses_inputs_over_ten_thousand_characters() -> None:
    fails("Hash", "x" * 10_001, "MD5", match="at most 10000")
    assert call("Hash", "x" * 10_000, "MD5") == hashlib.md5(b"x" * 10_000).hexdigest()


# --------------------------------------------------------------------------- math


@pytest.mark.parametrize(
    ("a", "b", "total"),
    [
        (-9, 3, -6),
        (1.49, 1.5, 3),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (-1.5, -1.51, -3),
        (1.49, -1.49, 0),
        (0.5, 0, 1),
        (2.5, 0, 3),
        (-0.5, 0, 0),
        (-0.5, 0.5, 1),
        (-2.5, 0, -2),
        (-3.5, 0, -3),
    ],
)
def test_math_add_rounds_each_argument_half_up_like_java(a: Any, b: Any, total: int) -> None:
    # AWS: math_add cases.
    result = call("MathAdd", a, b)
    assert result == total and type(result) is int


def test_math_add_refuses_non_numbers() -> None:
    fails("MathAdd", "1", 2, match="'value1' must be an integer, but was the string \"1\"")


def test_math_random_draws_from_the_scope_rng_between_start_inclusive_and_end_exclusive() -> None:
    seen = {call("MathRandom", 1, 4, rng=random.Random(seed)) for seed in range(200)}
    assert seen == {1, 2, 3}
    assert call("MathRandom", 0, 100, rng=random.Random(7)) == call(
        "MathRandom", 0, 100, rng=random.Random(7)
    )


def test_math_random_with_a_seed_is_reproducible_and_ignores_the_scope_rng() -> None:
    first = call("MathRandom", 0, 999, 3, rng=random.Random(1))
    second = call("MathRandom", 0, 999, 3, rng=random.Random(2))
    assert first == second and 0 <= first < 999


def test_math_random_rounds_non_integer_bounds() -> None:
    # AWS: math_random with 12.5 and 44.51 succeeds.
    assert 13 <= call("MathRandom", 12.5, 44.51) < 45


def test_math_random_refuses_an_empty_range() -> None:
    fails("MathRandom", 5, 2, match="the start \\(5\\) must be less than the end \\(2\\)")


# --------------------------------------------------------------------------- strings and ids


@pytest.mark.parametrize(
    ("text", "delimiter", "parts"),
    [
        (" ", ",", [" "]),
        (" , ", ",", [" ", " "]),
        (", , ,", ",", [" ", " "]),
        (",,,,", ",", []),
        ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),
        ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
        ("split on T and \nnew line", "T\n", ["split on ", " and ", "new line"]),
        ("", ",", []),
        ("abc", "", ["abc"]),
        ("a-b", "-", ["a", "b"]),
    ],
)
def test_string_split_splits_on_any_delimiter_character_and_drops_empty_parts(
    text: str, delimiter: str, parts: list[str]
) -> None:
    # AWS: string_split cases (Java StringTokenizer semantics).
    assert call("StringSplit", text, delimiter) == parts


def test_string_split_keeps_newlines_inside_parts() -> None:
    # AWS: string_split_context_object.
    text = "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n"
    assert call("StringSplit", text, ",") == [
        "Value1", "Value2", "Value3\nValue4", "Value5", "Value6\n", "\ntrue", "1",
        "'HelloWorld'\nNull", "None", "\n   \n",
    ]  # fmt: skip


UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_uuid_is_a_version_4_uuid_drawn_from_the_scope_rng() -> None:
    first = compile_intrinsic("States.UUID()").evaluate(Scope(input=None, rng=random.Random(5)))
    again = compile_intrinsic("States.UUID()").evaluate(Scope(input=None, rng=random.Random(5)))
    other = compile_intrinsic("States.UUID()").evaluate(Scope(input=None, rng=random.Random(6)))
    assert UUID4.fullmatch(first)
    assert first == again and first != other


def test_each_evaluation_of_a_literal_only_call_is_fresh() -> None:
    intrinsic = compile_intrinsic("States.ArrayRange(1, 3, 1)")
    scope = Scope(input=None)
    first = intrinsic.evaluate(scope)
    first.append(99)
    assert intrinsic.evaluate(scope) == [1, 2, 3]
    uuid = compile_intrinsic("States.UUID()")
    assert uuid.evaluate(scope) != uuid.evaluate(scope)
