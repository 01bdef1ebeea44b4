"""Compiled JSONPath: syntax, definite and indefinite evaluation, ResultPath, properties.

Expected values marked "AWS" come from the recorded conformance corpus
(``tests/conformance/cases.jsonl``); the rest follow Jayway JsonPath,
which AWS Step Functions runs.
"""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.paths import (
    Path,
    PathNotFound,
    PathSetError,
    PathSyntaxError,
    compile_path,
    compile_reference_path,
    json_equal,
    set_path,
)
from engine.scope import Scope

DOC: dict[str, Any] = {
    "a": {"b": [1, 2, {"c": 3}]},
    "users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1, "name": "x"}],
    "x y": 5,
    "delivery-partner": "UQS",
    "n": None,
    "s": "text",
}


def scope(value: Any = None, **kw: Any) -> Scope:
    return Scope(input=DOC if value is None else value, **kw)


# --------------------------------------------------------------------------- compile: shapes


@pytest.mark.parametrize(
    ("text", "root", "variable", "steps"),
    [
        ("$", "input", None, ()),
        ("$$", "context", None, ()),
        ("$.a", "input", None, ("a",)),
        ("$.a.b[2].c", "input", None, ("a", "b", 2, "c")),
        ("$['x y']", "input", None, ("x y",)),
        ('$["x y"]', "input", None, ("x y",)),
        ("$.a[-1]", "input", None, ("a", -1)),
        ("$$.Execution.Input.x", "context", None, ("Execution", "Input", "x")),
        ("$var", "variable", "var", ()),
        ("$my_var1.field[0]", "variable", "my_var1", ("field", 0)),
        ("$.delivery-partner", "input", None, ("delivery-partner",)),
    ],
)
def test_reference_paths_compile_to_root_and_steps(
    text: str, root: str, variable: str | None, steps: tuple[Any, ...]
) -> None:
    path = compile_reference_path(text)
    assert (path.root, path.variable, path.steps) == (root, variable, steps)
    assert path.is_reference and path.is_definite
    assert path.text == text


@pytest.mark.parametrize(
    "text",
    ["$.a[*]", "$.a.*", "$..c", "$['a','b']", "$.a[0,1]", "$.a[1:]", "$.a[::2]", "$.u[?(@.x)]"],
)
def test_operators_make_a_path_indefinite_and_not_a_reference_path(text: str) -> None:
    path = compile_path(text)
    assert not path.is_reference
    assert not path.is_definite
    with pytest.raises(PathSyntaxError, match="Reference Path"):
        compile_reference_path(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a", "must start with '\\$'"),
        ("", "must start with"),
        ("$.", "expected a name"),
        ("$[", "unterminated"),
        ("$.a[", "unterminated"),
        ("$['a'", "expected '\\]'"),
        ("$['a]", "unterminated quoted name"),
        ("$.a b", "bracket notation"),
        ("$[?(@.a >)]", "unexpected '\\)'"),
        ("$[1:2:0]", "step cannot be zero"),
        ("$[1:2:3:4]", "invalid slice"),
        ("$[1x]", "invalid array index"),
        ("$[?@.a]", "expected '\\('"),
        ("$.a.length().b", "nothing may follow"),
        ("$[?(@.a =~ 'x')]", "regex"),
        ("$[?(@.a =~ /(/)]", "invalid regular expression"),
        ("$x y", "bracket notation"),
        ("$.a)", "unexpected character"),
    ],
)
def test_invalid_paths_raise_a_syntax_error_saying_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(PathSyntaxError, match=fragment) as info:
        compile_path(text)
    assert repr(text)[1:-1] in str(info.value) or text in str(info.value)


def test_a_non_string_path_is_a_syntax_error() -> None:
    with pytest.raises(PathSyntaxError, match="must be a string"):
        compile_path(3)  # type: ignore[arg-type]


def test_paths_compare_equal_by_text_and_hash_alike() -> None:
    assert compile_path("$.a") == compile_path("$.a")
    assert hash(compile_path("$.a")) == hash(compile_path("$.a"))
    assert compile_path("$.a") != compile_path("$.b")
    assert compile_path("$.a") != "$.a"


def test_a_compiled_path_is_immutable() -> None:
    path = compile_path("$.a")
    with pytest.raises(AttributeError):
        path.text = "$.b"  # type: ignore[misc]


# --------------------------------------------------------------------------- get: definite paths


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.a.b[2].c", 3),
        ("$.a.b[-1]", {"c": 3}),
        ("$.a.b[0]", 1),
        ("$['x y']", 5),
        ("$.delivery-partner", "UQS"),  # AWS: map_state_item_selector
        ("$.n", None),
        ("$.a['b'][1]", 2),
    ],
)
def test_definite_paths_return_the_selected_value(text: str, expected: Any) -> None:
    assert compile_path(text).get(scope()) == expected


