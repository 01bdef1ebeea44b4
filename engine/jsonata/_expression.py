"""One compiled JSONata expression and the AWS wording of its failures.

An expression is parsed once, when the definition is validated; evaluating it
walks the parsed tree with a fresh variable frame holding ``$states`` and the
workflow variables, then converts the result to plain JSON (see
``_values``). Every failure becomes ``States.QueryEvaluationError``.

AWS words a failed expression as one sentence naming the expression (the text
between ``{%`` and ``%}``, trimmed) and the field it sits in, e.g.::

    The JSONata expression '$doesNotExist' specified for the field
    'Output/result' returned nothing (undefined).

and the runtime puts "An error occurred while executing the state 'X'
(entered at the event id #N). " in front. The builders below produce the
sentence; errors carrying it are marked ``scoped()`` so the runtime adds the
state prefix.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from jsonata.jexception import JException
from jsonata.jsonata import Jsonata
from jsonata.parser import Parser

from engine.errors import QueryEvaluationError
from engine.jsonvalue import JSON, dumps_str

from . import _budget
from ._functions import (
    HOOK_NAMES,
    EvaluationContext,
    build_frame,
    builtin_names,
    pop_context,
    push_context,
)
from ._regex import RegexTimeout, ZeroLengthMatch, compile_regex
from ._values import NULL_VALUE, UNDEFINED, Undefined, UnsupportedResult, json_type_name, to_json

_DIALECT_FRAME: Final = build_frame()
_BUILTIN_NAMES: Final = builtin_names()

#: Names a definition never assigns but an expression may read.
RESERVED_VARIABLES: Final = frozenset({"states"})


class JsonataSyntaxError(ValueError):
    """An expression that does not parse; raised when the definition is compiled.

    Attributes:
        expression: the expression text.
        code: the JSONata error code (``S0202``…), if the library gave one.
        detail: the library's message.
    """

    def __init__(self, expression: str, code: str | None, detail: str) -> None:
        self.expression = expression
        self.code = code
        self.detail = detail
        tail = f"{code}: {detail}" if code else detail
        super().__init__(f"invalid JSONata expression '{expression}': {tail}")


class JsonataEvaluationError(QueryEvaluationError):
    """``States.QueryEvaluationError`` raised while evaluating one expression.

    ``cause`` is the library's message with its code (``T2001: The left side
    of the + operator must evaluate to a number``) until a field is known;
    :meth:`for_field` rewrites it into AWS's sentence.

    Attributes:
        expression: the expression text.
        code: the JSONata error code, or ``None`` for a failure without one.
        detail: the message after the code.
    """

    def __init__(self, expression: str, code: str | None, detail: str) -> None:
        self.expression = expression
        self.code = code
        self.detail = detail
        super().__init__(cause=f"{code}: {detail}" if code else detail)

    def for_field(self, field: str) -> QueryEvaluationError:
        """Return the error AWS raises for this failure in ``field``, state-scoped."""
        return scoped(QueryEvaluationError(cause=evaluation_error_cause(self.expression, field, self)))


def scoped(error: QueryEvaluationError) -> QueryEvaluationError:
    """Mark an error whose cause the runtime prefixes with the state's name."""
    error.scoped()
    return error


def _subject(expression: str, field: str) -> str:
    return f"The JSONata expression '{expression}' specified for the field '{field}'"


def evaluation_error_cause(expression: str, field: str, error: JsonataEvaluationError) -> str:
    """AWS's cause for an expression that threw.

    A coded JSONata error ends the sentence and follows it (``... during
    evaluation. T2001: ...``); an uncoded one follows a colon.
    """
    head = f"{_subject(expression, field)} threw an error during evaluation"
    if error.code:
        return f"{head}. {error.code}: {error.detail}"
    return f"{head}: {error.detail}"


def undefined_result_cause(expression: str, field: str) -> str:
    """AWS's cause for an expression that matched nothing (conformance ``undefined_reference``)."""
    return f"{_subject(expression, field)} returned nothing (undefined)."


def unsupported_result_cause(expression: str, field: str) -> str:
    """Cause for a result JSON cannot hold (a function, a regex, NaN)."""
    return f"{_subject(expression, field)} returned an unsupported result type."


def unexpected_type_cause(expression: str, field: str, expected: str, value: JSON) -> str:
    """AWS's cause for a result of the wrong JSON type.

    Conformance ``map_state_items_eval_jsonata_fail``: ``... specified for the
    field 'Items' returned an unexpected result type. Expected 'array', but was
    'string' for value: "string"``.
    """
    return (
        f"{_subject(expression, field)} returned an unexpected result type. "
        f"Expected '{expected}', but was '{json_type_name(value)}' for value: {dumps_str(value)}"
    )


