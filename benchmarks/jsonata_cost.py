"""What a JSONata transformation costs, against JSONPath and against plain Python.

The workload is the Pass-like transformation ``{"i": 1, "v": "{% $states.input.v %}"}``
over the input ``{"v": 42, "w": "x"}``, measured four ways:

- ``python_dict_copy``: the same result built by hand (copy the literal, read one key);
  the floor any interpreter is measured against.
- ``jsonpath_template``: the JSONPath form ``{"i": 1, "v.$": "$.v"}`` through
  ``engine.templates`` (skipped when that module cannot be imported).
- ``jsonata_template``: the JSONata form through ``engine.jsonata.compile_template``.
- ``jsonata_expression``: the single expression ``$states.input.v`` alone.
- ``jsonata_template_computed``: ``{"i": 1, "v": "{% $states.input.v * 2 %}"}``, an
  expression that is more than a path and so runs through the JSONata evaluator
  (simple paths like ``$states.input.v`` are read directly).

plus the one-off compile cost of the JSONata template. Each line printed is one
JSON object: ``name``, ``n``, ``seconds``, ``per_op_us``, ``python``, ``machine``.

Run: ``/work/venv/bin/python benchmarks/jsonata_cost.py [--n 20000]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from engine.jsonata import compile_expression, compile_template

STATE_INPUT: dict[str, Any] = {"v": 42, "w": "x"}
JSONATA_TEMPLATE: dict[str, Any] = {"i": 1, "v": "{% $states.input.v %}"}
JSONPATH_TEMPLATE: dict[str, Any] = {"i": 1, "v.$": "$.v"}


def measure(name: str, n: int, operation: Callable[[], object]) -> dict[str, Any]:
    """Run ``operation`` ``n`` times (after a short warm-up) and describe the timing."""
    for _ in range(min(n, 500)):
        operation()
    start = time.perf_counter()
    for _ in range(n):
        operation()
    seconds = time.perf_counter() - start
    return {
        "name": name,
        "n": n,
        "seconds": round(seconds, 6),
        "per_op_us": round(seconds / n * 1e6, 3),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def python_dict_copy() -> Callable[[], object]:
    """The transformation written directly in Python."""
    literal = {"i": 1}

    def run() -> object:
        result = dict(literal)
        result["v"] = STATE_INPUT["v"]
        return result

    return run


def jsonpath_template() -> Callable[[], object] | None:
    """The JSONPath form through the engine's payload templates, if available."""
    try:
        from engine.scope import Scope
        from engine.templates import compile_template as compile_jsonpath_template
    except ImportError:
        return None
    problems: list[Any] = []
    template = compile_jsonpath_template(JSONPATH_TEMPLATE, "/Parameters", problems)
    if problems:
        return None
    scope = Scope(input=STATE_INPUT, context={}, variables={}, rng=random.Random(0))

    def run() -> object:
        return template.evaluate(scope)

    return run


def jsonata_template() -> Callable[[], object]:
    """The JSONata form through this package."""
    template = compile_template(JSONATA_TEMPLATE, field="Output")
    rng = random.Random(0)
    bindings = {"states": {"input": STATE_INPUT, "context": {}}}
    assert template.evaluate(bindings, rng=rng, now_millis=0) == {"i": 1, "v": 42}

    def run() -> object:
        return template.evaluate(bindings, rng=rng, now_millis=0)

    return run


def jsonata_template_computed() -> Callable[[], object]:
    """A template whose expression needs the JSONata evaluator."""
    template = compile_template({"i": 1, "v": "{% $states.input.v * 2 %}"}, field="Output")
    rng = random.Random(0)
    bindings = {"states": {"input": STATE_INPUT, "context": {}}}
    assert template.evaluate(bindings, rng=rng, now_millis=0) == {"i": 1, "v": 84}

    def run() -> object:
        return template.evaluate(bindings, rng=rng, now_millis=0)

    return run


def jsonata_expression() -> Callable[[], object]:
    """One expression evaluated on its own."""
    expression = compile_expression("$states.input.v")
    rng = random.Random(0)
    bindings = {"states": {"input": STATE_INPUT, "context": {}}}

    def run() -> object:
        return expression.evaluate(bindings, rng=rng, now_millis=0)

    return run


def main(argv: list[str] | None = None) -> int:
    """Print one JSON line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=20_000, help="evaluations per measurement")
    args = parser.parse_args(argv)
    n: int = args.n

    results = [measure("python_dict_copy", n, python_dict_copy())]
    jsonpath = jsonpath_template()
    if jsonpath is not None:
        results.append(measure("jsonpath_template", n, jsonpath))
    results.append(measure("jsonata_template", n, jsonata_template()))
    results.append(measure("jsonata_template_computed", n, jsonata_template_computed()))
    results.append(measure("jsonata_expression", n, jsonata_expression()))
    results.append(
        measure("jsonata_compile_template", max(1, n // 20), lambda: compile_template(JSONATA_TEMPLATE))
    )
    for result in results:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