def test_dollar_returns_the_input_itself_not_a_copy() -> None:
    assert compile_path("$").get(scope()) is DOC


def test_double_dollar_reads_the_context_object() -> None:
    context = {"Execution": {"Id": "arn:x", "Input": {"k": [7]}}}
    s = scope(context=context)
    assert compile_path("$$").get(s) is context
    assert compile_path("$$.Execution.Input.k[0]").get(s) == 7


def test_variable_paths_read_workflow_variables() -> None:
    s = scope(variables={"cfg": {"limits": [10, 20]}, "flag": True})
    assert compile_path("$flag").get(s) is True
    assert compile_path("$cfg.limits[1]").get(s) == 20


def test_a_missing_variable_is_not_found() -> None:
    with pytest.raises(PathNotFound, match="variable '\\$nope' is not defined"):
        compile_path("$nope.x").get(scope())


def test_a_missing_leaf_is_not_found_with_jaywayss_wording() -> None:
    # AWS: "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
    with pytest.raises(PathNotFound) as info:
        compile_path("$.NoSuchInputPath").get(scope())
    assert str(info.value) == "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
    assert info.value.path == "$.NoSuchInputPath"
    assert info.value.detail == "No results for path: $['NoSuchInputPath']"


def test_a_missing_intermediate_property_is_reported_as_missing_property() -> None:
    with pytest.raises(PathNotFound, match=r"Missing property in path \$\['nope'\]"):
        compile_path("$.nope.deeper").get(scope())


@pytest.mark.parametrize(
    "text",
    ["$.a.b[7]", "$.a.b[-4]", "$.s.x", "$.s[0]", "$.a[0]", "$.users.year", "$.n.x", "$.a.b.c"],
)
def test_definite_paths_that_cross_the_wrong_type_or_range_are_not_found(text: str) -> None:
    with pytest.raises(PathNotFound):
        compile_path(text).get(scope())


def test_functions_parse_but_select_nothing_as_on_aws() -> None:
    # AWS fails '$.Jobs.sum()' with "could not be found in the input".
    path = compile_path("$.users.length()")
    assert path.is_definite and not path.is_reference
    with pytest.raises(PathNotFound, match="length\\(\\) is not supported"):
        path.get(scope())


def test_quoted_names_keep_backslashes_except_before_the_quote() -> None:
    # AWS: ESCAPE_SEQUENCES_JSONPATH reads $['Test\""Name"'] as the key Test\""Name".
    key = 'Test\\""Name"'
    s = scope({key: 'Value"\\', "it's": 1})
    assert compile_path('$[\'Test\\""Name"\']').get(s) == 'Value"\\'
    assert compile_path("$['it\\'s']").get(s) == 1


def test_lists_of_the_context_may_be_mappings_other_than_dict() -> None:
    s = Scope(input=None, variables={"v": [1, 2]})
    assert compile_path("$v[1]").get(s) == 2


# --------------------------------------------------------------------------- get: indefinite paths


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.a.b[*]", [1, 2, {"c": 3}]),
        ("$.a.*", [[1, 2, {"c": 3}]]),
        ("$.users[*].year", [1997, 1998]),
        ("$.users[*].name", ["x"]),
        ("$..c", [3]),
        ("$..year", [1997, 1998]),
        ("$.a.b[0:2]", [1, 2]),
        ("$.a.b[1:]", [2, {"c": 3}]),
        ("$.a.b[:1]", [1]),
        ("$.a.b[-2:]", [2, {"c": 3}]),
        ("$.a.b[::2]", [1, {"c": 3}]),
        ("$.a.b[::-1]", [{"c": 3}, 2, 1]),
        ("$.a.b[0,2]", [1, {"c": 3}]),
        ("$.a.b[0,9]", [1]),
        ("$['x y','s']", [{"x y": 5, "s": "text"}]),
        ("$['x y','missing']", [{"x y": 5}]),
        ("$.users[*]['year','name']", [{"year": 1997}, {"year": 1998, "name": "x"}]),
        ("$[*].b[0]", [1]),
        ("$..[0]", [1, {"year": 1997, "status": 0}]),
    ],
)
def test_indefinite_paths_return_the_list_of_matches(text: str, expected: Any) -> None:
    assert compile_path(text).get(scope()) == expected


@pytest.mark.parametrize(
    "text",
    [
        "$.items[*]",
        "$.items[*].itemValue",
        "$.items[1:]",
        "$.items[:1].itemValue",
        "$.item.items[1:5]",
        "$[*]",
        "$..nothing",
        "$nope[*]",
    ],
)
def test_indefinite_paths_over_missing_data_return_an_empty_list(text: str) -> None:
    # AWS: json_path_array_wildcard_or_slice_with_no_input — every one of these gives [].
    assert compile_path(text).get(scope({})) == []


