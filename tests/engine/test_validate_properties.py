"""Property tests: no input crashes the validator.

Whatever it is given — arbitrary JSON, definition-shaped objects with random
field values, arbitrary text — ``parse_definition`` either returns a
``StateMachine`` or raises ``InvalidDefinition`` whose problems all carry a
JSON Pointer location and a code. Any other exception is a crash.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import ExecutorRegistry, InvalidDefinition, StateMachine, parse_definition
from engine.definition.parse import ALLOWED_FIELDS, STATE_TYPES
from executors.local import LambdaExecutor, register

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Definition-shaped objects are costly to generate; fewer examples keep the file within a few seconds.
SHAPED = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

STATE_NAMES = ["A", "B", "C"]
PATHS = ["$", "$.a", "$.a[0]", "$$.Execution.Id", "$.a.b", "nope", "$..x", "$.a[*]", "", "$["]
ERROR_NAMES = ["States.ALL", "States.TaskFailed", "States.Timeout", "MyError", ""]
RESOURCES = [
    "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::lambda:invoke.sync",
    "arn:aws:states:::nope:act",
    "x",
]
ALL_FIELDS = sorted(set().union(*ALLOWED_FIELDS.values()) | {"Bogus"})

# Plausible values per field: mostly well-typed, sometimes wrong, so both parse paths are exercised.
field_value = st.one_of(
    json_values,
    st.sampled_from(STATE_NAMES),
    st.sampled_from(PATHS),
    st.sampled_from(RESOURCES),
    st.integers(-3, 10),
)


@st.composite
def rule(draw: st.DrawFn, depth: int = 0) -> Any:
    kind = draw(st.sampled_from(["cmp", "cmp", "and", "not", "junk"] if depth < 2 else ["cmp", "junk"]))
    if kind == "junk":
        return draw(json_values)
    if kind == "and":
        return {draw(st.sampled_from(["And", "Or"])): draw(st.lists(rule(depth + 1), max_size=3))}
    if kind == "not":
        return {"Not": draw(rule(depth + 1))}
    op = draw(
        st.sampled_from(
            [
                "StringEquals",
                "NumericGreaterThan",
                "BooleanEquals",
                "IsPresent",
                "IsNull",
                "TimestampLessThanPath",
                "StringMatches",
                "NumericEqualsPath",
                "Nope",
            ]
        )
    )
    out: dict[str, Any] = {op: draw(field_value)}
    if draw(st.booleans()):
        out["Variable"] = draw(st.sampled_from(PATHS))
    return out


@st.composite
def retriers(draw: st.DrawFn) -> Any:
    keys = [
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Bogus",
    ]
    out: dict[str, Any] = {}
    for k in draw(st.lists(st.sampled_from(keys), max_size=5, unique=True)):
        if k == "ErrorEquals":
            out[k] = draw(st.lists(st.sampled_from(ERROR_NAMES), max_size=3) | json_values)
        elif k == "JitterStrategy":
            out[k] = draw(st.sampled_from(["FULL", "NONE", "x"]) | json_values)
        else:
            out[k] = draw(field_value)
    if draw(st.booleans()):
        out["Next"] = draw(st.sampled_from(STATE_NAMES))
    return out


@st.composite
def state(draw: st.DrawFn, depth: int = 0) -> Any:
    stype = draw(st.sampled_from([*STATE_TYPES, "Bogus"]))
    out: dict[str, Any] = {"Type": stype}
    allowed = sorted(ALLOWED_FIELDS.get(stype, frozenset()) | {"Bogus"})
    for key in draw(st.lists(st.sampled_from(allowed or ALL_FIELDS), max_size=6, unique=True)):
        if key in ("Retry", "Catch"):
            out[key] = draw(st.lists(retriers(), max_size=3) | json_values)
        elif key == "Choices":
            out[key] = [
                {**r, "Next": draw(st.sampled_from(STATE_NAMES))} if isinstance(r, dict) else r
                for r in draw(st.lists(rule(), max_size=3))
            ]
        elif key in ("Branches",) and depth < 1:
            out[key] = draw(st.lists(machine(depth + 1), max_size=2))
        elif key in ("ItemProcessor", "Iterator") and depth < 1:
            out[key] = draw(machine(depth + 1))
        elif key in ("Parameters", "ResultSelector", "ItemSelector", "Assign"):
            out[key] = draw(
                st.dictionaries(st.sampled_from(["a", "b.$", "c.$", "States"]), field_value, max_size=3)
            )
        elif key in ("Arguments", "Output", "Condition", "Items"):
            out[key] = draw(st.sampled_from(["{% $states.input %}", "{% ( %}", "plain"]) | json_values)
        else:
            out[key] = draw(field_value)
    return out


@st.composite
def machine(draw: st.DrawFn, depth: int = 0) -> Any:
    names = draw(st.lists(st.sampled_from(STATE_NAMES), min_size=0, max_size=3, unique=True))
    out: dict[str, Any] = {"States": {n: draw(state(depth)) for n in names}}
    if draw(st.integers(0, 9)) > 0:
        out["StartAt"] = draw(st.sampled_from(STATE_NAMES) | json_values)
    if draw(st.booleans()):
        out[draw(st.sampled_from(["TimeoutSeconds", "Comment", "QueryLanguage", "Version", "Bogus"]))] = draw(
            field_value
        )
    return out


def _parses_or_reports(definition: Any, registry: ExecutorRegistry | None = None) -> None:
    try:
        result = parse_definition(definition, registry=registry)
    except InvalidDefinition as exc:
        assert exc.problems, "InvalidDefinition must list at least one problem"
        for p in exc.problems:
            assert p.location == "" or p.location.startswith("/")
            assert p.code and p.code.upper() == p.code
            assert p.message
        return
    assert isinstance(result, StateMachine)
    assert result.start_at in result.states


@SETTINGS
@given(json_values)
def test_random_json_never_crashes_the_validator(value: Any) -> None:
    _parses_or_reports(value)


@SHAPED
@given(machine(), st.booleans())
def test_random_definition_shaped_objects_never_crash_the_validator(
    definition: Any, with_registry: bool
) -> None:
    registry = None
    if with_registry:
        registry = ExecutorRegistry()
        register(registry, LambdaExecutor())
    _parses_or_reports(definition, registry)


@SHAPED
@given(machine())
def test_a_definition_parses_the_same_from_json_text(definition: Any) -> None:
    """Text and object forms agree: both valid, or both invalid with the same problems."""
    try:
        text = orjson.dumps(definition)
    except TypeError:  # pragma: no cover - the strategy only makes JSON values
        return
    outcomes: list[tuple[Any, ...]] = []
    for form in (definition, text):
        try:
            m = parse_definition(form)
            outcomes.append(("ok", m.start_at, tuple(m.states)))
        except InvalidDefinition as exc:
            outcomes.append(("invalid", sorted((p.location, p.code) for p in exc.problems)))
    assert outcomes[0] == outcomes[1]


@SETTINGS
@given(st.text(max_size=60) | st.binary(max_size=60))
def test_arbitrary_text_is_a_machine_or_an_invalid_definition(text: str | bytes) -> None:
    _parses_or_reports(text)


@SETTINGS
@given(st.text(max_size=40).filter(lambda t: t.strip() != ""))
def test_malformed_json_text_gives_invalid_json(text: str) -> None:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        return
    try:
        parse_definition(text)
    except InvalidDefinition as exc:
        assert [(p.location, p.code) for p in exc.problems] == [("", "INVALID_JSON")]
    else:  # pragma: no cover - reported as a failure
        raise AssertionError("malformed JSON was accepted")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["i", "v"]), st.integers(0, 9), max_size=2), min_size=1, max_size=8
    )
)
def test_generated_valid_pass_chains_always_parse(results: list[dict[str, int]]) -> None:
    names = [f"S{i}" for i in range(len(results))]
    states: dict[str, Any] = {}
    for i, (name, result) in enumerate(zip(names, results, strict=True)):
        st_: dict[str, Any] = {"Type": "Pass", "Result": result, "ResultPath": "$.last"}
        if i + 1 < len(names):
            st_["Next"] = names[i + 1]
        else:
            st_["End"] = True
        states[name] = st_
    m = parse_definition({"StartAt": names[0], "States": states})
    assert list(m.states) == names
