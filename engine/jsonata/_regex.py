"""JSONata's regular expressions, run by the regex module against the evaluation's deadline.

A regex literal (``/(a+)+$/i``) is the only way a regular expression enters
JSONata: ``$match``, ``$replace``, ``$split`` and ``$contains`` take string
patterns literally, and a literal applied as a function (``"abc" ~> /b/``)
is the same object. The library compiles each literal once, at parse time,
through the engine it is handed (:func:`compile_regex`); it then calls only
``search``, ``finditer``, ``sub`` and ``split`` on the result.

Python's ``re`` cannot be interrupted: a backtracking pattern holds the thread,
and with it the event loop, for as long as it backtracks, out of the reach
of the library's time box. The regex module (mrab-regex) takes a ``timeout``
on every matching call; :class:`BoundedPattern` passes what is left of the
running evaluation's time (see ``_budget``), and an over-long match raises
:class:`RegexTimeout`, which fails the evaluation like any runaway one
(``D1012``).

Replacement strings reach ``sub`` already rewritten by the library: ``$1``
becomes ``\\g<1>``, ``$$`` becomes ``$``. They are expanded here as JSONata
defines them rather than as Python templates: a reference to a group the
pattern lacks loses its last digits until it names one (``$12`` with one
group is group 1 then ``2``), or else is empty, and a backslash is just a
backslash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import regex
from jsonata.regex_engine import RegexFlags

from . import _budget

_GROUP_REFERENCE: Final = regex.compile(r"\\g<(\d+)>")


class RegexTimeout(Exception):
    """A regular expression ran past what was left of its evaluation's time."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(
            f"Expression evaluation timeout: the regular expression /{source}/ did not finish "
            f"matching within the evaluation's time limit ({_budget.current_limit_ms()} ms)"
        )


def compile_regex(pattern: str, flags: RegexFlags) -> BoundedPattern:
    """The library's regex engine hook: compile a literal's pattern with its ``i`` and ``m`` flags."""
    native = 0
    if flags.case_insensitive:
        native |= regex.IGNORECASE
    if flags.multiline:
        native |= regex.MULTILINE
    return BoundedPattern(pattern, regex.compile(pattern, native))


class BoundedPattern:
    """A compiled regular expression whose every match is bounded by the evaluation's deadline.

    Attributes:
        source: the pattern as written between the slashes.
    """

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str, compiled: regex.Pattern[str]) -> None:
        self.source = source
        self._compiled = compiled

    def search(self, string: str) -> regex.Match[str] | None:
        """The first match in ``string``, or ``None``."""
        try:
            return self._compiled.search(string, timeout=_budget.seconds_left())
        except TimeoutError as exc:
            raise RegexTimeout(self.source) from exc

    def finditer(self, string: str) -> Iterator[regex.Match[str]]:
        """Every match in ``string``, in order; the timeout covers them all."""
        matches = self._compiled.finditer(string, timeout=_budget.seconds_left())
        try:
            yield from matches
        except TimeoutError as exc:
            raise RegexTimeout(self.source) from exc

    def sub(self, repl: str | Callable[[regex.Match[str]], str], string: str, count: int = 0) -> str:
        """``string`` with the first ``count`` matches (all when 0) replaced."""
        replace = _expander(repl) if isinstance(repl, str) else repl
        try:
            return self._compiled.sub(replace, string, count, timeout=_budget.seconds_left())
        except TimeoutError as exc:
            raise RegexTimeout(self.source) from exc

    def split(self, string: str, maxsplit: int = 0) -> list[str | None]:
        """``string`` cut at each match, captured groups included (``None`` for one that took no part)."""
        try:
            return self._compiled.split(string, maxsplit, timeout=_budget.seconds_left())
        except TimeoutError as exc:
            raise RegexTimeout(self.source) from exc

    def __repr__(self) -> str:
        return f"/{self.source}/"


def _expander(template: str) -> Callable[[regex.Match[str]], str]:
    """A replacement function for ``template`` (see the module docstring for its rules)."""
    if "\\g<" not in template:
        return lambda match: template
    pieces = _GROUP_REFERENCE.split(template)

    def expand(match: regex.Match[str]) -> str:
        groups = len(match.groups())
        out: list[str] = []
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                out.append(piece)
                continue
            digits = piece
            while len(digits) > 1 and int(digits) > groups:
                digits = digits[:-1]
            if int(digits) <= groups:
                out.append(match.group(int(digits)) or "")
            out.append(piece[len(digits) :])
        return "".join(out)

    return expand
