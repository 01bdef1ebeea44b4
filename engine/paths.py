"""JSONPath and Reference Paths, compiled once and evaluated many times.

ASL's JSONPath dialect is the one of Jayway JsonPath, which AWS Step Functions
runs: ``$`` (the input), ``$$`` (the context object) and ``$name`` (a
workflow variable) roots; ``.name``, ``['name']``, ``[n]`` and ``[-n]`` steps;
and, outside Reference Paths, ``*``, ``..`` (recursive descent), unions
``[a,b]``, slices ``[start:end:step]`` and filters ``[?(@.x > 1)]``.

Two shapes of result, as in Jayway:

* a *definite* path (only names and single indices) selects one node, and
  raises :class:`PathNotFound` when that node is missing;
* an *indefinite* path returns the list of nodes it matched, possibly empty,
  and never raises (AWS: ``$.items[*]`` on ``{}`` gives ``[]``).

The hot path is a Reference Path such as ``$.v``: it compiles to a tuple of
keys and indices walked by one small closure, so evaluation costs about as
much as the dictionary lookups themselves. Indefinite paths compile to a
pipeline of list-to-list operations. Nothing here re-reads the path text at
run time except to word an error.

Functions such as ``.length()`` parse (AWS accepts the definition) but select
nothing when evaluated, exactly as AWS reports ``$.Jobs.sum()`` "could not be
found".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from engine.jsonvalue import JSON, dumps_str
from engine.scope import Scope

__all__ = [
    "Path",
    "PathNotFound",
    "PathSetError",
    "PathSyntaxError",
    "Root",
    "compile_path",
    "compile_reference_path",
    "json_equal",
    "set_path",
]

Root: TypeAlias = Literal["input", "context", "variable"]
Step: TypeAlias = str | int
Getter: TypeAlias = Callable[[Scope], JSON]
# An operation of an indefinite path: (current nodes, document root) -> next nodes.
Op: TypeAlias = Callable[[list[JSON], JSON], list[JSON]]

VARIABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_STOP: Final = frozenset(".[]() \t\r\n")
_FILTER_OPERAND_END: Final = frozenset(" \t\r\n)=!<>&|,")
_FILTER_NAME_STOP: Final = _NAME_STOP | _FILTER_OPERAND_END
_MISSING: Final = object()


class PathSyntaxError(ValueError):
    """A path string that is not valid JSONPath, or not a Reference Path where one is required."""


class PathNotFound(Exception):
    """A definite path selected nothing at evaluation time.

    Attributes:
        path: the path text as written in the definition.
        detail: Jayway's wording of what is missing, e.g.
            ``No results for path: $['NoSuchInputPath']`` (AWS quotes it in
            the InputPath/OutputPath cause).
    """

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"Invalid path '{path}' : {detail}")


class PathSetError(Exception):
    """ResultPath could not be applied: a step crosses a value that is not an object.

    The runtime raises ``States.ResultPathMatchFailure`` with ``str(exc)`` as the cause.
    """


# --------------------------------------------------------------------------- the compiled path


@dataclass(frozen=True, slots=True, eq=False)
class Path:
    """A compiled JSONPath.

    Attributes:
        text: the path as written.
        is_reference: only ``.name`` / ``['name']`` / ``[index]`` steps; selects at most one node.
        is_definite: evaluation returns one value (raising :class:`PathNotFound` when it is
            missing) rather than a list of matches.
        root: ``"input"`` for ``$…``, ``"context"`` for ``$$…``, ``"variable"`` for ``$name…``.
        variable: the variable name when ``root == "variable"``.
        steps: for a Reference Path, its keys and indices in order (empty for ``$``);
            empty for other paths.
    """

    text: str
    is_reference: bool
    is_definite: bool
    root: Root
    variable: str | None
    steps: tuple[Step, ...] = ()
    _getter: Getter = field(default=lambda scope: None, repr=False)

    def get(self, scope: Scope) -> JSON:
        """Evaluate the path against a scope.

        Returns:
            The selected value for a definite path; the list of matches (possibly
            empty) for an indefinite one. The value is shared, not copied.

        Raises:
            PathNotFound: a definite path selects nothing.
        """
        return self._getter(scope)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Path) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def compile_path(text: str) -> Path:
    """Compile any supported JSONPath.

    Raises:
        PathSyntaxError: the text is not a valid path; the message says what is wrong.
    """
    if not isinstance(text, str):
        raise PathSyntaxError(f"Invalid JSONPath {text!r}: a path must be a string")
    parser = _Parser(text)
    root, variable = parser.parse_root()
    segments = parser.parse_segments()
    return _build(text, root, variable, segments)


def compile_reference_path(text: str) -> Path:
    """Compile a Reference Path (ResultPath, ItemsPath, Choice ``Variable`` …).

    Raises:
        PathSyntaxError: the text is not a valid path, or uses operators a
            Reference Path may not (``*``, ``..``, unions, slices, filters, functions).
    """
    path = compile_path(text)
    if not path.is_reference:
        raise PathSyntaxError(
            f"Invalid Reference Path '{text}': only '.name', \"['name']\" and '[index]' steps "
            "selecting a single node are allowed (no '*', '..', ',', ':', '?' or functions)"
        )
    return path


# --------------------------------------------------------------------------- ResultPath


def set_path(target: JSON, path: Path, value: JSON) -> JSON:
    """Place ``value`` at ``path`` inside ``target`` (ResultPath semantics).

    Returns a new value: only the containers along the path are copied, every
    other subtree is shared with ``target``, which is never mutated. Missing
    object members along the way are created as empty objects.

    Raises:
        PathSetError: the path is not a Reference Path, a step crosses a value
            that is not an object (or, for an index step, not an array holding
            that index).
    """
    if not path.is_reference:
        raise PathSetError(f"Unable to apply ReferencePath {path.text}: it is not a Reference Path")
    steps = path.steps
    if not steps:
        return value
    return _set(target, steps, 0, value, path.text, target)


def _set(node: JSON, steps: tuple[Step, ...], i: int, value: JSON, text: str, whole: JSON) -> JSON:
    step = steps[i]
    last = i == len(steps) - 1
    if type(step) is str:
        if not isinstance(node, dict):
            raise PathSetError(f"Unable to apply ReferencePath {text} to input {_show(whole)}")
        copy = dict(node)
        if last:
            copy[step] = value
        else:
            child = node.get(step, _MISSING)
            copy[step] = _set({} if child is _MISSING else child, steps, i + 1, value, text, whole)
        return copy
    assert isinstance(step, int)
    if not isinstance(node, list) or not -len(node) <= step < len(node):
        raise PathSetError(f"Unable to apply ReferencePath {text} to input {_show(whole)}")
    items = list(node)
    items[step] = value if last else _set(node[step], steps, i + 1, value, text, whole)
    return items


def _show(value: JSON) -> str:
    """Compact JSON for an error message, never failing on values orjson cannot write."""
    try:
        return dumps_str(value)
    except TypeError:
        return repr(value)


# --------------------------------------------------------------------------- JSON equality


def json_equal(a: JSON, b: JSON) -> bool:
    """JSON value equality: numbers compare by value, but ``true`` never equals ``1``."""
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return False
        return all(json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and bool(a == b)


# --------------------------------------------------------------------------- segments (parse tree)


@dataclass(frozen=True, slots=True)
class _Key:
    name: str


@dataclass(frozen=True, slots=True)
class _Index:
    index: int


@dataclass(frozen=True, slots=True)
class _Wild:
    pass


@dataclass(frozen=True, slots=True)
class _Keys:
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Indices:
    indices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Slice:
    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True, slots=True)
class _Filter:
    predicate: Callable[[JSON, JSON], bool]
    source: str


@dataclass(frozen=True, slots=True)
class _Scan:
    inner: _Segment


@dataclass(frozen=True, slots=True)
class _Func:
    name: str


_Segment: TypeAlias = _Key | _Index | _Wild | _Keys | _Indices | _Slice | _Filter | _Scan | _Func


def _fragment(seg: _Segment) -> str:
    """Jayway's normalized rendering of one segment, used in error details."""
    if isinstance(seg, _Key):
        return f"['{seg.name}']"
    if isinstance(seg, _Index):
        return f"[{seg.index}]"
    if isinstance(seg, _Keys):
        return "[" + ",".join(f"'{n}'" for n in seg.names) + "]"
    if isinstance(seg, _Indices):
        return "[" + ",".join(str(i) for i in seg.indices) + "]"
    if isinstance(seg, _Wild):
        return "[*]"
    if isinstance(seg, _Slice):
        parts = ["" if p is None else str(p) for p in (seg.start, seg.stop)]
        tail = "" if seg.step is None else f":{seg.step}"
        return f"[{parts[0]}:{parts[1]}{tail}]"
    if isinstance(seg, _Filter):
        return f"[?({seg.source})]"
    if isinstance(seg, _Scan):
        return ".." + _fragment(seg.inner)
    return f".{seg.name}()"


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive-descent parser over one path string."""

    __slots__ = ("name_stop", "pos", "text")

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos
        self.name_stop: frozenset[str] = _NAME_STOP

    def fail(self, what: str) -> PathSyntaxError:
        return PathSyntaxError(f"Invalid JSONPath '{self.text}': {what} at position {self.pos}")

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def skip_ws(self) -> None:
        while self.peek() in (" ", "\t", "\n", "\r") and self.peek():
            self.pos += 1

    def parse_root(self) -> tuple[Root, str | None]:
        text = self.text
        if not text.startswith("$"):
            raise PathSyntaxError(f"Invalid JSONPath '{text}': a path must start with '$'")
        if text.startswith("$$"):
            self.pos = 2
            return "context", None
        match = VARIABLE_NAME.match(text, 1)
        if match:
            self.pos = match.end()
            return "variable", match.group()
        self.pos = 1
        return "input", None

    def parse_segments(self, stop: Callable[[str], bool] | None = None) -> list[_Segment]:
        segments: list[_Segment] = []
        while self.pos < len(self.text):
            c = self.peek()
            if stop is not None and stop(c):
                break
            if c == ".":
                if self.peek(1) == ".":
                    self.pos += 2
                    if self.peek() == "[":
                        segments.append(_Scan(self.parse_bracket()))
                    elif self.peek() == "*":
                        self.pos += 1
                        segments.append(_Scan(_Wild()))
                    else:
                        name = self.read_name()
                        segments.append(_Scan(_Key(name)))
                    continue
                self.pos += 1
                if self.peek() == "*":
                    self.pos += 1
                    segments.append(_Wild())
                    continue
                name = self.read_name()
                if self.peek() == "(":
                    self.pos += 1
                    self.skip_ws()
                    if self.peek() != ")":
                        raise self.fail(f"function '{name}()' takes no arguments here")
                    self.pos += 1
                    segments.append(_Func(name))
                    if self.pos < len(self.text) and not (stop is not None and stop(self.peek())):
                        raise self.fail(f"nothing may follow the function '{name}()'")
                    continue
                segments.append(_Key(name))
            elif c == "[":
                segments.append(self.parse_bracket())
            elif c in " \t\r\n":
                raise self.fail("unexpected blank; use bracket notation ['my prop'] for names with blanks")
            else:
                raise self.fail(f"unexpected character {c!r}; expected '.' or '['")
        return segments

    def read_name(self) -> str:
        start = self.pos
        text = self.text
        stop = self.name_stop
        while self.pos < len(text) and text[self.pos] not in stop:
            self.pos += 1
        name = text[start : self.pos]
        if not name:
            if self.pos < len(text) and text[self.pos] in " \t\r\n":
                raise self.fail("use bracket notation ['my prop'] for a name containing blanks")
            raise self.fail("expected a name after '.'")
        return name

    def parse_bracket(self) -> _Segment:
        assert self.peek() == "["
        self.pos += 1
        self.skip_ws()
        c = self.peek()
        if c == "*":
            self.pos += 1
            self.expect_close()
            return _Wild()
        if c == "?":
            return self.parse_filter()
        if c in ("'", '"'):
            names = [self.read_quoted()]
            self.skip_ws()
            while self.peek() == ",":
                self.pos += 1
                self.skip_ws()
                if self.peek() not in ("'", '"'):
                    raise self.fail("expected a quoted name after ','")
                names.append(self.read_quoted())
                self.skip_ws()
            self.expect_close()
            return _Key(names[0]) if len(names) == 1 else _Keys(tuple(names))
        if c and (c.isdigit() or c in "-:"):
            end = self.text.find("]", self.pos)
            if end < 0:
                raise self.fail("unterminated '['")
            body = self.text[self.pos : end].replace(" ", "")
            self.pos = end + 1
            return self.parse_index_body(body)
        if not c:
            raise self.fail("unterminated '['")
        raise self.fail(f"unexpected {c!r} after '['")

    def expect_close(self) -> None:
        self.skip_ws()
        if self.peek() != "]":
            raise self.fail("expected ']'")
        self.pos += 1

    def read_quoted(self) -> str:
        quote = self.peek()
        self.pos += 1
        out: list[str] = []
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c == "\\" and self.pos + 1 < len(text):
                nxt = text[self.pos + 1]
                # Only an escaped delimiter (or backslash) is unescaped: AWS reads
                # $['Test\""Name"'] as the key Test\""Name" (case ESCAPE_SEQUENCES_JSONPATH).
                if nxt == quote or nxt == "\\":
                    out.append(nxt)
                else:
                    out.append(c + nxt)
                self.pos += 2
                continue
            if c == quote:
                self.pos += 1
                return "".join(out)
            out.append(c)
            self.pos += 1
        raise self.fail("unterminated quoted name")

    def parse_index_body(self, body: str) -> _Segment:
        def number(part: str) -> int:
            if not re.fullmatch(r"-?\d+", part):
                raise self.fail(f"invalid array index {part!r}")
            return int(part)

        if ":" in body:
            parts = body.split(":")
            if len(parts) > 3:
                raise self.fail(f"invalid slice [{body}]")
            values = [None if p == "" else number(p) for p in parts]
            while len(values) < 3:
                values.append(None)
            if values[2] == 0:
                raise self.fail("slice step cannot be zero")
            return _Slice(values[0], values[1], values[2])
        if "," in body:
            return _Indices(tuple(number(p) for p in body.split(",")))
        return _Index(number(body))

    def parse_filter(self) -> _Filter:
        self.pos += 1  # '?'
        self.skip_ws()
        if self.peek() != "(":
            raise self.fail("expected '(' after '[?'")
        self.pos += 1
        start = self.pos
        predicate = _FilterParser(self).parse()
        source = self.text[start : self.pos]
        self.skip_ws()
        if self.peek() != ")":
            raise self.fail("expected ')' closing the filter")
        self.pos += 1
        self.expect_close()
        return _Filter(predicate, source.strip())


# --------------------------------------------------------------------------- filters

_Operand: TypeAlias = Callable[[JSON, JSON], JSON]  # (current node, document root) -> value or _MISSING
_Predicate: TypeAlias = Callable[[JSON, JSON], bool]

_LITERAL_NUMBER: Final = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_COMPARATORS: Final = ("==", "!=", "<=", ">=", "=~", "<", ">")


def _is_number(v: JSON) -> bool:
    return isinstance(v, (int, float)) and type(v) is not bool


def _compare(op: str, left: JSON, right: JSON) -> bool:
    if op == "==":
        return left is not _MISSING and right is not _MISSING and json_equal(left, right)
    if op == "!=":
        return not (left is not _MISSING and right is not _MISSING and json_equal(left, right))
    if op == "=~":
        if isinstance(left, str) and isinstance(right, re.Pattern):
            return right.fullmatch(left) is not None
        return False
    if op in ("in", "nin"):
        if not isinstance(right, list):
            return False
        found = left is not _MISSING and any(json_equal(left, item) for item in right)
        return found if op == "in" else not found
    if _is_number(left) and _is_number(right):
        pass
    elif not (isinstance(left, str) and isinstance(right, str)):
        return False
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


class _FilterParser:
    """Parses the inside of ``[?( … )]`` into a predicate, sharing the path parser's cursor."""

    __slots__ = ("p",)

    def __init__(self, parser: _Parser) -> None:
        self.p = parser

    def parse(self) -> _Predicate:
        return self.parse_or()

    def parse_or(self) -> _Predicate:
        left = self.parse_and()
        while self.take("||"):
            right = self.parse_and()
            left = (lambda a, b: lambda n, r: a(n, r) or b(n, r))(left, right)
        return left

    def parse_and(self) -> _Predicate:
        left = self.parse_unary()
        while self.take("&&"):
            right = self.parse_unary()
            left = (lambda a, b: lambda n, r: a(n, r) and b(n, r))(left, right)
        return left

    def parse_unary(self) -> _Predicate:
        p = self.p
        p.skip_ws()
        if p.peek() == "!" and p.peek(1) != "=":
            p.pos += 1
            inner = self.parse_unary()
            return lambda n, r: not inner(n, r)
        if p.peek() == "(":
            save = p.pos
            p.pos += 1
            try:
                inner = self.parse_or()
                p.skip_ws()
                if p.peek() == ")":
                    p.pos += 1
                    return inner
            except PathSyntaxError:
                pass
            p.pos = save
        return self.parse_comparison()

    def parse_comparison(self) -> _Predicate:
        p = self.p
        p.skip_ws()
        is_path = p.peek() in ("@", "$")
        left = self.parse_operand()
        p.skip_ws()
        op = next((o for o in _COMPARATORS if p.text.startswith(o, p.pos)), None)
        if op is None:
            for word in ("nin", "in"):
                after = p.text[p.pos + len(word) : p.pos + len(word) + 1]
                if p.text.startswith(word, p.pos) and not after.isalnum():
                    op = word
                    break
        if op is None:
            if is_path:
                # A lone path tests existence, whatever the value (Jayway: [?(@.isbn)]).
                return lambda n, r: left(n, r) is not _MISSING
            return lambda n, r: _truthy(left(n, r))
        p.pos += len(op)
        p.skip_ws()
        if op == "=~":
            pattern = self.parse_regex()
            return lambda n, r: _compare(op, left(n, r), pattern)
        right = self.parse_operand()
        return lambda n, r: _compare(op, left(n, r), right(n, r))

    def parse_regex(self) -> re.Pattern[str]:
        p = self.p
        if p.peek() != "/":
            raise p.fail("expected a /regex/ after '=~'")
        end = p.pos + 1
        while end < len(p.text) and p.text[end] != "/":
            end += 2 if p.text[end] == "\\" else 1
        if end >= len(p.text):
            raise p.fail("unterminated regular expression")
        source = p.text[p.pos + 1 : end]
        p.pos = end + 1
        flags = 0
        while p.peek() and p.peek() in "imsx":
            flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}[p.peek()]
            p.pos += 1
        try:
            return re.compile(source, flags)
        except re.error as exc:
            raise p.fail(f"invalid regular expression /{source}/: {exc}") from None

    def take(self, token: str) -> bool:
        p = self.p
        p.skip_ws()
        if p.text.startswith(token, p.pos):
            p.pos += len(token)
            return True
        return False

    def parse_operand(self) -> _Operand:
        p = self.p
        p.skip_ws()
        c = p.peek()
        if c in ("@", "$"):
            return self.parse_path_operand()
        if c in ("'", '"'):
            literal: JSON = p.read_quoted()
            return lambda n, r: literal
        if c == "[":
            values = self.parse_list_literal()
            return lambda n, r: values
        match = _LITERAL_NUMBER.match(p.text, p.pos)
        if match:
            p.pos = match.end()
            number: JSON = float(match.group()) if match.group(1) or match.group(2) else int(match.group())
            return lambda n, r: number
        for word, value in (("true", True), ("false", False), ("null", None)):
            if p.text.startswith(word, p.pos):
                p.pos += len(word)
                constant: JSON = value
                return lambda n, r: constant
        if not c:
            raise p.fail("unterminated filter")
        raise p.fail(f"unexpected {c!r} in filter")

    def parse_list_literal(self) -> list[JSON]:
        p = self.p
        p.pos += 1
        values: list[JSON] = []
        p.skip_ws()
        if p.peek() == "]":
            p.pos += 1
            return values
        while True:
            operand = self.parse_operand()
            values.append(operand(None, None))
            p.skip_ws()
            if p.peek() == ",":
                p.pos += 1
                continue
            if p.peek() == "]":
                p.pos += 1
                return values
            raise p.fail("expected ',' or ']' in a list")

    def parse_path_operand(self) -> _Operand:
        p = self.p
        relative = p.peek() == "@"
        p.pos += 1
        saved, p.name_stop = p.name_stop, _FILTER_NAME_STOP
        try:
            segments = p.parse_segments(stop=lambda ch: ch in _FILTER_OPERAND_END)
        finally:
            p.name_stop = saved
        if any(isinstance(s, _Func) for s in segments):
            raise p.fail("functions are not supported in filters")
        steps = _reference_steps(segments)
        if steps is not None:

            def definite_operand(node: JSON, root: JSON) -> JSON:
                cur = node if relative else root
                for step in steps:
                    cur = _step(cur, step)
                    if cur is _MISSING:
                        break
                return cur

            return definite_operand
        ops = _ops(segments)

        def indefinite_operand(node: JSON, root: JSON) -> JSON:
            nodes = [node if relative else root]
            for op in ops:
                nodes = op(nodes, root)
            return nodes

        return indefinite_operand


