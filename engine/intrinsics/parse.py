"""``States.X(...)`` strings parsed once, at definition time, into a call tree.

The grammar is small::

    call     := "States." NAME "(" [arg ("," arg)*] ")"
    arg      := string | number | "true" | "false" | "null" | path | call
    string   := "'" (char | "\\" char)* "'"      -- \\' \\{ \\} \\\\ escapes
    path     := "$" … up to the next top-level "," or ")"

Every argument becomes a closure ``Scope -> JSON`` (a constant, a compiled
:class:`~engine.paths.Path`, or a nested call), so evaluating an intrinsic is a
handful of calls with no string scanning. Arity and the types of literal
arguments are checked here, against the table in
:mod:`engine.intrinsics.functions`, so a bad call fails the definition rather
than the execution. A ``States.Format`` whose template is a literal is split
at its ``{}`` placeholders once, honouring ``\\{`` and ``\\}`` escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from engine.errors import IntrinsicFailure, StatesError, StatesRuntime
from engine.intrinsics.functions import (
    FUNCTIONS,
    UNKNOWN,
    ArgumentError,
    FunctionSpec,
    IntrinsicSyntaxError,
    check_arguments,
    format_string,
    java_string,
    show_json,
)
from engine.jsonvalue import JSON
from engine.paths import Path, PathNotFound, PathSyntaxError, compile_path
from engine.scope import Scope

__all__ = [
    "Call",
    "Intrinsic",
    "IntrinsicSyntaxError",
    "Literal",
    "PathArgument",
    "compile_intrinsic",
    "is_intrinsic",
]

MAX_NESTING: Final = 10
"""AWS: "You can nest up to 10 intrinsic functions within a field"."""

Evaluator: TypeAlias = Callable[[Scope], JSON]

_NUMBER: Final = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_NAME: Final = re.compile(r"States\.([A-Za-z0-9]+)")
_BLANKS: Final = " \t\r\n"


# --------------------------------------------------------------------------- the call tree


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal argument. For strings, ``raw`` keeps the text between the quotes, escapes intact."""

    value: JSON
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class PathArgument:
    """A path argument (``$.x``, ``$$.x``, ``$var.x``, ``$``)."""

    path: Path


@dataclass(frozen=True, slots=True)
class Call:
    """A call of one intrinsic function."""

    spec: FunctionSpec
    args: tuple[Argument, ...]


Argument: TypeAlias = Literal | PathArgument | Call


@dataclass(frozen=True, slots=True, eq=False)
class Intrinsic:
    """A compiled intrinsic function call.

    Attributes:
        text: the call as written in the definition.
        call: the parsed call tree.
    """

    text: str
    call: Call
    _evaluate: Evaluator = field(repr=False)

    def evaluate(self, scope: Scope) -> JSON:
        """Evaluate the call.

        Raises:
            IntrinsicFailure: ``States.IntrinsicFailure``, an argument of the wrong type or value.
            StatesRuntime: ``States.Runtime``, a path argument selects nothing.
        """
        try:
            return self._evaluate(scope)
        except StatesError as exc:
            raise exc.scoped() from exc.__cause__


def is_intrinsic(text: str) -> bool:
    """Whether a ``.$`` field value is an intrinsic call (``States.`` … ``)``) rather than a path."""
    return text.startswith("States.") and text.rstrip().endswith(")")


def compile_intrinsic(text: str) -> Intrinsic:
    """Parse and check an intrinsic function call.

    Raises:
        IntrinsicSyntaxError: the call is malformed, names an unknown function, has
            the wrong number of arguments, or a literal argument AWS would refuse.
    """
    parser = _Parser(text)
    parser.skip_blanks()
    call = parser.parse_call(depth=1)
    parser.skip_blanks()
    if parser.pos != len(text):
        raise parser.fail("unexpected text after the closing ')'")
    return Intrinsic(text, call, _compile_call(call, text))


# --------------------------------------------------------------------------- parser


