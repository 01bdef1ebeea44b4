"""JSON templates with embedded JSONata expressions (engine/jsonata/_template.py)."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import QueryEvaluationError
from engine.jsonata import JsonataSyntaxError, TemplateSyntaxError, compile_expression, compile_template

STATES = {"states": {"input": {"v": 2, "name": "x", "list": [1, 2]}, "context": {"Execution": {"Id": "e"}}}}


def evaluate(value: object, bindings: dict[str, object] | None = None, *, field: str = "Output") -> object:
    return compile_template(value, field=field).evaluate(
        bindings or STATES, rng=random.Random(0), now_millis=0
    )


def test_a_pass_like_template_mixes_literals_and_expressions() -> None:
    assert evaluate({"i": 1, "v": "{% $states.input.v %}"}) == {"i": 1, "v": 2}


def test_expressions_are_found_in_nested_objects_and_arrays() -> None:
    template = {
        "a": [1, "{% $states.input.v * 2 %}", {"b": "{% $states.input.name %}"}],
        "c": {"d": {"e": "{% $states.input.list %}"}},
        "f": "literal",
    }
    assert evaluate(template) == {"a": [1, 4, {"b": "x"}], "c": {"d": {"e": [1, 2]}}, "f": "literal"}


def test_a_whole_template_may_be_one_expression() -> None:
    template = compile_template("{% $states.input.v + 1 %}", field="Output")
    assert template.expression is not None
    assert template.expression.text == "$states.input.v + 1"
    assert template.evaluate(STATES, rng=random.Random(0)) == 3


def test_object_keys_are_never_expressions() -> None:
    assert evaluate({"{% 1 %}": "x"}) == {"{% 1 %}": "x"}


def test_jsonpath_looking_strings_are_literals() -> None:
    template = {"a": "$.path", "b.$": "$.x", "c": "States.Format('{}', $x)", "d": "$$.Execution.Id"}
    assert evaluate(template) == template
    assert compile_template(template).is_constant


def test_strings_with_spaces_around_the_braces_are_literals() -> None:
    assert evaluate([" {% 1 %}", "{% 1 %} "]) == [" {% 1 %}", "{% 1 %} "]


def test_template_without_expressions_is_constant() -> None:
    assert compile_template({"a": [1, {"b": None}], "c": "s"}).is_constant
    assert compile_template(3).is_constant
    assert compile_template(None).is_constant


def test_template_with_any_expression_is_not_constant() -> None:
    template = compile_template({"a": [1, {"b": "{% 1 %}"}]})
    assert not template.is_constant
    assert len(template.expressions) == 1


def test_constant_templates_evaluate_to_fresh_copies() -> None:
    template = compile_template({"a": [1, 2]})
    first = template.evaluate({}, rng=random.Random(0))
    first["a"].append(3)
    assert template.evaluate({}, rng=random.Random(0)) == {"a": [1, 2]}


def test_literal_parts_of_dynamic_templates_are_fresh_copies() -> None:
    template = compile_template({"lit": {"x": [1]}, "v": "{% 1 %}"})
    first = template.evaluate({}, rng=random.Random(0))
    first["lit"]["x"].append(2)
    assert template.evaluate({}, rng=random.Random(0)) == {"lit": {"x": [1]}, "v": 1}


def test_mutating_the_definition_after_compiling_does_not_change_the_template() -> None:
    raw = {"a": [1]}
    template = compile_template(raw)
    raw["a"].append(2)
    assert template.evaluate({}, rng=random.Random(0)) == {"a": [1]}


def test_referenced_variables_of_a_template_are_the_union_of_its_expressions() -> None:
    template = compile_template({"a": "{% $x %}", "b": ["{% $y + $states.input.v %}"]})
    assert template.referenced_variables == frozenset({"x", "y"})


def test_a_top_level_binding_in_one_expression_does_not_leak_into_another() -> None:
    result = evaluate({"a": "{% $t := 5 %}", "b": "{% $exists($t) %}"})
    assert result == {"a": 5, "b": False}


def test_every_expression_of_one_evaluation_sees_the_same_timestamp() -> None:
    template = compile_template(["{% $millis() %}", "{% $millis() %}"])
    first, second = template.evaluate({}, rng=random.Random(0))
    assert first == second


def test_state_context_and_variables_are_visible() -> None:
    # Conformance map_state_item_selector[MAP_STATE_ITEM_SELECTOR_JSONATA].
    bindings = {
        "states": {"input": {}, "context": {"Map": {"Item": {"Value": "Item1", "Index": 0}}}},
        "ItemsVar": ["Item1", "Item2"],
    }
    selector = {
        "map_item_value": "{% $states.context.Map.Item.Value %}",
        "var_sample": "{% $ItemsVar %}",
        "string_literal": "string literal",
    }
    assert evaluate(selector, bindings, field="ItemSelector") == {
        "map_item_value": "Item1",
        "var_sample": ["Item1", "Item2"],
        "string_literal": "string literal",
    }


def test_result_and_error_output_are_readable_when_present() -> None:
    bindings = {"states": {"input": {}, "result": {"r": 1}, "errorOutput": {"Error": "E", "Cause": "c"}}}
    assert evaluate({"r": "{% $states.result.r %}", "e": "{% $states.errorOutput.Error %}"}, bindings) == {
        "r": 1,
        "e": "E",
    }


# -- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "field", "path"),
    [
        ("{% $doesNotExist %}", "Output", "Output"),
        ({"result": "{% $doesNotExist %}"}, "Output", "Output/result"),
        ({"result": "{% $doesNotExist %}"}, "Assign", "Assign/result"),
        ({"a": {"b": ["x", "{% $doesNotExist %}"]}}, "Arguments", "Arguments/a/b[1]"),
    ],
)
def test_an_undefined_result_names_the_expression_and_its_field(
    template: object, field: str, path: str
) -> None:
    with pytest.raises(QueryEvaluationError) as caught:
        evaluate(template, field=field)
    assert caught.value.cause == (
        f"The JSONata expression '$doesNotExist' specified for the field '{path}' "
        "returned nothing (undefined)."
    )
    assert caught.value.state_scoped is True


def test_an_evaluation_error_names_the_expression_and_its_field() -> None:
    with pytest.raises(QueryEvaluationError) as caught:
        evaluate({"r": "{% $abs('x') %}"})
    cause = caught.value.cause or ""
    assert cause.startswith(
        "The JSONata expression '$abs('x')' specified for the field 'Output/r' threw an error"
    )
    assert "T0410" in cause


def test_a_non_json_result_names_the_expression_and_its_field() -> None:
    with pytest.raises(QueryEvaluationError) as caught:
        evaluate({"f": "{% function($x){$x} %}"})
    assert caught.value.cause == (
        "The JSONata expression 'function($x){$x}' specified for the field 'Output/f' "
        "returned an unsupported result type."
    )


def test_a_syntax_error_reports_where_in_the_template_it_sits() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        compile_template({"a": [1, "{% 1 + %}"], "b/c": {"d": "{% ( %}"}})
    assert isinstance(caught.value, JsonataSyntaxError)
    assert caught.value.location == "/a/1"
    assert caught.value.expression == "1 +"


def test_a_syntax_error_location_escapes_json_pointer_characters() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        compile_template({"b/c~": "{% ( %}"})
    assert caught.value.location == "/b~1c~0"


def test_a_template_that_is_not_json_is_refused() -> None:
    with pytest.raises(TypeError):
        compile_template({"a": {1, 2}})  # type: ignore[arg-type]


# -- literal templates evaluate to themselves ---------------------------------------------------------------

_literal_strings = st.text(max_size=12).filter(lambda s: not (s.startswith("{%") and s.endswith("%}")))
_json_literals = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _literal_strings,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


@given(_json_literals)
def test_templates_without_expressions_evaluate_to_themselves(value: object) -> None:
    template = compile_template(value, field="Output")
    assert template.is_constant
    assert template.evaluate({}, rng=random.Random(0)) == value


@given(_json_literals)
def test_a_quoted_literal_round_trips_through_an_expression(value: object) -> None:
    # $states.input returns the value it was given, with JSONata's number rules.
    result = compile_template("{% $states.input %}").evaluate(
        {"states": {"input": value}}, rng=random.Random(0)
    )
    assert result == value


# -- the simple-path shortcut answers exactly what the library answers --------------------------------------

_keys = st.sampled_from(["a", "b", "c"])
_documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=3),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_keys, children, max_size=3),
    max_leaves=12,
)


@given(document=_documents, path=st.lists(_keys, max_size=4), as_variable=st.booleans())
def test_simple_paths_read_without_the_library_agree_with_the_library(
    document: object, path: list[str], as_variable: bool
) -> None:
    text = ".".join(["$doc" if as_variable else "$states.input", *path])
    shortcut = compile_expression(text)
    assert shortcut._path is not None
    library = dataclasses.replace(shortcut, _path=None)
    bindings = {"states": {"input": document}, "doc": document}
    expected = library.evaluate(bindings, rng=random.Random(0))
    assert shortcut.evaluate(bindings, rng=random.Random(0)) == expected


@pytest.mark.parametrize(
    "text",
    ["$states.input[0]", "$states.input.a[b > 1]", "$x.a#$i", "$", "$$", "$states.input.*", "$x.a + 1"],
)
def test_paths_with_more_than_names_are_left_to_the_library(text: str) -> None:
    assert compile_expression(text)._path is None


def test_quoted_field_names_take_the_shortcut() -> None:
    assert compile_expression("$x.`a b`.c")._path == ("x", ("a b", "c"))