def test_recursive_descent_visits_parents_before_children() -> None:
    doc = {"k": 1, "x": {"k": 2, "y": [{"k": 3}]}}
    assert compile_path("$..k").get(scope(doc)) == [1, 2, 3]


def test_recursive_wildcard_returns_every_descendant_once() -> None:
    doc = {"a": [1, {"b": 2}]}
    assert compile_path("$..*").get(scope(doc)) == [[1, {"b": 2}], 1, {"b": 2}, 2]


# --------------------------------------------------------------------------- filters


USERS = {
    "users": [
        {"year": 1997, "status": 0, "name": "ann", "tags": ["a"]},
        {"year": 1998, "status": 1, "name": "bob"},
        {"year": 2001, "status": 1.0, "name": "Cid", "active": False},
    ],
    "limit": 1998,
}


@pytest.mark.parametrize(
    ("flt", "names"),
    [
        ("@.status == 0", ["ann"]),  # AWS: state_pass_regex_json_path_base
        ("@.status==1", ["bob", "Cid"]),
        ("@.status != 1", ["ann"]),
        ("@.year > 1997", ["bob", "Cid"]),
        ("@.year >= 1998", ["bob", "Cid"]),
        ("@.year < 1998", ["ann"]),
        ("@.year <= 1998", ["ann", "bob"]),
        ("@.year > $.limit", ["Cid"]),
        ("@.name == 'bob'", ["bob"]),
        ('@.name == "bob"', ["bob"]),
        ("@.name > 'b'", ["bob"]),
        ("@.tags", ["ann"]),
        ("!@.tags", ["bob", "Cid"]),
        ("@.active", ["Cid"]),
        ("@.active == false", ["Cid"]),
        ("@.year > 1997 && @.status == 1", ["bob", "Cid"]),
        ("@.year == 1997 || @.name == 'Cid'", ["ann", "Cid"]),
        ("(@.year == 1997 || @.year == 1998) && @.status == 1", ["bob"]),
        ("!(@.status == 1)", ["ann"]),
        ("@.name =~ /c.d/i", ["Cid"]),
        ("@.name =~ /b/", []),
        ("@.name in ['ann', 'bob']", ["ann", "bob"]),
        ("@.name nin ['ann', 'bob']", ["Cid"]),
        ("@.year > '1997'", []),
        ("@.missing == null", []),
        ("@.missing != 1", ["ann", "bob", "Cid"]),
        ("@.tags[0] == 'a'", ["ann"]),
        ("@['name'] == 'ann'", ["ann"]),
        ("@.year == 1.997e3", ["ann"]),
        ("true", ["ann", "bob", "Cid"]),
    ],
)
def test_filters_select_array_items_matching_the_predicate(flt: str, names: list[str]) -> None:
    result = compile_path(f"$.users[?({flt})]").get(scope(USERS))
    assert [u["name"] for u in result] == names


def test_a_filter_on_an_object_tests_the_object_itself() -> None:
    doc = {"o": {"k": 2}}
    assert compile_path("$.o[?(@.k == 2)]").get(scope(doc)) == [{"k": 2}]
    assert compile_path("$.o[?(@.k == 3)]").get(scope(doc)) == []


def test_filters_can_follow_with_more_steps() -> None:
    assert compile_path("$.users[?(@.status == 1)].name").get(scope(USERS)) == ["bob", "Cid"]


def test_booleans_never_equal_numbers_in_filters() -> None:
    doc = {"v": [{"x": True}, {"x": 1}]}
    assert compile_path("$.v[?(@.x == 1)]").get(scope(doc)) == [{"x": 1}]
    assert compile_path("$.v[?(@.x == true)]").get(scope(doc)) == [{"x": True}]


def test_an_indefinite_path_inside_a_filter_compares_its_list() -> None:
    doc = {"v": [{"t": [1, 2]}, {"t": [3]}]}
    assert compile_path("$.v[?(@.t[*] == [3])]").get(scope(doc)) == [{"t": [3]}]


# --------------------------------------------------------------------------- set_path (ResultPath)


def test_set_path_at_root_replaces_the_whole_value() -> None:
    assert set_path({"a": 1}, compile_reference_path("$"), [1]) == [1]


def test_set_path_adds_a_member_without_mutating_the_target() -> None:
    target = {"a": 1, "keep": {"deep": [1]}}
    snapshot = copy.deepcopy(target)
    out = set_path(target, compile_reference_path("$.last"), {"r": 1})
    assert out == {"a": 1, "keep": {"deep": [1]}, "last": {"r": 1}}
    assert target == snapshot
    assert out["keep"] is target["keep"]  # untouched subtrees are shared


