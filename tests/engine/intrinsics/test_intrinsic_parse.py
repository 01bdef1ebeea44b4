"""Parsing intrinsic calls at definition time: grammar, literals, and what is refused."""

from __future__ import annotations

import random
from typing import Any

import pytest

from engine.errors import StatesRuntime
from engine.intrinsics import FUNCTIONS, IntrinsicSyntaxError, compile_intrinsic, is_intrinsic
from engine.intrinsics.parse import MAX_NESTING, Call, Literal, PathArgument, format_pieces
from engine.scope import Scope


def run(text: str, value: Any = None, **kw: Any) -> Any:
    return compile_intrinsic(text).evaluate(Scope(input=value, rng=random.Random(0), **kw))


# --------------------------------------------------------------------------- is_intrinsic


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('{}', $.a)", True),
        ("States.UUID()", True),
        ("States.Array() ", True),
        ("$.a", False),
        ("$$.States", False),
        ("states.Array()", False),
        ("States.Array(", False),
        ("MyStates.Array()", False),
    ],
)
def test_only_strings_starting_with_states_and_ending_with_a_parenthesis_are_intrinsics(
    text: str, expected: bool
) -> None:
    assert is_intrinsic(text) is expected


# --------------------------------------------------------------------------- the call tree


def test_the_table_holds_all_eighteen_functions() -> None:
    assert len(FUNCTIONS) == 18
    assert all(name.startswith("States.") for name in FUNCTIONS)


def test_a_call_parses_into_a_tree_of_literals_paths_and_calls() -> None:
    intrinsic = compile_intrinsic("States.Array('a', 1, 2.5, true, false, null, $.x, States.UUID())")
    call = intrinsic.call
    assert call.spec.name == "States.Array"
    literals = [a.value for a in call.args if isinstance(a, Literal)]
    assert literals == ["a", 1, 2.5, True, False, None]
    assert isinstance(literals[1], int) and isinstance(literals[2], float)
    path_arg = call.args[6]
    assert isinstance(path_arg, PathArgument) and path_arg.path.text == "$.x"
    nested = call.args[7]
    assert isinstance(nested, Call) and nested.spec.name == "States.UUID"
    assert intrinsic.text.startswith("States.Array(")


@pytest.mark.parametrize(
    ("literal", "value"),
    [("-3", -3), ("0", 0), ("1e3", 1000.0), ("-1.5E-2", -0.015), ("12.0", 12.0)],
)
def test_number_literals_keep_json_number_types(literal: str, value: Any) -> None:
    out = run(f"States.Array({literal})")
    assert out == [value] and type(out[0]) is type(value)


def test_blanks_around_arguments_are_allowed() -> None:
    assert run("States.Array(  1 ,\t'a' ,\n$.x  )", {"x": 2}) == [1, "a", 2]
    assert run("  States.Array()  ") == []


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"'it\'s'", "it's"),
        (r"'a\\b'", "a\\b"),
        (r"'\{\}'", "{}"),
        ('\'{"k": "v"}\'', '{"k": "v"}'),  # AWS: json_merge_escaped_argument
        ("'Hello\nWorld'", "Hello\nWorld"),  # AWS: escape_sequence (a real newline)
        ("'a, b)'", "a, b)"),
        ("''", ""),
    ],
)
def test_string_literals_resolve_backslash_escapes(literal: str, value: str) -> None:
    assert run(f"States.Array({literal})") == [value]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", {"a": [1, 2], "b,c": 3, "d": {"e": 4}}),
        ("$.a[1]", 2),
        ("$['b,c']", 3),
        ("$.a[?(@ > 1)]", [2]),
        ("$.a[0,1]", [1, 2]),
        ("$..e", [4]),
    ],
)
def test_path_arguments_end_at_the_first_top_level_comma_or_parenthesis(path: str, expected: Any) -> None:
    doc = {"a": [1, 2], "b,c": 3, "d": {"e": 4}}
    assert run(f"States.Array({path}, 'end')", doc) == [expected, "end"]


def test_context_and_variable_paths_are_arguments_too() -> None:
    out = run("States.Array($$.Execution.Name, $v, $v2.k)", {}, context={"Execution": {"Name": "e1"}},
              variables={"v": 1, "v2": {"k": 2}})  # fmt: skip
    assert out == ["e1", 1, 2]


def test_a_literal_format_template_splits_at_unescaped_placeholders() -> None:
    assert format_pieces(r"a{}b\{}c{}") == ["a", "b{}c", ""]
    assert format_pieces(r"no placeholders \\") == ["no placeholders \\"]
    assert run(r"States.Format('\{\} {} \\ \' {x}', 1)") == "{} 1 \\ ' {x}"


