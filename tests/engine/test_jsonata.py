"""Compiling and evaluating single JSONata expressions (engine.jsonata)."""

from __future__ import annotations

import random

import pytest

from engine.errors import QUERY_EVALUATION_ERROR, QueryEvaluationError
from engine.jsonata import (
    UNDEFINED,
    JsonataEvaluationError,
    JsonataSyntaxError,
    compile_expression,
    evaluation_error_cause,
    expression_text,
    is_jsonata_template,
    json_type_name,
    normalize_number,
    top_level_reference_message,
    undefined_result_cause,
    unexpected_type_cause,
)


def run(text: str, state_input: object = None, **variables: object) -> object:
    bindings = {"states": {"input": state_input, "context": {}}, **variables}
    return compile_expression(text).evaluate(bindings, rng=random.Random(7), now_millis=1_700_000_000_000)


# -- recognising expressions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% $states.input %}", True),
        ("{%1%}", True),
        ("{% %}", True),
        (" {% 1 %}", False),
        ("{% 1 %} ", False),
        ("{% 1", False),
        ("1 %}", False),
        ("{%}", False),
        ("$.path", False),
        ("States.Format('{}', $.x)", False),
        (42, False),
        (None, False),
    ],
)
def test_only_strings_wrapped_exactly_in_percent_braces_are_expressions(
    value: object, expected: bool
) -> None:
    assert is_jsonata_template(value) is expected


def test_expression_text_is_the_inside_of_the_braces_trimmed() -> None:
    assert expression_text("{%  $x + 1 \n%}") == "$x + 1"


def test_compiled_expression_keeps_the_trimmed_text() -> None:
    assert compile_expression("  $states.input.a  ").text == "$states.input.a"


# -- values ------------------------------------------------------------------------------------


def test_states_input_is_readable() -> None:
    assert run("$states.input.a.b", {"a": {"b": [1, 2]}}) == [1, 2]


def test_workflow_variables_are_readable_by_name() -> None:
    assert run("$greeting & ' ' & $name", {}, greeting="hello", name="world") == "hello world"


def test_a_variable_holding_null_is_null_not_undefined() -> None:
    assert run("$v", {}, v=None) is None
    assert run("$v = null", {}, v=None) is True


def test_a_null_input_is_null() -> None:
    assert run("$states.input", None) is None


def test_null_inside_the_input_stays_null() -> None:
    assert run("$states.input", {"a": None, "b": [None, 1]}) == {"a": None, "b": [None, 1]}
    assert run("$states.input.a = null", {"a": None}) is True


def test_a_missing_field_is_undefined() -> None:
    assert run("$states.input.missing", {"a": 1}) is UNDEFINED


def test_an_unbound_variable_is_undefined() -> None:
    assert run("$doesNotExist", {}) is UNDEFINED


def test_a_filter_matching_nothing_is_undefined() -> None:
    assert run("[1, 2][$ > 5]") is UNDEFINED


def test_a_filter_matching_one_item_gives_that_item() -> None:
    assert run("[1, 2, 3][$ > 2]") == 3


def test_undefined_object_members_are_left_out() -> None:
    assert run('{"a": $nothing, "b": 1}') == {"b": 1}


def test_undefined_is_falsy_and_distinct_from_null() -> None:
    assert not UNDEFINED
    assert UNDEFINED is not None
    assert repr(UNDEFINED) == "UNDEFINED"


def test_integral_numbers_come_back_as_ints() -> None:
    for text in ("1.0", "6/2", "$sum([1.5, 1.5])", "$states.input.x", "$states.input.x * 1"):
        result = run(text, {"x": 3.0})
        assert type(result) is int, text


def test_fractional_numbers_stay_floats() -> None:
    assert run("3/2") == 1.5
    assert run("$states.input.x", {"x": 0.1}) == 0.1


def test_negative_zero_is_zero() -> None:
    result = run("-0.0")
    assert result == 0
    assert type(result) is int


def test_huge_numbers_are_floats_like_javascript_doubles() -> None:
    result = run("2e21")
    assert result == 2e21
    assert type(result) is float


def test_booleans_are_not_turned_into_numbers() -> None:
    assert run("true") is True
    assert run("[true, false]") == [True, False]


def test_results_are_fresh_copies_not_the_input_objects() -> None:
    state_input = {"a": {"b": [1]}}
    result = run("$states.input.a", state_input)
    assert result == {"b": [1]}
    assert isinstance(result, dict)
    result["b"].append(2)
    assert state_input == {"a": {"b": [1]}}