def now_millis() -> int:
    """The wall clock in milliseconds, for callers that do not inject a timestamp."""
    return time.time_ns() // 1_000_000


def variables_frame(bindings: Mapping[str, JSON]) -> Any:
    """Build the library frame holding one evaluation's variables.

    A variable bound to ``None`` would read as undefined, so JSON ``null``
    becomes the library's ``NullValue`` (only at the top: ``None`` inside
    objects and arrays already reads as ``null``). One frame serves every
    expression of a template; each expression evaluates in its own child
    frame so a top-level ``$x := ...`` in one cannot leak into another.
    """
    frame = Jsonata.Frame(_DIALECT_FRAME)
    frame.bindings = {name: NULL_VALUE if value is None else value for name, value in bindings.items()}
    for hook in HOOK_NAMES:
        frame.bindings[hook] = None
    return frame


class Evaluation:
    """One evaluation's inputs, shared by every expression of a template.

    The library frame and the function context are built on first use, so a
    template whose expressions are all simple paths never builds them.
    """

    __slots__ = ("_context", "_frame", "_now", "bindings", "rng")

    def __init__(self, bindings: Mapping[str, JSON], rng: random.Random, now: int | None) -> None:
        self.bindings = bindings
        self.rng = rng
        self._now = now
        self._frame: Any = None
        self._context: EvaluationContext | None = None

    def frame(self) -> Any:
        """The library frame holding the variables (see :func:`variables_frame`)."""
        if self._frame is None:
            self._frame = variables_frame(self.bindings)
        return self._frame

    def context(self) -> EvaluationContext:
        """The RNG and the one timestamp of this evaluation."""
        if self._context is None:
            self._context = EvaluationContext(self.rng, self._now if self._now is not None else now_millis())
        return self._context


@dataclass(frozen=True, slots=True, eq=False)
class JsonataExpression:
    """A JSONata expression compiled once, evaluated many times.

    Attributes:
        text: the expression as written between ``{%`` and ``%}``, trimmed.
        referenced_variables: the ``$names`` it reads from outside itself, other
            than ``$states`` and the built-in functions (best effort: names it
            binds itself, lambda parameters included, are left out).
        top_level_references: what it reads from the context item at the top
            level, where Step Functions has none: bare field names (``phone``),
            ``$`` and ``$$``, in order of appearance. AWS refuses such a
            definition; see :func:`top_level_reference_message`.
    """

    text: str
    referenced_variables: frozenset[str]
    _compiled: Any
    top_level_references: tuple[str, ...] = ()
    # ("states", ("input", "v")) for `$states.input.v`: read without the library.
    _path: tuple[str, tuple[str, ...]] | None = None

    def evaluate(
        self,
        bindings: Mapping[str, JSON],
        *,
        rng: random.Random,
        now_millis: int | None = None,
    ) -> JSON | Undefined:
        """Evaluate with ``bindings`` as the variables (``states`` and the workflow's).

        Args:
            bindings: variable name (without ``$``) to value.
            rng: the execution's random source for ``$random()``, ``$uuid()``, ``$shuffle``.
            now_millis: the timestamp ``$now()``/``$millis()`` report; the wall
                clock when omitted.

        Returns:
            The result as plain JSON, or :data:`UNDEFINED` when it matched nothing.

        Raises:
            JsonataEvaluationError: the expression failed or produced something
                that is not JSON.
        """
        return self.evaluate_in(Evaluation(bindings, rng, now_millis))

    def evaluate_field(
        self,
        bindings: Mapping[str, JSON],
        field: str,
        *,
        rng: random.Random,
        now_millis: int | None = None,
    ) -> JSON:
        """Evaluate the expression of ASL field ``field`` the way AWS does.

        Unlike :meth:`evaluate`, an undefined result is an error, and every
        error carries AWS's sentence for ``field`` and is state-scoped.

        Raises:
            QueryEvaluationError: the expression failed or returned nothing.
        """
        return self.evaluate_field_in(Evaluation(bindings, rng, now_millis), field)

    def evaluate_in(self, evaluation: Evaluation) -> JSON | Undefined:
        """Evaluate within ``evaluation`` (shared with sibling expressions)."""
        if self._path is not None:
            value = _read_path(evaluation.bindings, self._path)
            if value is not _NOT_SIMPLE:
                try:
                    return to_json(value)
                except UnsupportedResult as exc:
                    raise JsonataEvaluationError(self.text, None, str(exc)) from exc
        frame = Jsonata.Frame(evaluation.frame())
        frame.bindings = {"$": None}
        # Bounded in time and depth (the library's time box, with what the loop's turn has left):
        # a runaway expression fails with D1012/D1011 instead of holding the event loop, and every
        # other execution, for seconds.
        limit_ms, started = _budget.begin()
        frame.set_runtime_bounds(limit_ms, _budget.EVALUATION_MAX_DEPTH)
        push_context(evaluation.context())
        try:
            raw = self._compiled.eval(self._compiled.ast, None, frame)
        except JException as exc:
            raise JsonataEvaluationError(self.text, exc.error, str(exc)) from exc
        except RegexTimeout as exc:
            raise JsonataEvaluationError(self.text, "D1012", str(exc)) from exc
        except ZeroLengthMatch as exc:
            raise JsonataEvaluationError(self.text, exc.code, str(exc)) from exc
        except RecursionError as exc:
            raise JsonataEvaluationError(
                self.text, None, "Stack overflow error: Check for non-terminating recursive function"
            ) from exc
        except Exception as exc:  # the library lets Python errors escape (TypeError, ZeroDivisionError…)
            raise JsonataEvaluationError(self.text, None, str(exc) or type(exc).__name__) from exc
        finally:
            pop_context()
            _budget.end(started)
        try:
            return to_json(raw)
        except UnsupportedResult as exc:
            raise JsonataEvaluationError(self.text, None, str(exc)) from exc

    def evaluate_field_in(self, evaluation: Evaluation, field: str) -> JSON:
        """:meth:`evaluate_field` within ``evaluation``."""
        try:
            value = self.evaluate_in(evaluation)
        except JsonataEvaluationError as exc:
            if isinstance(exc.__cause__, UnsupportedResult):
                raise scoped(QueryEvaluationError(cause=unsupported_result_cause(self.text, field))) from exc
            raise exc.for_field(field) from exc
        if value is UNDEFINED:
            raise scoped(QueryEvaluationError(cause=undefined_result_cause(self.text, field)))
        return value

    def __repr__(self) -> str:
        return f"JsonataExpression({self.text!r})"


