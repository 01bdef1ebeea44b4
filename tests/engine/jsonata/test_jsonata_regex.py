"""JSONata's regular expressions (engine.jsonata._regex): JavaScript's meaning, and a deadline.

Invariants: a regex literal matches, replaces and splits as JSONata defines it
(flags ``i`` and ``m``, ``$n`` references in replacements); and however
badly a pattern backtracks, it fails its evaluation with
``States.QueryEvaluationError`` (``D1012``, naming the pattern) within the
evaluation's time, instead of holding the event loop.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from engine import Engine
from engine.jsonata import JsonataEvaluationError, compile_expression
from engine.jsonata._budget import EVALUATION_TIME_LIMIT_MS

#: Backtracks exponentially in the regex module as in re (it spots ``(a+)+$``, not this).
BACKTRACKING = "/(a|aa)+$/"
SUBJECT = '"' + "a" * 40 + '!"'


def run(text: str, state_input: object = None) -> object:
    bindings = {"states": {"input": state_input, "context": {}}}
    return compile_expression(text).evaluate(bindings, rng=random.Random(7))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('$contains("hello$world", /^hello\\$/)', True),
        ('$contains("Hello", /^hello/)', False),
        ('$contains("Hello", /^hello/i)', True),
        ('$contains("one\\ntwo", /^two/)', False),
        ('$contains("one\\ntwo", /^two/m)', True),
        ('$match("abcabc", /b(c)/).index', [1, 4]),
        ('$match("abcabc", /b(c)/, 1).groups', ["c"]),
        ('$split("a1b22c", /\\d+/)', ["a", "b", "c"]),
        ('$split("a1b", /(\\d)/)', ["a", "b"]),  # jsonata-js: no captured groups
        ('$contains("a\\n", /a$/)', False),
        ('$contains("a\\u2028b", /^b/m)', True),
        ('$contains("\\u0663", /\\d/)', False),
        ('$contains("x{,3}", /x{,3}/)', True),
        ('("xAby" ~> /ab/i).match', "Ab"),
        ('["apple", "berry", "avocado"][$contains($, /^a/)]', ["apple", "avocado"]),
    ],
)
def test_a_regex_literal_means_what_jsonata_says(expression: str, expected: object) -> None:
    assert run(expression) == expected


def test_replacement_references_follow_jsonata() -> None:
    # $2 names no group (empty); $12 falls back to group 1 then "2"; $0 is the match; $$ a dollar.
    assert run('$replace("abc", /(b)/, "[$1][$2][$12][$0][$$]")') == "a[b][][b2][b][$]c"


def test_a_backslash_in_a_replacement_is_just_a_backslash() -> None:
    # JavaScript's replace knows no backslash escapes; Python's templates would refuse a lone one.
    assert run('$replace("abc", /b/, "\\\\")') == "a\\c"
    assert run('$replace("abc", /(b)/, "\\\\n$1")') == "a\\nbc"


def test_replace_with_a_limit_and_with_a_function() -> None:
    assert run('$replace("abab", /b/, "X", 1)') == "aXab"
    assert run('$replace("hello", /l/, function($m){ $uppercase($m.match) })') == "heLLo"


@pytest.mark.parametrize(
    "expression",
    [
        f"$match({SUBJECT}, {BACKTRACKING})",
        f'$replace({SUBJECT}, {BACKTRACKING}, "b")',
        f"$split({SUBJECT}, {BACKTRACKING})",
        f"$contains({SUBJECT}, {BACKTRACKING})",
        f"({SUBJECT} ~> {BACKTRACKING}).match",
        f"[{SUBJECT}][$contains($, {BACKTRACKING})]",
    ],
    ids=["match", "replace", "split", "contains", "applied", "predicate"],
)
def test_a_backtracking_regex_fails_the_evaluation_in_time(expression: str) -> None:
    start = time.process_time()
    with pytest.raises(JsonataEvaluationError) as caught:
        run(expression)
    spent = time.process_time() - start
    assert caught.value.code == "D1012"
    assert "/(a|aa)+$/" in caught.value.detail
    # The regex module counts the processor time its match takes; so does this bound.
    assert spent < EVALUATION_TIME_LIMIT_MS / 1000 * 2


def test_a_nested_quantifier_the_regex_module_resolves_stays_fast() -> None:
    # The brief's own example: re backtracks for minutes on it, the regex module answers at once.
    assert run(f"$contains({SUBJECT}, /(a+)+$/)") is False


def _output(expression: str) -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Output": {"x": "{% " + expression + " %}"}, "End": True}},
    }


async def test_a_backtracking_regex_fails_its_state_with_query_evaluation_error() -> None:
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(_output(f"$match({SUBJECT}, {BACKTRACKING})"), {})
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert result.cause is not None
    assert "D1012" in result.cause and "/(a|aa)+$/" in result.cause
