"""JSONata for JSONata states: compile once at definition time, evaluate with ``$states``.

The public surface:

- :func:`compile_expression` / :class:`JsonataExpression`: one expression
  (the text between ``{%`` and ``%}``), with the variables it reads.
- :func:`compile_template` / :class:`JsonataTemplate`: a JSON value whose
  ``"{% ... %}"`` strings are expressions (``Arguments``, ``Output``,
  ``Assign``, ``ItemSelector``, ``Items``, ``Condition``…).
- :data:`UNDEFINED`: what an expression returns when it matches nothing.
- The cause builders, for callers that check a result themselves (Map
  ``Items`` must be an array, Wait ``Seconds`` a number…).

Evaluation goes through jsonata-python (a port of the reference JavaScript
implementation, which AWS runs), extended with AWS's functions and made
deterministic: ``$random()``, ``$uuid()`` and ``$shuffle`` draw from the
execution's RNG; ``$now()`` and ``$millis()`` read one timestamp per
evaluation. Results are converted to plain JSON with JavaScript's number
rules (``3.0`` is ``3``). Every failure is ``States.QueryEvaluationError``.

Evaluation is synchronous, so it is bounded: in time and depth per
evaluation, in time per turn of the event loop for all evaluations together,
and regular expressions run by the regex module under the same deadline.

The package is split by concern: ``_values`` (library values ⇄ JSON),
``_functions`` (the Step Functions dialect), ``_budget`` (how long
evaluation may hold the thread), ``_regex`` (regex literals, bounded),
``_expression`` (one expression, its errors and their AWS wording),
``_template`` (templates).
"""

from ._budget import evaluation_pause
from ._expression import (
    RESERVED_VARIABLES,
    JsonataEvaluationError,
    JsonataExpression,
    JsonataSyntaxError,
    compile_expression,
    evaluation_error_cause,
    expression_text,
    is_jsonata_template,
    top_level_reference_message,
    undefined_result_cause,
    unexpected_type_cause,
    unsupported_result_cause,
)
from ._functions import HASH_ALGORITHMS, java_random_double
from ._template import JsonataTemplate, TemplateSyntaxError, compile_template
from ._values import UNDEFINED, Undefined, json_type_name, normalize_number

__all__ = [
    "HASH_ALGORITHMS",
    "RESERVED_VARIABLES",
    "UNDEFINED",
    "JsonataEvaluationError",
    "JsonataExpression",
    "JsonataSyntaxError",
    "JsonataTemplate",
    "TemplateSyntaxError",
    "Undefined",
    "compile_expression",
    "compile_template",
    "evaluation_error_cause",
    "evaluation_pause",
    "expression_text",
    "is_jsonata_template",
    "java_random_double",
    "json_type_name",
    "normalize_number",
    "top_level_reference_message",
    "undefined_result_cause",
    "unexpected_type_cause",
    "unsupported_result_cause",
]