def is_jsonata_template(value: object) -> bool:
    """Whether a string is a JSONata expression: it starts with ``{%`` and ends with ``%}``.

    No trimming: AWS documents that the string must start with ``{%`` and end
    with ``%}`` exactly, so ``" {% 1 %}"`` is a plain string.
    """
    return isinstance(value, str) and len(value) >= 4 and value.startswith("{%") and value.endswith("%}")


def expression_text(template: str) -> str:
    """The expression inside a ``{% ... %}`` string, trimmed as AWS quotes it."""
    return template[2:-2].strip()


def compile_expression(text: str) -> JsonataExpression:
    """Parse an expression (the text without its ``{% %}`` delimiters).

    Raises:
        JsonataSyntaxError: the text is not a JSONata expression.
    """
    stripped = text.strip()
    try:
        compiled = Jsonata(stripped, compile_regex)
    except JException as exc:
        raise JsonataSyntaxError(stripped, exc.error, str(exc)) from exc
    except Exception as exc:  # a bad regex literal surfaces as regex.error, and so on
        raise JsonataSyntaxError(stripped, None, str(exc) or type(exc).__name__) from exc
    if compiled.errors:
        first = compiled.errors[0]
        raise JsonataSyntaxError(stripped, getattr(first, "error", None), str(first))
    return JsonataExpression(
        stripped,
        _free_variables(compiled.ast),
        compiled,
        _top_level_references(compiled.ast),
        _simple_path(compiled.ast),
    )


def top_level_reference_message(name: str) -> str:
    """AWS's diagnostic for a top-level reference (code ``UNSUPPORTED_JSONATA_EXPRESSION``).

    Reported by AWS at ``CreateStateMachine`` for ``{% phone %}`` in
    ``Output/v`` as ``Reference to 'phone' at the top level is not supported.``
    """
    return f"Reference to '{name}' at the top level is not supported."


#: Attributes whose expressions are evaluated against items of something
#: (filters, sort terms, grouping, transforms) or later (lambda bodies), not
#: against the expression's own, absent, context item.
_RELATIVE_ATTRIBUTES: Final = frozenset(
    {"predicate", "stages", "group", "terms", "body", "pattern", "update", "delete"}
)


