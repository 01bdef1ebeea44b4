"""D1004 and the regex functions' match loop, as jsonata-js 2.2.2 (Node.js) answers.

Each expected value below was read from ``jsonata(expr).evaluate({})`` in
jsonata-js 2.2.2: its matcher hands out matches one at a time, the next one
searched from where the last ended while that is inside the string, and an
empty next match is error D1004 ("Regular expression matches zero length
string"). ``$contains`` asks for one match only, so it never raises it.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from engine import Engine
from engine.jsonata import JsonataEvaluationError, compile_expression

D1004 = "D1004"


def evaluate(text: str) -> Any:
    return compile_expression(text).evaluate({}, rng=random.Random(0))


@pytest.mark.parametrize(
    "text",
    [
        '$match("abc", /x*/)',
        '$match("xab", /x*/)',
        '$match("abc", /a|/)',
        '$replace("abc", /x*/, "-")',
        '$replace("abc", /b*/, "-")',
        '$replace("ab", /a|/, "-", 1)',
        '$split("abc", /x*/)',
    ],
)
def test_an_empty_next_match_is_d1004(text: str) -> None:
    with pytest.raises(JsonataEvaluationError, match=D1004):
        evaluate(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('$match("", /x*/)', {"match": "", "index": 0, "groups": []}),
        ('$match("aaa", /a/, 2)', [{"match": "a", "index": 0, "groups": []}, {"match": "a", "index": 1, "groups": []}]),
        ('$replace("", /x*/, "-")', "-"),
        ('$contains("abc", /x*/)', True),
        ('$split("", /x*/)', ["", ""]),
        ('$split("", /x/)', [""]),
        ('$split("a1b2c", /(\\d)/)', ["a", "b", "c"]),
        ('$split("a1b2c", /\\d/, 2)', ["a", "b"]),
    ],
)
def test_a_first_or_last_empty_match_is_no_error(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


async def test_a_state_whose_regex_matches_the_empty_string_fails_with_d1004() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": "{% $match($states.input.s, /x*/) %}", "End": True}},
    }
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(definition, {"s": "abc"})
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert result.cause is not None and D1004 in result.cause