def test_nesting_up_to_the_aws_limit_is_accepted() -> None:
    text = "States.Array(" * MAX_NESTING + ")" * MAX_NESTING
    out = run(text)
    for _ in range(MAX_NESTING - 1):
        assert isinstance(out, list) and len(out) == 1
        out = out[0]
    assert out == []


# --------------------------------------------------------------------------- refused definitions


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("States.Foo()", "unknown intrinsic function 'States.Foo'"),
        ("States.format('x')", "unknown intrinsic function 'States.format'"),
        ("States.()", "expected a function name"),
        ("States.Array", "expected '\\(' after 'States.Array'"),
        ("States.Array(1", "missing '\\)'"),
        ("States.Array(1 2)", "expected ',' or '\\)'"),
        ("States.Array(1,)", "unexpected '\\)'"),
        ("States.Array(,1)", "unexpected ','"),
        ("States.Array(1) x", "unexpected text after"),
        ("States.Array('abc)", "unterminated string literal"),
        ("States.Array('abc\\')", "unterminated string literal"),
        ('States.Array("x")', "single quotes"),
        ("States.Array(truely)", "unexpected 't'"),
        ("States.Array(1x)", "unexpected '1'"),
        ("States.Array($.a[)", "Invalid JSONPath"),
        ("States.Array($.a b)", "Invalid JSONPath"),
        ("States.Format()", "States.Format takes at least 1 argument, but got 0"),
        ("States.UUID(1)", "States.UUID takes exactly 0 arguments, but got 1"),
        ("States.MathRandom(1)", "States.MathRandom takes 2 to 3 arguments, but got 1"),
        ("States.MathAdd(1, 2, 3)", "exactly 2 arguments"),
        ("States.JsonMerge($.a, $.b)", "exactly 3 arguments"),
        ("States.Format(1)", "the argument 'template' must be a string, but was the number 1"),
        ("States.Format('{} {}', 1)", "the template has 2 placeholder\\(s\\) '{}' but 1 value\\(s\\)"),
        ("States.Format('{}')", "1 placeholder"),
        ("States.ArrayGetItem($.a, 'x')", "'index' must be an integer, but was the string \"x\""),
        ("States.ArrayGetItem($.a, -1)", "must not be negative"),
        ("States.ArrayLength('x')", "'array' must be an array"),
        ("States.ArrayPartition($.a, 0)", "chunk size must be greater than 0"),
        ("States.ArrayRange(1, 5000, 1)", "at most 1000"),
        ("States.ArrayRange(1, 5, 0)", "step must not be 0"),
        ("States.ArrayRange($.a, $.b, 0)", "step must not be 0"),
        ("States.Hash('a', 'SHA-3')", "unknown hash algorithm 'SHA-3'"),
        ("States.Hash('a', 'sha-256')", "unknown hash algorithm"),
        ("States.JsonMerge($.a, $.b, true)", "deep merge is not supported"),
        ("States.JsonMerge($.a, $.b, 'false')", "'deep' must be a boolean"),
        ("States.JsonMerge('{}', $.b, false)", "'json1' must be an object"),
        ("States.MathAdd(1, true)", "'value2' must be an integer, but was the boolean true"),
        ("States.MathRandom(5, 5)", "start \\(5\\) must be less than the end \\(5\\)"),
        ("States.StringSplit(1, ',')", "'string' must be a string"),
        ("States.Base64Encode(null)", "'data' must be a string, but was the null null"),
        ("States.Array(" * (MAX_NESTING + 1) + ")" * (MAX_NESTING + 1), "nested at most 10 deep"),
    ],
)
def test_bad_calls_are_refused_at_definition_time_naming_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(IntrinsicSyntaxError, match=fragment) as info:
        compile_intrinsic(text)
    assert f"Invalid intrinsic function '{text}'" in str(info.value)


def test_a_compiled_intrinsic_is_immutable() -> None:
    intrinsic = compile_intrinsic("States.UUID()")
    with pytest.raises(AttributeError):
        intrinsic.text = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- run-time failures of paths


def test_a_path_argument_that_selects_nothing_fails_with_states_runtime() -> None:
    with pytest.raises(StatesRuntime) as info:
        run("States.Format('{}', $.missing)", {"a": 1})
    err = info.value
    assert err.error == "States.Runtime"
    assert err.cause == (
        "The JSONPath '$.missing' specified in the intrinsic function 'States.Format('{}', $.missing)' "
        "could not be found in the input '{\"a\":1}'"
    )
    assert err.state_scoped


def test_an_indefinite_path_argument_over_missing_data_passes_an_empty_list() -> None:
    assert run("States.ArrayLength($.items[*])", {}) == 0