def test_set_path_creates_missing_objects_along_the_way() -> None:
    assert set_path({}, compile_reference_path("$.a.b.c"), 1) == {"a": {"b": {"c": 1}}}


def test_set_path_replaces_an_existing_member() -> None:
    assert set_path({"a": {"b": 1, "c": 2}}, compile_reference_path("$.a.b"), 9) == {"a": {"b": 9, "c": 2}}


def test_set_path_replaces_an_existing_array_element() -> None:
    target = {"a": [1, {"x": 1}, 3]}
    out = set_path(target, compile_reference_path("$.a[1].y"), 2)
    assert out == {"a": [1, {"x": 1, "y": 2}, 3]}
    assert target == {"a": [1, {"x": 1}, 3]}
    assert set_path([0, 1], compile_reference_path("$[-1]"), 5) == [0, 5]


@pytest.mark.parametrize(
    ("target", "text"),
    [
        ({"a": "str"}, "$.a.b"),
        ("str", "$.a"),
        ([1, 2], "$.a"),
        (None, "$.a"),
        ({"a": None}, "$.a.b"),
        ({"a": [1]}, "$.a[3]"),
        ({"a": {}}, "$.a[0]"),
        ({}, "$.a[0]"),
    ],
)
def test_set_path_across_a_non_object_fails_with_aws_wording(target: Any, text: str) -> None:
    with pytest.raises(PathSetError, match=f"Unable to apply ReferencePath {re.escape(text)} to input"):
        set_path(target, compile_reference_path(text), 1)


def test_set_path_refuses_a_non_reference_path() -> None:
    with pytest.raises(PathSetError, match="not a Reference Path"):
        set_path({}, compile_path("$.a[*]"), 1)


# --------------------------------------------------------------------------- json_equal


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (False, 0, False),
        (None, None, True),
        ({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ([1, 2], [2, 1], False),
        ("1", 1, False),
        ([1], {"0": 1}, False),
    ],
)
def test_json_equal_compares_values_not_python_identities(a: Any, b: Any, equal: bool) -> None:
    assert json_equal(a, b) is equal
    assert json_equal(b, a) is equal


# --------------------------------------------------------------------------- properties

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(["a", "b", "c", "x y", "0"])
steps = st.lists(keys | st.integers(min_value=-3, max_value=3), max_size=4)


def _render(step: str | int) -> str:
    if isinstance(step, int):
        return f"[{step}]"
    return f".{step}" if step.isidentifier() else f"['{step}']"


@settings(max_examples=300, deadline=None)
@given(doc=json_values, path_steps=steps)
def test_get_on_random_json_returns_a_value_or_raises_path_not_found(doc: Any, path_steps: list[Any]) -> None:
    path = compile_path("$" + "".join(_render(s) for s in path_steps))
    assert path.steps == tuple(path_steps)
    try:
        value = path.get(scope(doc) if doc is not None else Scope(input=None))
    except PathNotFound:
        return
    expected = doc
    for step in path_steps:
        expected = expected[step]
    assert value is expected


indefinite_texts = st.sampled_from(
    ["$[*]", "$..a", "$..*", "$.a[1:]", "$[?(@.a)]", "$[?(@.a > 1)]", "$['a','b']", "$[0,1].a", "$..[0]"]
)


@settings(max_examples=200, deadline=None)
@given(doc=json_values, text=indefinite_texts)
def test_indefinite_paths_on_random_json_always_return_a_list(doc: Any, text: str) -> None:
    assert isinstance(compile_path(text).get(Scope(input=doc)), list)


@settings(max_examples=300, deadline=None)
@given(
    doc=st.dictionaries(keys, json_values, max_size=4),
    path_steps=st.lists(keys, min_size=1, max_size=4),
    value=json_values,
)
def test_set_path_then_get_round_trips_and_leaves_the_target_untouched(
    doc: dict[str, Any], path_steps: list[str], value: Any
) -> None:
    path = compile_reference_path("$" + "".join(_render(s) for s in path_steps))
    before = copy.deepcopy(doc)
    try:
        out = set_path(doc, path, value)
    except PathSetError:
        # Only legitimate when some step on the way lands on a non-object.
        node: Any = doc
        for step in path_steps[:-1]:
            if not isinstance(node, dict) or step not in node:
                break
            node = node[step]
        assert not isinstance(node, dict)
        return
    assert doc == before
    assert compile_path(path.text).get(Scope(input=out)) is value


def test_reference_get_is_fast_enough_for_the_hot_path() -> None:
    """A loose guard (not a benchmark): 10,000 ``$.v`` lookups well under 50 ms."""
    import time

    path: Path = compile_path("$.v")
    s = Scope(input={"v": 1}, rng=random.Random(0))
    start = time.perf_counter()
    for _ in range(10_000):
        path.get(s)
    assert time.perf_counter() - start < 0.05