def _truthy(value: JSON) -> bool:
    """A lone literal in a filter: its truth (``true``, or any non-boolean value)."""
    if isinstance(value, bool):
        return value
    return value is not _MISSING


def _step(node: JSON, step: Step) -> JSON:
    if type(step) is str:
        if isinstance(node, dict):
            return node.get(step, _MISSING)
        return _MISSING
    if isinstance(node, list):
        assert isinstance(step, int)
        try:
            return node[step]
        except IndexError:
            return _MISSING
    return _MISSING


# --------------------------------------------------------------------------- building evaluators


def _reference_steps(segments: list[_Segment]) -> tuple[Step, ...] | None:
    """The keys and indices of a path made only of them (a Reference Path), else None."""
    steps: list[Step] = []
    for seg in segments:
        if isinstance(seg, _Key):
            steps.append(seg.name)
        elif isinstance(seg, _Index):
            steps.append(seg.index)
        else:
            return None
    return tuple(steps)


def _build(text: str, root: Root, variable: str | None, segments: list[_Segment]) -> Path:
    steps = _reference_steps(segments)
    if steps is not None:
        getter = _reference_getter(text, root, variable, steps, segments)
        return Path(text, True, True, root, variable, steps, getter)
    if any(isinstance(s, _Func) for s in segments):
        func = next(s for s in segments if isinstance(s, _Func))

        def unsupported(scope: Scope) -> JSON:
            raise PathNotFound(text, f"Function {func.name}() is not supported in paths")

        return Path(text, False, True, root, variable, (), unsupported)
    ops = _ops(segments)
    root_of = _root_getter(text, root, variable)

    def get_all(scope: Scope) -> JSON:
        try:
            doc = root_of(scope)
        except PathNotFound:
            return []
        nodes = [doc]
        for op in ops:
            nodes = op(nodes, doc)
        return nodes

    return Path(text, False, False, root, variable, (), get_all)