def test_sequences_come_back_as_plain_lists() -> None:
    result = run("$states.input.items.n", {"items": [{"n": 3}, {"n": 9}]})
    assert result == [3, 9]
    assert type(result) is list


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3.0, 3), (-0.0, 0), (1.5, 1.5), (7, 7), (2**70, float(2**70)), (1e300, 1e300)],
)
def test_normalize_number_follows_javascript(value: int | float, expected: int | float) -> None:
    result = normalize_number(value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "boolean"),
        (1, "number"),
        (1.5, "number"),
        ("s", "string"),
        ([], "array"),
        ({}, "object"),
    ],
)
def test_json_type_names_match_aws(value: object, name: str) -> None:
    assert json_type_name(value) == name


def test_a_top_level_variable_assignment_evaluates_to_its_value() -> None:
    # Conformance base_map[MAX_CONCURRENCY]: "MaxConcurrency": "{% $variable := 1 %}".
    assert run("$variable := 1") == 1


def test_the_regular_expression_example_from_the_conformance_cases() -> None:
    # Conformance base_jsonata_regular_expressions[BASE] and [BASE_FALSE].
    assert run('$contains("hello$world", /^hello\\$/)') is True
    assert run('$contains("hello$world", /^hello\\ /)') is False


def test_merge_with_dynamic_arguments() -> None:
    # Conformance merge_with_dynamic_args.
    state_input = {"part1": {"hello": "world"}, "part2": {"foo": "bar"}}
    assert run("$merge([$states.input.part1, $states.input.part2])", state_input) == {
        "hello": "world",
        "foo": "bar",
    }


# -- time -------------------------------------------------------------------------------------------


def test_now_and_millis_report_the_injected_timestamp() -> None:
    assert run("$millis()") == 1_700_000_000_000
    assert run("$now()") == "2023-11-14T22:13:20.000Z"


def test_now_is_the_same_everywhere_in_one_evaluation() -> None:
    result = compile_expression("[$millis(), $millis(), $millis()]").evaluate({}, rng=random.Random(0))
    assert isinstance(result, list)
    assert len(set(result)) == 1


# -- errors -----------------------------------------------------------------------------------------


def test_a_syntax_error_is_raised_at_compile_time_with_the_expression_and_the_library_message() -> None:
    with pytest.raises(JsonataSyntaxError) as caught:
        compile_expression("a[1,2)")
    assert caught.value.expression == "a[1,2)"
    assert caught.value.code == "S0202"
    assert "a[1,2)" in str(caught.value)
    assert "S0202" in str(caught.value)


@pytest.mark.parametrize("text", ["", "   ", "1 +", '"unterminated', '{"a":}', "$x :=", '$match("a", /abc'])
def test_unparseable_expressions_are_refused(text: str) -> None:
    with pytest.raises(JsonataSyntaxError):
        compile_expression(text)


def test_a_syntax_error_is_a_value_error() -> None:
    assert issubclass(JsonataSyntaxError, ValueError)


def test_a_coded_evaluation_error_is_a_query_evaluation_error_with_code_and_message() -> None:
    with pytest.raises(JsonataEvaluationError) as caught:
        run('"a" + 1')
    error = caught.value
    assert isinstance(error, QueryEvaluationError)
    assert error.error == QUERY_EVALUATION_ERROR
    assert error.code == "T2001"
    assert error.cause == "T2001: The left side of the + operator must evaluate to a number"


def test_a_python_exception_inside_the_library_becomes_a_query_evaluation_error() -> None:
    with pytest.raises(JsonataEvaluationError) as caught:
        run("$error('custom failure')")
    assert "custom failure" in (caught.value.cause or "")


def test_eval_is_not_available_as_on_aws() -> None:
    with pytest.raises(JsonataEvaluationError) as caught:
        run('$eval("1+1")')
    assert caught.value.code == "T1006"


def test_a_function_result_is_refused_as_not_json() -> None:
    with pytest.raises(JsonataEvaluationError):
        run("function($x){ $x }")


def test_a_regex_result_is_refused_as_not_json() -> None:
    with pytest.raises(JsonataEvaluationError):
        run("/abc/")


def test_evaluate_field_wraps_an_undefined_result_in_aws_wording() -> None:
    expression = compile_expression("$doesNotExist")
    with pytest.raises(QueryEvaluationError) as caught:
        expression.evaluate_field({"states": {"input": {}}}, "Output", rng=random.Random(0))
    assert caught.value.cause == (
        "The JSONata expression '$doesNotExist' specified for the field 'Output' "
        "returned nothing (undefined)."
    )
    assert caught.value.state_scoped is True


def test_evaluate_field_wraps_a_coded_error_after_a_full_stop() -> None:
    expression = compile_expression('$eval("1+1")')
    with pytest.raises(QueryEvaluationError) as caught:
        expression.evaluate_field({}, "Output/r", rng=random.Random(0))
    assert caught.value.cause == (
        "The JSONata expression '$eval(\"1+1\")' specified for the field 'Output/r' threw an error "
        "during evaluation. T1006: Attempted to invoke a non-function"
    )


