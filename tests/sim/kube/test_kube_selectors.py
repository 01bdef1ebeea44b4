"""The label-selector parser (properties and examples) and field selectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.kube.selectors import (
    DOUBLE_EQUALS,
    EQUALS,
    EXISTS,
    GREATER,
    IN,
    LESS,
    NOT_EQUALS,
    NOT_EXISTS,
    NOT_IN,
    LabelSelector,
    Requirement,
    parse_field_selector,
    parse_label_selector,
    selector_from_label_selector_object,
)

names = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,10}[a-z0-9])?", fullmatch=True)
prefixes = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?(\.[a-z0-9]{1,5}){0,2}", fullmatch=True)
keys = st.one_of(names, st.builds(lambda p, n: f"{p}/{n}", prefixes, names)).filter(
    lambda k: k not in ("in", "notin")
)
values = st.one_of(st.just(""), names)


@st.composite
def requirements(draw: st.DrawFn) -> Requirement:
    key = draw(keys)
    op = draw(
        st.sampled_from([EQUALS, DOUBLE_EQUALS, NOT_EQUALS, IN, NOT_IN, EXISTS, NOT_EXISTS, GREATER, LESS])
    )
    if op in (EXISTS, NOT_EXISTS):
        return Requirement(key, op)
    if op in (IN, NOT_IN):
        chosen = draw(st.sets(names, min_size=1, max_size=4))
        return Requirement(key, op, tuple(sorted(chosen)))
    if op in (GREATER, LESS):
        return Requirement(key, op, (str(draw(st.integers(-1000, 1000))),))
    return Requirement(key, op, (draw(values),))


selectors = st.lists(requirements(), max_size=5).map(lambda rs: LabelSelector(tuple(rs)))
label_sets = st.dictionaries(keys, st.one_of(values, st.integers(-5, 5).map(str)), max_size=6)


def reference_match(requirement: Requirement, labels: dict[str, str]) -> bool:
    present = requirement.key in labels
    value = labels.get(requirement.key)
    op = requirement.operator
    if op == EXISTS:
        return present
    if op == NOT_EXISTS:
        return not present
    if op in (EQUALS, DOUBLE_EQUALS, IN):
        return present and value in requirement.values
    if op in (NOT_EQUALS, NOT_IN):
        return not present or value not in requirement.values
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return False
    if number is None:
        return False
    limit = int(requirement.values[0])
    return number > limit if op == GREATER else number < limit


@given(selectors)
def test_rendering_then_parsing_a_selector_gives_it_back(selector: LabelSelector) -> None:
    assert parse_label_selector(selector.render()) == selector


@given(selectors, st.sampled_from([" ", "  ", "\t"]))
def test_whitespace_around_tokens_does_not_change_the_parse(selector: LabelSelector, space: str) -> None:
    spaced = selector.render().replace(",", f"{space},{space}")

    assert parse_label_selector(spaced) == selector


@given(selectors, label_sets)
def test_matching_is_the_conjunction_of_the_requirements(
    selector: LabelSelector, labels: dict[str, str]
) -> None:
    expected = all(reference_match(r, labels) for r in selector.requirements)

    assert selector.matches(labels) is expected


@given(st.text(max_size=30))
def test_the_parser_never_raises_anything_but_value_error(text: str) -> None:
    try:
        parse_label_selector(text)
    except ValueError as exc:
        assert str(exc).startswith("unable to parse requirement")


@pytest.mark.parametrize(
    "text",
    ["a in b", "a in ()", "a=b=c", "!a=b", "a,", ",a", "a in (b", "-bad=1", "a=-bad-", "a>b", "a notin"],
)
def test_malformed_selectors_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="unable to parse requirement"):
        parse_label_selector(text)


def test_examples_from_the_kubernetes_documentation_parse() -> None:
    selector = parse_label_selector("environment in (production, qa),tier notin (frontend),partition,!legacy")

    assert selector.matches({"environment": "qa", "tier": "backend", "partition": "a"})
    assert not selector.matches({"environment": "qa", "tier": "frontend", "partition": "a"})
    assert not selector.matches({"environment": "qa", "partition": "a", "legacy": "y"})


def test_a_label_selector_object_converts_to_requirements() -> None:
    selector = selector_from_label_selector_object(
        {
            "matchLabels": {"app": "x"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}],
        }
    )

    assert selector.matches({"app": "x", "tier": "a"})
    assert not selector.matches({"app": "x", "tier": "b"})


def test_field_selectors_support_equality_inequality_and_escapes() -> None:
    selector = parse_field_selector(r"metadata.name=a\,b,status.phase!=Failed")

    assert selector.matches({"metadata": {"name": "a,b"}, "status": {"phase": "Running"}})
    assert not selector.matches({"metadata": {"name": "a,b"}, "status": {"phase": "Failed"}})
    assert selector.name() == "a,b"


def test_field_selectors_reject_fields_the_resource_does_not_support() -> None:
    with pytest.raises(ValueError, match=r"field label not supported: spec\.x"):
        parse_field_selector("spec.x=1", frozenset({"metadata.name"}))
