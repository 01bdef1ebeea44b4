"""Properties of the intrinsic functions over generated values."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import IntrinsicFailure
from engine.intrinsics import compile_intrinsic
from engine.scope import Scope

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=4), kids, max_size=4),
    max_leaves=15,
)
NAMES = ("a", "b", "c")


def call(name: str, *args: Any, seed: int = 0) -> Any:
    text = f"States.{name}({', '.join('$.' + n for n in NAMES[: len(args)])})"
    return compile_intrinsic(text).evaluate(
        Scope(input=dict(zip(NAMES, args, strict=False)), rng=random.Random(seed))
    )


def quote(text: str) -> str:
    """Write a string as an intrinsic literal, escaping what AWS reserves."""
    return "'" + "".join("\\" + c if c in "\\'{}" else c for c in text) + "'"


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=20))
def test_any_string_written_as_an_escaped_literal_reads_back_unchanged(text: str) -> None:
    assert compile_intrinsic(f"States.Array({quote(text)})").evaluate(Scope(input=None)) == [text]
    assert compile_intrinsic(f"States.Format({quote(text)})").evaluate(Scope(input=None)) == text


@settings(max_examples=200, deadline=None)
@given(values=st.lists(json_values, max_size=4))
def test_format_renders_any_json_values_into_the_placeholders(values: list[Any]) -> None:
    template = "<" + "|".join("{}" for _ in values) + ">"
    text = f"States.Format('{template}'{''.join(f', $[{i}]' for i in range(len(values)))})"
    out = compile_intrinsic(text).evaluate(Scope(input=values))
    assert isinstance(out, str) and out.startswith("<") and out.endswith(">")


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_json_to_string_then_string_to_json_round_trips(value: Any) -> None:
    text = call("JsonToString", value)
    assert call("StringToJson", text) == value


@settings(max_examples=200, deadline=None)
@given(items=st.lists(json_values, max_size=12), size=st.integers(1, 6))
def test_array_partition_chunks_concatenate_to_the_original(items: list[Any], size: int) -> None:
    chunks = call("ArrayPartition", items, size)
    assert [x for chunk in chunks for x in chunk] == items
    assert all(len(chunk) == size for chunk in chunks[:-1])
    assert not chunks or 1 <= len(chunks[-1]) <= size


@settings(max_examples=200, deadline=None)
@given(items=st.lists(json_values, max_size=10))
def test_array_unique_is_idempotent_and_every_item_is_still_contained(items: list[Any]) -> None:
    unique = call("ArrayUnique", items)
    assert call("ArrayUnique", unique) == unique
    assert all(call("ArrayContains", unique, item) for item in items)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=50))
def test_base64_round_trips_any_text(text: str) -> None:
    try:
        encoded = call("Base64Encode", text)
    except UnicodeEncodeError:  # pragma: no cover - lone surrogates are not JSON text
        return
    assert call("Base64Decode", encoded) == text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="ab,;", max_size=20), delimiters=st.text(alphabet=",;", max_size=2))
def test_string_split_never_yields_empty_or_delimiter_bearing_parts(text: str, delimiters: str) -> None:
    parts = call("StringSplit", text, delimiters)
    assert all(parts)
    assert all(not set(part) & set(delimiters) for part in parts)
    if delimiters:
        assert "".join(parts) == "".join(c for c in text if c not in delimiters)


@settings(max_examples=200, deadline=None)
@given(start=st.integers(-1000, 1000), width=st.integers(1, 1000), seed=st.integers(0, 2**32))
def test_math_random_stays_within_start_inclusive_end_exclusive(start: int, width: int, seed: int) -> None:
    assert start <= call("MathRandom", start, start + width, seed=seed) < start + width


@settings(max_examples=200, deadline=None)
@given(start=st.integers(-50, 50), end=st.integers(-50, 50), step=st.integers(-7, 7).filter(bool))
def test_array_range_matches_an_inclusive_python_range(start: int, end: int, step: int) -> None:
    expected = list(range(start, end + (1 if step > 0 else -1), step))
    assert call("ArrayRange", start, end, step) == expected


@settings(max_examples=200, deadline=None)
@given(args=st.lists(json_values, min_size=0, max_size=3), name=st.sampled_from(
    ["ArrayLength", "ArrayUnique", "StringToJson", "Base64Encode", "Base64Decode", "MathAdd", "Hash",
     "StringSplit", "ArrayGetItem", "ArrayPartition", "JsonMerge", "ArrayContains"]
))  # fmt: skip
def test_any_run_time_arguments_give_a_value_or_an_intrinsic_failure(args: list[Any], name: str) -> None:
    spec_arity = {"ArrayLength": 1, "ArrayUnique": 1, "StringToJson": 1, "Base64Encode": 1, "Base64Decode": 1,
                  "MathAdd": 2, "Hash": 2, "StringSplit": 2, "ArrayGetItem": 2, "ArrayPartition": 2,
                  "JsonMerge": 3, "ArrayContains": 2}  # fmt: skip
    args = [*args, None, None, None][: spec_arity[name]]
    try:
        call(name, *args)
    except IntrinsicFailure as exc:
        assert exc.cause and exc.cause.startswith(("Invalid arguments in States.", f"States.{name}:"))