def test_evaluate_field_wraps_an_uncoded_error_after_a_colon() -> None:
    expression = compile_expression("$parse('{')")
    with pytest.raises(QueryEvaluationError) as caught:
        expression.evaluate_field({}, "Output", rng=random.Random(0))
    cause = caught.value.cause or ""
    assert cause.startswith(
        "The JSONata expression '$parse('{')' specified for the field 'Output' "
        "threw an error during evaluation: "
    )


def test_evaluate_field_returns_null_results_unchanged() -> None:
    expression = compile_expression("null")
    assert expression.evaluate_field({}, "Output", rng=random.Random(0)) is None


def test_cause_builders_match_the_recorded_aws_texts() -> None:
    # Conformance undefined_reference[BASE_UNDEFINED_OUTPUT_FIELD] and
    # map_state_items_eval_jsonata_fail[object].
    assert undefined_result_cause("$doesNotExist", "Output/result") == (
        "The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing "
        "(undefined)."
    )
    assert unexpected_type_cause("{'foo': 'bar'}", "Items", "array", {"foo": "bar"}) == (
        "The JSONata expression '{'foo': 'bar'}' specified for the field 'Items' returned an unexpected "
        "result type. Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}"
    )
    error = JsonataEvaluationError("1/x", None, "boom")
    assert evaluation_error_cause("1/x", "Seconds", error).endswith("during evaluation: boom")


# -- referenced variables -------------------------------------------------------------------------------


def test_referenced_variables_lists_free_workflow_variables_only() -> None:
    expression = compile_expression(
        "($x := 1; $f := function($p){ $p + $z }; $x + $f(2) + $count($w) + $states.input.a[$ > $lim])"
    )
    assert expression.referenced_variables == frozenset({"z", "w", "lim"})


def test_referenced_variables_ignores_context_and_root_references() -> None:
    assert compile_expression("$ + $$").referenced_variables == frozenset()


def test_referenced_variables_ignores_aws_and_builtin_functions() -> None:
    expression = compile_expression("$uuid() & $string($partition([1], 1)) & $hash($h, 'MD5')")
    assert expression.referenced_variables == frozenset({"h"})


def test_referenced_variables_ignores_positional_and_focus_bindings() -> None:
    expression = compile_expression("$states.input.items#$i.{'i': $i, 'v': $v}")
    assert expression.referenced_variables == frozenset({"v"})


# -- top-level references (AWS refuses them at definition time) ------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("phone", ("phone",)),
        ("a.b", ("a",)),
        ("$count(items)", ("items",)),
        ('{"a": name}', ("name",)),
        ("$states.input.a ? b : c", ("b", "c")),
        ("$", ("$",)),
        ("$$", ("$$",)),
        ("$.a", ("$",)),
        ("$string($)", ("$",)),
        ("($y := z; $y)", ("z",)),
    ],
)
def test_bare_references_at_the_top_level_are_reported(text: str, names: tuple[str, ...]) -> None:
    assert compile_expression(text).top_level_references == names


@pytest.mark.parametrize(
    "text",
    [
        "$states.input.items[price > 10]",
        "$states.input^(price)",
        "$states.input{kind: $count(x)}",
        "$states.input ~> |$|{'a': b}|",
        "$map($states.input, function($v){ v })",
        "$x[name = 1]",
        "$states.context.Map.Item.Value",
        "[1, 2][$ > 1]",
    ],
)
def test_references_relative_to_an_item_are_not_top_level(text: str) -> None:
    assert compile_expression(text).top_level_references == ()


def test_top_level_reference_message_matches_aws() -> None:
    assert top_level_reference_message("phone") == "Reference to 'phone' at the top level is not supported."


def test_the_public_surface_is_pinned() -> None:
    import engine.jsonata

    assert set(engine.jsonata.__all__) == {
        "HASH_ALGORITHMS",
        "RESERVED_VARIABLES",
        "UNDEFINED",
        "JsonataEvaluationError",
        "JsonataExpression",
        "JsonataSyntaxError",
        "JsonataTemplate",
        "TemplateSyntaxError",
        "Undefined",
        "compile_expression",
        "compile_template",
        "evaluation_error_cause",
        "evaluation_pause",
        "expression_text",
        "is_jsonata_template",
        "java_random_double",
        "json_type_name",
        "normalize_number",
        "top_level_reference_message",
        "undefined_result_cause",
        "unexpected_type_cause",
        "unsupported_result_cause",
    }
    for name in engine.jsonata.__all__:
        assert hasattr(engine.jsonata, name)