def _root_getter(text: str, root: Root, variable: str | None) -> Getter:
    if root == "input":
        return lambda scope: scope.input
    if root == "context":
        return lambda scope: scope.context
    name = variable or ""

    def get_variable(scope: Scope) -> JSON:
        variables: Mapping[str, JSON] = scope.variables
        try:
            return variables[name]
        except KeyError:
            raise PathNotFound(text, f"The variable '${name}' is not defined") from None

    return get_variable


def _prefix(root: Root, variable: str | None) -> str:
    return "$$" if root == "context" else f"${variable}" if root == "variable" else "$"


def _reference_getter(
    text: str, root: Root, variable: str | None, steps: tuple[Step, ...], segments: list[_Segment]
) -> Getter:
    prefix = _prefix(root, variable)

    def not_found(doc: JSON) -> PathNotFound:
        # Re-walk only on failure to word the error as Jayway does.
        node = doc
        for i, step in enumerate(steps):
            nxt = _step(node, step)
            if nxt is _MISSING:
                done = prefix + "".join(_fragment(s) for s in segments[: i + 1])
                if i == len(steps) - 1 or (type(step) is int and isinstance(node, list)):
                    full = prefix + "".join(_fragment(s) for s in segments)
                    return PathNotFound(text, f"No results for path: {full}")
                return PathNotFound(text, f"Missing property in path {done}")
            node = nxt
        return PathNotFound(text, f"No results for path: {prefix}")  # pragma: no cover

    if root == "variable":
        root_of = _root_getter(text, root, variable)
    else:
        root_of = None

    if root == "input" and len(steps) == 1 and type(steps[0]) is str:
        key = steps[0]

        def get_input_key(scope: Scope) -> JSON:
            node = scope.input
            if type(node) is dict:
                try:
                    return node[key]
                except KeyError:
                    pass
            raise not_found(node)

        return get_input_key

    if root == "input" and not steps:
        return lambda scope: scope.input
    if root == "context" and not steps:
        return lambda scope: scope.context

    if all(type(step) is str for step in steps):
        # A str key on a list or a string raises TypeError, so no type checks are needed.
        def walk(doc: JSON) -> JSON:
            node = doc
            try:
                for step in steps:
                    node = node[step]
            except (KeyError, TypeError):
                raise not_found(doc) from None
            return node

    else:

        def walk(doc: JSON) -> JSON:
            node = doc
            try:
                for step in steps:
                    # An int index on a string would select a character: only lists take indices.
                    if type(step) is int and type(node) is not list:
                        raise KeyError(step)
                    node = node[step]
            except (KeyError, IndexError, TypeError):
                raise not_found(doc) from None
            return node

    if root == "input":
        return lambda scope: walk(scope.input)
    if root == "context":
        return lambda scope: walk(scope.context)
    assert root_of is not None
    get_var = root_of
    return lambda scope: walk(get_var(scope))


