"""JSON templates whose strings may be JSONata expressions.

In a JSONata state, ``Arguments``, ``Output``, each ``Assign`` value,
``ItemSelector`` and the other expression-valued fields are JSON values in
which any string of the form ``"{% expr %}"`` -- as an object value or an
array item, never as a key -- is evaluated; everything else is a literal.

A template compiles once into a tree of nodes. Evaluating it builds one
variable frame and one evaluation context (RNG, timestamp) shared by all its
expressions, so a template with several expressions costs one setup. A
template without expressions is constant: it evaluates to a fresh copy of
itself. Every expression knows its field path (``Output/result``,
``Arguments/list[0]``) so failures carry AWS's wording.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Final, TypeAlias

from engine.jsonvalue import JSON

from ._expression import (
    Evaluation,
    JsonataExpression,
    JsonataSyntaxError,
    compile_expression,
    expression_text,
    is_jsonata_template,
)
from ._values import copy_json


class _Literal:
    __slots__ = ("value",)

    def __init__(self, value: JSON) -> None:
        self.value = value

    def build(self, evaluation: Evaluation) -> JSON:
        value = self.value
        return copy_json(value) if isinstance(value, dict | list) else value


class _Expression:
    __slots__ = ("expression", "field")

    def __init__(self, expression: JsonataExpression, field: str) -> None:
        self.expression = expression
        self.field = field

    def build(self, evaluation: Evaluation) -> JSON:
        return self.expression.evaluate_field_in(evaluation, self.field)


class _Object:
    __slots__ = ("items",)

    def __init__(self, items: tuple[tuple[str, _Node], ...]) -> None:
        self.items = items

    def build(self, evaluation: Evaluation) -> JSON:
        return {key: child.build(evaluation) for key, child in self.items}


class _Array:
    __slots__ = ("items",)

    def __init__(self, items: tuple[_Node, ...]) -> None:
        self.items = items

    def build(self, evaluation: Evaluation) -> JSON:
        return [child.build(evaluation) for child in self.items]


_Node: TypeAlias = "_Literal | _Expression | _Object | _Array"

_SCALARS: Final = (str, int, float, bool, type(None))


class JsonataTemplate:
    """A compiled JSON template; see the module docstring.

    Attributes:
        is_constant: true when the template holds no expression.
        field: the ASL field it was compiled for (``Output``, ``Assign``…), used in causes.
        expression: the expression when the whole template is one ``{% %}``
            string, else ``None`` (callers checking a result's type quote it).
        expressions: every expression in the template, in document order.
    """

    __slots__ = ("_root", "expression", "expressions", "field", "is_constant")

    def __init__(self, root: _Node, field: str, expressions: tuple[JsonataExpression, ...]) -> None:
        self._root = root
        self.field = field
        self.expressions = expressions
        self.is_constant = not expressions
        self.expression = root.expression if isinstance(root, _Expression) else None

    @property
    def referenced_variables(self) -> frozenset[str]:
        """The union of the expressions' ``referenced_variables``."""
        names: frozenset[str] = frozenset()
        for expression in self.expressions:
            names |= expression.referenced_variables
        return names

    def evaluate(
        self,
        bindings: Mapping[str, JSON],
        *,
        rng: random.Random,
        now_millis: int | None = None,
    ) -> JSON:
        """Build the value: literals copied, each expression evaluated.

        Args:
            bindings: variable name (without ``$``) to value: ``states`` and the
                workflow variables.
            rng: the execution's random source.
            now_millis: the timestamp ``$now()``/``$millis()`` report; the wall
                clock when omitted.

        Raises:
            QueryEvaluationError: an expression failed or returned nothing;
                the cause is AWS's sentence naming the expression and the
                field, and the error is state-scoped.
        """
        return self._root.build(Evaluation(bindings, rng, now_millis))

    def __repr__(self) -> str:
        return f"JsonataTemplate(field={self.field!r}, expressions={len(self.expressions)})"


def compile_template(value: JSON, *, field: str = "") -> JsonataTemplate:
    """Compile a JSON template for a JSONata state.

    Args:
        value: the template as written in the definition.
        field: the ASL field it belongs to (``Output``, ``Arguments``,
            ``Assign``, ``Items``…); object keys extend it as ``Output/key``
            and array items as ``Output[0]``.

    Raises:
        JsonataSyntaxError: an expression does not parse; ``location`` holds
            the JSON Pointer below the template where it sits.
        TypeError: the value is not JSON.
    """
    expressions: list[JsonataExpression] = []
    # A private copy: literal subtrees are handed out (copied) at every
    # evaluation and must not change if the caller mutates its definition.
    root = _compile(copy_json(value), field, "", expressions)
    return JsonataTemplate(root, field, tuple(expressions))


class TemplateSyntaxError(JsonataSyntaxError):
    """A template expression that does not parse, with where it sits.

    Attributes:
        location: a JSON Pointer relative to the template (``/result/0``, or
            ``""`` for the template itself).
    """

    def __init__(self, error: JsonataSyntaxError, location: str) -> None:
        super().__init__(error.expression, error.code, error.detail)
        self.location = location


def _compile(value: JSON, field: str, pointer: str, expressions: list[JsonataExpression]) -> _Node:
    if isinstance(value, str) and is_jsonata_template(value):
        try:
            expression = compile_expression(expression_text(value))
        except JsonataSyntaxError as exc:
            raise TemplateSyntaxError(exc, pointer) from exc
        expressions.append(expression)
        return _Expression(expression, field)
    if isinstance(value, dict):
        items = tuple(
            (key, _compile(child, _join(field, key), f"{pointer}/{_escape(key)}", expressions))
            for key, child in value.items()
        )
        if all(isinstance(node, _Literal) for _, node in items):
            return _Literal(value)
        return _Object(items)
    if isinstance(value, list):
        children = tuple(
            _compile(child, f"{field}[{index}]", f"{pointer}/{index}", expressions)
            for index, child in enumerate(value)
        )
        if all(isinstance(node, _Literal) for node in children):
            return _Literal(value)
        return _Array(children)
    if isinstance(value, _SCALARS):
        return _Literal(value)
    raise TypeError(f"a template must be JSON; found a {type(value).__name__} at '{pointer or '/'}'")


def _join(field: str, key: str) -> str:
    return f"{field}/{key}" if field else key


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