class _Parser:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(
            f"Invalid intrinsic function '{self.text}': {what} (at position {self.pos})"
        )

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_blanks(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _BLANKS:
            self.pos += 1

    def parse_call(self, depth: int) -> Call:
        if depth > MAX_NESTING:
            raise self.fail(f"intrinsic functions may be nested at most {MAX_NESTING} deep")
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise self.fail("expected a function name such as 'States.Format'")
        name = match.group()
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise self.fail(f"unknown intrinsic function '{name}'")
        self.pos = match.end()
        if self.peek() != "(":
            raise self.fail(f"expected '(' after '{name}'")
        self.pos += 1
        args: list[Argument] = []
        self.skip_blanks()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                self.skip_blanks()
                args.append(self.parse_argument(depth))
                self.skip_blanks()
                c = self.peek()
                if c == ",":
                    self.pos += 1
                    continue
                if c == ")":
                    self.pos += 1
                    break
                if not c:
                    raise self.fail(f"missing ')' closing the call of '{name}'")
                raise self.fail(f"expected ',' or ')' in the arguments of '{name}', found {c!r}")
        _check_call(spec, args, self)
        return Call(spec, tuple(args))

    def parse_argument(self, depth: int) -> Argument:
        c = self.peek()
        text = self.text
        if c == "'":
            return self.parse_string()
        if c == "$":
            return self.parse_path()
        if text.startswith("States.", self.pos):
            return self.parse_call(depth + 1)
        match = _NUMBER.match(text, self.pos)
        if match and not _continues_word(text, match.end()):
            self.pos = match.end()
            literal = match.group()
            return Literal(float(literal) if match.group(1) or match.group(2) else int(literal))
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, self.pos) and not _continues_word(text, self.pos + len(word)):
                self.pos += len(word)
                return Literal(value)
        if not c:
            raise self.fail("missing argument")
        if c == '"':
            raise self.fail("string literals are quoted with single quotes ('...')")
        raise self.fail(
            f"unexpected {c!r}: an argument is a 'string', a number, true, false, null, a path or a call"
        )

    def parse_string(self) -> Literal:
        start = self.pos
        self.pos += 1
        text = self.text
        out: list[str] = []
        while self.pos < len(text):
            c = text[self.pos]
            if c == "\\":
                if self.pos + 1 >= len(text):
                    break
                out.append(text[self.pos + 1])
                self.pos += 2
                continue
            if c == "'":
                raw = text[start + 1 : self.pos]
                self.pos += 1
                return Literal("".join(out), raw)
            out.append(c)
            self.pos += 1
        self.pos = start
        raise self.fail("unterminated string literal (unbalanced quotes)")

    def parse_path(self) -> PathArgument:
        start = self.pos
        text = self.text
        depth = 0
        quote = ""
        i = start
        while i < len(text):
            c = text[i]
            if quote:
                if c == "\\":
                    i += 2
                    continue
                if c == quote:
                    quote = ""
            elif c in ("'", '"') and depth > 0:
                quote = c
            elif c in "[(":
                depth += 1
            elif c in "])":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0:
                break
            i += 1
        path_text = text[start:i].rstrip(_BLANKS)
        try:
            path = compile_path(path_text)
        except PathSyntaxError as exc:
            raise self.fail(str(exc)) from None
        self.pos = start + len(path_text)
        return PathArgument(path)


def _continues_word(text: str, index: int) -> bool:
    return index < len(text) and (text[index].isalnum() or text[index] in "_.")


def _check_call(spec: FunctionSpec, args: Sequence[Argument], parser: _Parser) -> None:
    problem = spec.check_arity(len(args))
    if problem:
        raise parser.fail(problem)
    known = [a.value if isinstance(a, Literal) else UNKNOWN for a in args]
    try:
        check_arguments(spec, known)
    except ArgumentError as exc:
        raise parser.fail(str(exc)) from None
    if spec.name == "States.Format" and isinstance(args[0], Literal):
        pieces = format_pieces(args[0].raw or "")
        if len(pieces) - 1 != len(args) - 1:
            raise parser.fail(
                f"States.Format: the template has {len(pieces) - 1} placeholder(s) '{{}}' "
                f"but {len(args) - 1} value(s) were given"
            )


def format_pieces(raw: str) -> list[str]:
    """Split a literal ``States.Format`` template at unescaped ``{}``, resolving escapes."""
    pieces: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            current.append(raw[i + 1])
            i += 2
            continue
        if c == "{" and raw.startswith("{}", i):
            pieces.append("".join(current))
            current = []
            i += 2
            continue
        current.append(c)
        i += 1
    pieces.append("".join(current))
    return pieces


# --------------------------------------------------------------------------- compiling to closures


def _compile_argument(arg: Argument, text: str) -> Evaluator:
    if isinstance(arg, Literal):
        value = arg.value
        return lambda scope: value
    if isinstance(arg, PathArgument):
        get = arg.path.get
        path_text = arg.path.text

        def get_path(scope: Scope) -> JSON:
            try:
                return get(scope)
            except PathNotFound:
                raise StatesRuntime(
                    cause=(
                        f"The JSONPath '{path_text}' specified in the intrinsic function '{text}' "
                        f"could not be found in the input '{show_json(scope.input)}'"
                    )
                ) from None

        return get_path
    return _compile_call(arg, text)


def _compile_call(call: Call, text: str) -> Evaluator:
    spec = call.spec
    impl = spec.impl
    name = spec.name
    if name == "States.Format" and isinstance(call.args[0], Literal):
        pattern = format_string(format_pieces(call.args[0].raw or ""))
        value_evals = tuple(_compile_argument(a, text) for a in call.args[1:])
        to_text = java_string

        def format_literal(scope: Scope) -> JSON:
            values = [ev(scope) for ev in value_evals]
            return pattern.format(*[v if type(v) is str else to_text(v) for v in values])

        return format_literal

    evals = tuple(_compile_argument(a, text) for a in call.args)
    needs_check = any(not isinstance(a, Literal) for a in call.args)
    if not needs_check:
        # Every argument is a literal already checked at definition time.
        constant_args = [a.value for a in call.args if isinstance(a, Literal)]
        checked = check_arguments(spec, constant_args)
        return lambda scope: impl(list(checked), scope)

    def evaluate_call(scope: Scope) -> JSON:
        values = [ev(scope) for ev in evals]
        try:
            values = check_arguments(spec, values)
        except ArgumentError as exc:
            raise IntrinsicFailure(cause=f"Invalid arguments in {exc}") from None
        return impl(values, scope)

    return evaluate_call
