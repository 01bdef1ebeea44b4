"""A JSONata regular expression is bounded by the evaluation's limit in wall time, not processor time.

Invariant: the regex module counts its ``timeout`` in the process's
processor time, so a process that gets half a core would let a runaway match
hold the loop twice the limit. A match that outlives a small inline slice
runs on a worker thread, waited for in wall time: under contention a
runaway fails within the limit of wall time, and a slow but sound match on
that path answers exactly as an inline one.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.jsonata import JsonataEvaluationError, _budget, compile_expression
from engine.jsonata._budget import EVALUATION_TIME_LIMIT_MS
from engine.jsonata._regex import _bounded, translate

LIMIT_S = EVALUATION_TIME_LIMIT_MS / 1000
SUBJECT = '"' + "a" * 40 + '!"'
RUNAWAYS = [
    f"$match({SUBJECT}, /(a|aa)+$/)",
    f'$replace({SUBJECT}, /(a|aa)+$/, "b")',
    f"$split({SUBJECT}, /(a|aa)+$/)",
]


def run(text: str) -> object:
    bindings = {"states": {"input": None, "context": {}}}
    return compile_expression(text).evaluate(bindings, rng=random.Random(7))


# The evaluations run in a child pinned to one processor that a busy sibling shares: the child gets
# about half of it, as on a loaded machine (and no more, whatever else the machine runs).
CONTENDED = textwrap.dedent(
    """
    import json, os, random, subprocess, sys, time
    from engine.jsonata import JsonataEvaluationError, compile_expression

    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    hog = subprocess.Popen(
        [sys.executable, "-c", f"import os\\nos.sched_setaffinity(0, {{{cpu}}})\\nwhile True: pass"]
    )
    try:
        time.sleep(0.2)
        out = []
        for text in json.loads(sys.argv[1]):
            started = time.perf_counter()
            try:
                compile_expression(text).evaluate({"states": {"input": None, "context": {}}}, rng=random.Random(7))
                code = None
            except JsonataEvaluationError as exc:
                code = exc.code
            out.append([time.perf_counter() - started, code])
        print(json.dumps(out))
    finally:
        hog.kill()
        hog.wait()
    """
)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs processor affinity (Linux)")
def test_a_runaway_regex_on_half_a_processor_fails_within_the_limit_in_wall_time() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CONTENDED, json.dumps(RUNAWAYS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results = json.loads(done.stdout)
    assert [code for _, code in results] == ["D1012"] * len(RUNAWAYS)
    # Counted in processor time, each took about twice the limit (1.0 s for 0.5 s).
    for wall, _ in results:
        assert LIMIT_S * 0.9 < wall < LIMIT_S + 0.15


def test_a_slow_sound_match_past_the_inline_slice_answers_from_the_worker_thread() -> None:
    # About 0.1 s of backtracking on this machine: longer than the inline slice, within the limit.
    subject = '"' + "a" * 25 + '!"'
    started = time.perf_counter()
    assert run(f"$match({subject}, /(a|aa)+$|!/).index") == 25
    assert time.perf_counter() - started < LIMIT_S
    assert any(t.name.startswith("jsonata-regex") for t in threading.enumerate())


def test_a_runaway_regex_fails_the_evaluation_in_wall_time() -> None:
    for text in RUNAWAYS:
        started = time.perf_counter()
        with pytest.raises(JsonataEvaluationError) as caught:
            run(text)
        assert caught.value.code == "D1012" and "/(a|aa)+$/" in caught.value.detail
        assert time.perf_counter() - started < LIMIT_S + 0.15


PATTERNS = ["a+", "(a|aa)+$", "b(a*)!", "[ab]{2,3}", "(?:ab|a)*b", "^a|!$", "(a)(b)?"]


@settings(max_examples=150, deadline=None)
@given(
    pattern=st.sampled_from(PATTERNS),
    subject=st.text(alphabet="ab!", max_size=30),
    pos=st.integers(min_value=0, max_value=30),
)
def test_a_match_on_the_worker_thread_is_the_inline_one(pattern: str, subject: str, pos: int) -> None:
    compiled = regex.compile(translate(pattern))
    pos = min(pos, len(subject))
    _, opened = _budget.begin()
    try:
        threaded = _bounded(compiled, pattern, subject, pos, inline=0.0)
        inline = _bounded(compiled, pattern, subject, pos)
    finally:
        _budget.end(opened)
    expected = compiled.search(subject, pos)
    for got in (threaded, inline):
        if expected is None:
            assert got is None
        else:
            assert got is not None
            assert (got.span(), got.groups()) == (expected.span(), expected.groups())
