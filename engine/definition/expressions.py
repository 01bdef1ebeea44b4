"""The typed protocols a parsed definition's compiled expressions implement.

A definition holds expressions compiled once by the parser. The model types
its fields with these protocols, so the interpreter calls them without
knowing (or importing) the module that compiled them:

- :data:`Evaluator`: a JSONPath-side value: a payload template
  (``engine.templates``), an intrinsic call (``engine.intrinsics``) or a
  ``.$`` path; called with the :class:`~engine.scope.Scope`.
- :class:`Selector`: a compiled JSONPath read (``engine.paths.Path``):
  InputPath, OutputPath, ItemsPath and the ``…Path`` reference fields.
- :class:`JsonataField`: one JSONata expression standing for one ASL field
  (``engine.jsonata.JsonataExpression``): Seconds, TimeoutSeconds, Condition…
- :class:`JsonataValue`: a JSONata template (``engine.jsonata.JsonataTemplate``):
  Arguments, Output, Assign, Items…

ResultPath is the one place a path writes; it stays the concrete
``engine.paths.Path`` that ``engine.paths.set_path`` walks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Protocol

from engine.jsonvalue import JSON
from engine.scope import Scope

Evaluator = Callable[[Scope], JSON]
"""A compiled JSONPath-side expression: path, intrinsic or payload template."""


class Selector(Protocol):
    """A compiled JSONPath that reads a value (``engine.paths.Path``)."""

    @property
    def text(self) -> str:
        """The path as written, for error messages."""
        ...

    def get(self, scope: Scope) -> JSON:
        """The selected value.

        Raises:
            engine.paths.PathNotFound: a definite path selects nothing.
        """
        ...


class JsonataField(Protocol):
    """One compiled JSONata expression that gives one ASL field's value."""

    @property
    def text(self) -> str:
        """The expression as written between ``{%`` and ``%}``."""
        ...

    def evaluate_field(
        self, bindings: Mapping[str, JSON], field: str, *, rng: random.Random, now_millis: int | None = None
    ) -> JSON:
        """The field's value; an undefined result or a failure is ``States.QueryEvaluationError``."""
        ...


class JsonataValue(Protocol):
    """A compiled JSONata template: a JSON value whose ``{% %}`` strings are expressions."""

    @property
    def expressions(self) -> tuple[JsonataField, ...]:
        """Every expression in the template, in document order."""
        ...

    def evaluate(
        self, bindings: Mapping[str, JSON], *, rng: random.Random, now_millis: int | None = None
    ) -> JSON:
        """Build the value; a failing expression is ``States.QueryEvaluationError``."""
        ...