def _top_level_references(root: Any) -> tuple[str, ...]:
    found: list[str] = []
    stack: list[tuple[Any, bool]] = [(root, True)]
    seen: set[int] = set()
    while stack:
        node, top = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        kind = getattr(node, "type", None)
        if top and kind == "name" and isinstance(node.value, str):
            found.append(node.value)
        elif top and kind == "variable" and node.value in ("", "$"):
            found.append("$" if node.value == "" else "$$")
        children: list[tuple[Any, bool]] = []
        for attribute, child in vars(node).items():
            inherited = top and attribute not in _RELATIVE_ATTRIBUTES
            if isinstance(child, Parser.Symbol):
                children.append((child, inherited))
            elif isinstance(child, list | tuple):
                for index, item in enumerate(child):
                    # Only a path's first step reads the context item; later steps read the previous one's.
                    item_top = inherited and not (kind == "path" and attribute == "steps" and index > 0)
                    nested = item if isinstance(item, list | tuple) else (item,)
                    children.extend((x, item_top) for x in nested if isinstance(x, Parser.Symbol))
        stack.extend(reversed(children))
    return tuple(dict.fromkeys(found))


_NOT_SIMPLE: Final = object()

#: Attributes that make a node more than a plain variable or field name.
_DECORATIONS: Final = ("predicate", "stages", "group", "focus", "index", "tuple", "keep_array", "ancestor")


def _plain(node: Any) -> bool:
    return not any(getattr(node, attribute, None) for attribute in _DECORATIONS)


def _simple_path(root: Any) -> tuple[str, tuple[str, ...]] | None:
    """Recognise ``$name`` and ``$name.field.field…`` with nothing else in them.

    These are most expressions in real definitions (``$states.input.x``,
    ``$myVar``), and reading them needs no evaluator: :func:`_read_path`
    answers exactly what the library would, and hands anything less simple
    (an array on the way, which JSONata maps over) back to the library.
    """
    if getattr(root, "type", None) == "variable" and _plain(root):
        name = root.value
        if isinstance(name, str) and name not in ("", "$"):
            return name, ()
        return None
    if getattr(root, "type", None) != "path" or not _plain(root):
        return None
    steps = root.steps
    first = steps[0]
    if first.type != "variable" or not _plain(first) or first.value in ("", "$"):
        return None
    keys: list[str] = []
    for step in steps[1:]:
        if step.type != "name" or not _plain(step) or not isinstance(step.value, str):
            return None
        keys.append(step.value)
    return first.value, tuple(keys)


def _read_path(bindings: Mapping[str, Any], path: tuple[str, tuple[str, ...]]) -> Any:
    """Follow a simple path through plain objects; ``_NOT_SIMPLE`` when JSONata's
    sequence rules would apply (an array before the last step) or the name is
    not a variable (a built-in function, say)."""
    name, keys = path
    value = bindings.get(name, _NOT_SIMPLE)
    if value is _NOT_SIMPLE:
        return _NOT_SIMPLE
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key, _NOT_SIMPLE)
            if value is _NOT_SIMPLE:
                return None
            continue
        if isinstance(value, list):
            return _NOT_SIMPLE
        return None  # a field of a scalar or of null is undefined
    if value is None:
        return NULL_VALUE  # an explicit null, unlike a missing field
    return value


def _free_variables(root: Any) -> frozenset[str]:
    """The variables an AST reads minus those it binds, built-ins and ``$states``."""
    read: set[str] = set()
    bound: set[str] = set()
    seen: set[int] = set()
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        kind = getattr(node, "type", None)
        if kind == "variable" and isinstance(node.value, str):
            read.add(node.value)
        elif kind == "bind":
            lhs = getattr(node, "lhs", None)
            if lhs is not None and isinstance(getattr(lhs, "value", None), str):
                bound.add(lhs.value)
        elif kind == "lambda":
            for argument in getattr(node, "arguments", None) or ():
                if isinstance(getattr(argument, "value", None), str):
                    bound.add(argument.value)
        for attribute in ("focus", "index"):
            name = getattr(node, attribute, None)
            if isinstance(name, str):
                bound.add(name)
        for child in vars(node).values():
            if isinstance(child, Parser.Symbol):
                stack.append(child)
            elif isinstance(child, list | tuple):
                stack.extend(item for item in child if isinstance(item, Parser.Symbol))
                # object constructors keep [key, value] pairs
                for item in child:
                    if isinstance(item, list | tuple):
                        stack.extend(x for x in item if isinstance(x, Parser.Symbol))
    # "" is the context item `$`, "$" is `$$` (the root): neither is a variable.
    return frozenset(read - bound - _BUILTIN_NAMES - RESERVED_VARIABLES - {"", "$"})
