"""Payload templates (Parameters, ResultSelector, ItemSelector, Assign, …) compiled once.

A JSONPath payload template is a JSON value whose object keys ending in
``.$`` take their value from a path or an intrinsic function call. At
definition time the template becomes a tree of small closures; at run time
evaluating it is one call that builds the result. A template with nothing
dynamic in it compiles to its constant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import Problem, StatesRuntime
from engine.intrinsics import IntrinsicSyntaxError, compile_intrinsic, is_intrinsic
from engine.jsonvalue import JSON, dumps_str
from engine.paths import PathNotFound, PathSyntaxError, compile_path
from engine.scope import Scope

Evaluator = Callable[[Scope], JSON]


def pointer(parent: str, key: str | int) -> str:
    """Extend a JSON Pointer by one segment (RFC 6901 escaping)."""
    k = str(key).replace("~", "~0").replace("/", "~1")
    return f"{parent}/{k}"


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """A compiled payload template."""

    evaluate: Evaluator
    constant: bool
    uses_context: bool


def compile_dynamic(text: str, field: str, location: str, problems: list[Problem]) -> tuple[Evaluator, bool]:
    """Compile the value of a ``.$`` field: a path or an intrinsic call.

    Returns the evaluator and whether it reads the context object.
    """
    if is_intrinsic(text):
        try:
            intrinsic = compile_intrinsic(text)
        except IntrinsicSyntaxError as exc:
            problems.append(Problem(location, "INVALID_INTRINSIC", str(exc)))
            return _never, False
        return intrinsic.evaluate, "$$" in text
    if text.startswith("$"):
        try:
            path = compile_path(text)
        except PathSyntaxError as exc:
            problems.append(Problem(location, "INVALID_PATH", str(exc)))
            return _never, False
        get = path.get

        def evaluate(scope: Scope) -> JSON:
            try:
                return get(scope)
            except PathNotFound:
                raise StatesRuntime(
                    cause=(
                        f"The JSONPath '{text}' specified for the field '{field}' could not be "
                        f"found in the input '{dumps_str(scope.input)}'"
                    )
                ).scoped() from None

        return evaluate, text.startswith("$$")
    problems.append(
        Problem(
            location,
            "INVALID_PATH",
            f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call",
        )
    )
    return _never, False


def _never(scope: Scope) -> JSON:  # pragma: no cover - only reachable in invalid definitions
    raise StatesRuntime(cause="invalid definition")


def compile_template(value: JSON, location: str, problems: list[Problem]) -> CompiledTemplate:
    """Compile a JSONPath payload template, appending any problems found."""
    if isinstance(value, dict):
        entries: list[tuple[str, bool, JSON]] = []
        constant = True
        uses_ctx = False
        for key, item in value.items():
            loc = pointer(location, key)
            if key.endswith(".$"):
                name = key[:-2]
                if not isinstance(item, str):
                    problems.append(
                        Problem(loc, "INVALID_PATH", f"The value for the field '{key}' must be a STRING")
                    )
                    continue
                ev, ctx = compile_dynamic(item, key, loc, problems)
                entries.append((name, True, ev))
                constant = False
                uses_ctx = uses_ctx or ctx
            else:
                sub = compile_template(item, loc, problems)
                if sub.constant:
                    entries.append((key, False, item))
                else:
                    entries.append((key, True, sub.evaluate))
                    constant = False
                    uses_ctx = uses_ctx or sub.uses_context
        if constant:
            return CompiledTemplate(_constant(value), True, False)
        frozen = tuple(entries)

        def evaluate_object(scope: Scope) -> JSON:
            out: dict[str, JSON] = {}
            for k, dynamic, v in frozen:
                out[k] = v(scope) if dynamic else v
            return out

        return CompiledTemplate(evaluate_object, False, uses_ctx)
    if isinstance(value, list):
        subs = [compile_template(item, pointer(location, i), problems) for i, item in enumerate(value)]
        if all(s.constant for s in subs):
            return CompiledTemplate(_constant(value), True, False)
        items = tuple((s.constant, v if s.constant else s.evaluate) for s, v in zip(subs, value, strict=True))

        def evaluate_list(scope: Scope) -> JSON:
            return [v if const else v(scope) for const, v in items]

        return CompiledTemplate(evaluate_list, False, any(s.uses_context for s in subs))
    return CompiledTemplate(_constant(value), True, False)


def _constant(value: JSON) -> Evaluator:
    # Constants are shared, never copied: the engine never mutates a value in
    # place (ResultPath writes copy along the path), so sharing is safe.
    def evaluate(scope: Scope) -> JSON:
        return value

    return evaluate