def _ops(segments: list[_Segment]) -> list[Op]:
    ops: list[Op] = []
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        ops.append(_op(seg, leaf=i == last))
    return ops


def _children(node: JSON) -> list[JSON]:
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return list(node)
    return []


def _descend(node: JSON, out: list[JSON]) -> None:
    out.append(node)
    if isinstance(node, dict):
        for v in node.values():
            _descend(v, out)
    elif isinstance(node, list):
        for v in node:
            _descend(v, out)


def _op(seg: _Segment, leaf: bool) -> Op:
    if isinstance(seg, _Key):
        name = seg.name

        def key_op(nodes: list[JSON], root: JSON) -> list[JSON]:
            return [n[name] for n in nodes if isinstance(n, dict) and name in n]

        return key_op
    if isinstance(seg, _Index):
        index = seg.index

        def index_op(nodes: list[JSON], root: JSON) -> list[JSON]:
            return [n[index] for n in nodes if isinstance(n, list) and -len(n) <= index < len(n)]

        return index_op
    if isinstance(seg, _Wild):
        return lambda nodes, root: [c for n in nodes for c in _children(n)]
    if isinstance(seg, _Keys):
        names = seg.names
        if leaf:
            # Jayway merges a trailing multi-property selection into one object per node.
            def keys_leaf_op(nodes: list[JSON], root: JSON) -> list[JSON]:
                return [{k: n[k] for k in names if k in n} for n in nodes if isinstance(n, dict)]

            return keys_leaf_op

        def keys_op(nodes: list[JSON], root: JSON) -> list[JSON]:
            return [n[k] for n in nodes if isinstance(n, dict) for k in names if k in n]

        return keys_op
    if isinstance(seg, _Indices):
        indices = seg.indices

        def indices_op(nodes: list[JSON], root: JSON) -> list[JSON]:
            return [n[i] for n in nodes if isinstance(n, list) for i in indices if -len(n) <= i < len(n)]

        return indices_op
    if isinstance(seg, _Slice):
        window = slice(seg.start, seg.stop, seg.step)
        return lambda nodes, root: [c for n in nodes if isinstance(n, list) for c in n[window]]
    if isinstance(seg, _Filter):
        predicate = seg.predicate

        def filter_op(nodes: list[JSON], root: JSON) -> list[JSON]:
            out: list[JSON] = []
            for n in nodes:
                if isinstance(n, list):
                    out.extend(item for item in n if predicate(item, root))
                elif isinstance(n, dict) and predicate(n, root):
                    out.append(n)
            return out

        return filter_op
    if isinstance(seg, _Scan):
        inner = _op(seg.inner, leaf)

        def scan_op(nodes: list[JSON], root: JSON) -> list[JSON]:
            visited: list[JSON] = []
            for n in nodes:
                _descend(n, visited)
            return inner(visited, root)

        return scan_op
    raise AssertionError(f"function segment {seg!r} in an indefinite path")  # pragma: no cover
