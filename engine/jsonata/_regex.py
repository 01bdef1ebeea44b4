r"""JSONata's regular expressions, run by the regex module against the evaluation's deadline.

A regex literal (``/(a+)+$/i``) is the only way a regular expression enters
JSONata: ``$match``, ``$replace``, ``$split`` and ``$contains`` take string
patterns literally, and a literal applied as a function (``"abc" ~> /b/``)
is the same object. The library compiles each literal once, at parse time,
through the engine it is handed (:func:`compile_regex`); it then calls only
``search``, ``finditer``, ``sub`` and ``split`` on the result.

Python's ``re`` cannot be interrupted: a backtracking pattern holds the thread,
and with it the event loop, for as long as it backtracks, out of the reach
of the library's time box. The regex module (mrab-regex) takes a ``timeout``
on every matching call, but counts it in the process's processor time
(``clock()`` in its ``_regex.c``, checked every 65,536 steps): on a busy
machine a 0.5 s timeout is 1 s of wall time when the process gets half a
core. The evaluation's limit is wall time (``_budget``), so a call is bounded
in two steps (:func:`_bounded`):

1. It runs inline with a timeout of :data:`INLINE_SLICE_SECONDS` (or what is
   left, if less): nearly every match ends well within it, at no extra cost.
2. One that does not is run again on a worker thread with the GIL released
   (``concurrent=True``) and what is left as its timeout, and the evaluation
   waits for it at most what is left in wall time. Past that it raises
   :class:`RegexTimeout`, which fails the evaluation like any runaway one
   (``D1012``); the abandoned match stops itself once its own timeout has run
   out in processor time, off the loop's thread.

So a regular expression holds the loop at most what is left of the
evaluation's limit in wall time, plus one slice of processor time; it fails
once that has passed in wall time or in the process's processor time,
whichever comes first (the second only when other threads of the process
are busy too).

The pattern is JavaScript's, as JSONata defines it; :func:`translate` rewrites
the constructs whose meaning differs in Python before compiling:

- ``.`` excludes every JavaScript line terminator (``\n``, ``\r``, U+2028,
  U+2029), not only ``\n``; ``^`` and ``$`` under ``m`` break lines at the
  same four; without ``m``, ``$`` is the end of the input only (Python's
  also matches before a final ``\n``).
- ``\d``, ``\w``, ``\b`` and their negations are ASCII; ``\s`` is
  JavaScript's whitespace (which has U+FEFF and lacks U+001C-U+001F and
  U+0085). Inside a class the negations ``\D``, ``\W``, ``\S`` keep
  Python's Unicode meaning (the regex module's version 0 syntax has no
  class subtraction); ``\b`` there is a backspace.
- ``[]`` matches nothing and ``[^]`` any character; a ``[`` inside a class
  is literal.
- ``{`` that does not open a quantifier (``{2}``, ``{2,}``, ``{2,5}``) is
  literal, so ``x{,3}`` is the four characters it is in JavaScript.
- An escaped letter JavaScript does not know (``\q``, ``\A``, ``\z``) is
  that letter; ``\cJ`` is a control character; ``\k<name>`` refers back
  to a named group.

Replacement strings reach ``sub`` already rewritten by the library: ``$1``
becomes ``\g<1>``, ``$$`` becomes ``$``. They are expanded here as JSONata
defines them rather than as Python templates: a reference to a group the
pattern lacks loses its last digits until it names one (``$12`` with one
group is group 1 then ``2``), or else is empty, and a backslash is just a
backslash.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import regex
from jsonata.regex_engine import RegexFlags

from . import _budget

_GROUP_REFERENCE: Final = regex.compile(r"\\g<(\d+)>")
INLINE_SLICE_SECONDS: Final = 0.01
"""Processor time a match may take inline before it moves to a worker thread (see the docstring)."""
MATCH_THREADS: Final = 2
"""Worker threads for long matches: the cores of a small machine; more would only queue for them."""


class RegexTimeout(Exception):
    """A regular expression ran past what was left of its evaluation's time."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(
            f"Expression evaluation timeout: the regular expression /{source}/ did not finish "
            f"matching within the evaluation's time limit ({_budget.current_limit_ms()} ms)"
        )


class ZeroLengthMatch(Exception):
    """jsonata-js's D1004: a regex function asked for the next match and got an empty one.

    jsonata-js (its regex matcher's ``next``) refuses such a match, since its loop
    would never progress; a first match may be empty, and so may a match at
    the very end (no next one is asked for there).
    """

    code: Final = "D1004"

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(f"Regular expression matches zero length string: /{source}/")


def compile_regex(pattern: str, flags: RegexFlags) -> BoundedPattern:
    """The library's regex engine hook: compile a literal's pattern with its ``i`` and ``m`` flags."""
    native = regex.IGNORECASE if flags.case_insensitive else 0
    return BoundedPattern(pattern, regex.compile(translate(pattern, multiline=flags.multiline), native))


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
        return _bounded(self._compiled, self.source, string, 0)

    def finditer(self, string: str) -> Iterator[regex.Match[str]]:
        """Every match in ``string``, in order, as jsonata-js's regex matcher gives them.

        Each next match is searched from where the previous one ended (a global
        ``exec``'s ``lastIndex``), and only while that is inside the string; an
        empty next match raises ``ZeroLengthMatch`` (D1004), lazily, so a caller
        that stops early (``$match``'s limit) never sees it.
        """
        compiled, source = self._compiled, self.source
        match = _bounded(compiled, source, string, 0)
        while match is not None:
            yield match
            if match.end() >= len(string):
                return
            match = _bounded(compiled, source, string, match.end())
            if match is not None and match.end() == match.start():
                raise ZeroLengthMatch(self.source)

    def sub(self, repl: str | Callable[[regex.Match[str]], str], string: str, count: int = 0) -> str:
        """``string`` with the first ``count`` matches (all when 0) replaced, as JavaScript's ``replace``."""
        replace = _expander(repl) if isinstance(repl, str) else repl
        pieces: list[str] = []
        last = 0
        for number, match in enumerate(self.finditer(string)):
            if count and number >= count:
                break
            pieces.append(string[last : match.start()])
            pieces.append(replace(match))
            last = match.end()
        pieces.append(string[last:])
        return "".join(pieces)

    def split(self, string: str, maxsplit: int = 0) -> list[str | None]:
        """``string`` cut at each match as jsonata-js's ``$split`` cuts it.

        The pieces between matches only (no captured groups), the rest after the
        last match included; the matches are ``finditer``'s, so an empty one
        after the first is D1004. ``maxsplit`` limits the pieces (0: no limit).
        """
        pieces: list[str | None] = []
        start = 0
        for match in self.finditer(string):
            if maxsplit and len(pieces) >= maxsplit:
                return pieces
            pieces.append(string[start : match.start()])
            start = match.end()
        if not maxsplit or len(pieces) < maxsplit:
            pieces.append(string[start:])
        return pieces

    def __repr__(self) -> str:
        return f"/{self.source}/"


_pool: ThreadPoolExecutor | None = None
_pool_lock: Final = threading.Lock()


def _match_pool() -> ThreadPoolExecutor:
    """The worker threads for long matches, started on first need (most processes never need them)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MATCH_THREADS, thread_name_prefix="jsonata-regex")
        return _pool


def _bounded(
    compiled: regex.Pattern[str], source: str, string: str, pos: int, inline: float = INLINE_SLICE_SECONDS
) -> regex.Match[str] | None:
    """``compiled.search(string, pos)`` within what is left of the evaluation's time, in wall time.

    Args:
        inline: processor time the match may take on this thread first (0: none).

    Raises:
        RegexTimeout: the match did not end within what was left.
    """
    left = _budget.seconds_left()
    if left is None:  # outside an evaluation: nothing to bound
        return compiled.search(string, pos)
    if inline > 0:
        try:
            return compiled.search(string, pos, timeout=min(left, inline))
        except TimeoutError:
            if left <= inline:
                raise RegexTimeout(source) from None
    # A long match: off this thread (the GIL released), waited for in wall time.
    rest = _budget.seconds_left() or 0.0
    future = _match_pool().submit(compiled.search, string, pos, concurrent=True, timeout=rest)
    try:
        return future.result(timeout=rest)
    except TimeoutError:  # the wait's (the match goes on, and stops at its own timeout) or the match's
        future.cancel()  # if it is still queued behind abandoned ones
        raise RegexTimeout(source) from None


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


_LINE_TERMINATORS: Final = "\\n\\r\\u2028\\u2029"
_WORD: Final = "A-Za-z0-9_"
_SPACE: Final = "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_WORD_BOUNDARY: Final = f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))"
_NOT_WORD_BOUNDARY: Final = f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))"
_OUTSIDE_ESCAPES: Final = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "b": _WORD_BOUNDARY,
    "B": _NOT_WORD_BOUNDARY,
}
_CLASS_ESCAPES: Final = {
    "d": "0-9",
    "w": _WORD,
    "s": _SPACE,
    "b": "\\x08",
    "D": "\\D",
    "W": "\\W",
    "S": "\\S",
}
#: Letter escapes that mean the same in both dialects.
_SHARED_ESCAPES: Final = frozenset("nrtfv")
_QUANTIFIER: Final = regex.compile(r"\{[0-9]+(?:,[0-9]*)?\}")
_NAMED_REFERENCE: Final = regex.compile(r"k<([A-Za-z_$][A-Za-z0-9_$]*)>")


def translate(pattern: str, *, multiline: bool = False) -> str:
    """Rewrite a JavaScript pattern (JSONata's) into the regex module's syntax with the same meaning.

    Raises:
        regex.error: never for a valid JavaScript pattern that the regex module
            can express; an invalid one surfaces when compiled.
    """
    out: list[str] = []
    index = 0
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "\\":
            text, index = _escape(pattern, index + 1, _OUTSIDE_ESCAPES)
            out.append(text)
        elif char == "[":
            text, index = _class(pattern, index + 1)
            out.append(text)
        elif char == ".":
            out.append(f"[^{_LINE_TERMINATORS}]")
            index += 1
        elif char == "^":
            out.append(f"(?<![^{_LINE_TERMINATORS}])" if multiline else "^")
            index += 1
        elif char == "$":
            out.append(f"(?![^{_LINE_TERMINATORS}])" if multiline else "\\Z")
            index += 1
        elif char == "{":
            quantifier = _QUANTIFIER.match(pattern, index)
            if quantifier is None:
                out.append("\\{")
                index += 1
            else:
                out.append(quantifier.group())
                index = quantifier.end()
        elif char == "}":
            out.append("\\}")
            index += 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _escape(pattern: str, index: int, letters: dict[str, str]) -> tuple[str, int]:
    """Translate the escape whose character is at ``index``; return it and the index after it."""
    if index >= len(pattern):
        return "\\\\", index  # a trailing backslash (a literal cannot end so: it escapes the slash)
    char = pattern[index]
    if char in letters:
        return letters[char], index + 1
    if (
        char == "c"
        and index + 1 < len(pattern)
        and pattern[index + 1].isascii()
        and pattern[index + 1].isalpha()
    ):
        return f"\\x{ord(pattern[index + 1]) % 32:02x}", index + 2
    if char == "k":
        reference = _NAMED_REFERENCE.match(pattern, index)
        if reference is not None:
            return f"(?P={reference.group(1)})", reference.end()
    if char in _SHARED_ESCAPES or char.isdigit():
        return "\\" + char, index + 1
    if char in "xu":
        digits = 2 if char == "x" else 4
        code = pattern[index + 1 : index + 1 + digits]
        if len(code) == digits and all(c in "0123456789abcdefABCDEF" for c in code):
            return "\\" + char + code, index + 1 + digits
    # JavaScript's identity escape: the character itself (a letter it does not know, or a sign).
    return regex.escape(char), index + 1


def _class(pattern: str, index: int) -> tuple[str, int]:
    """Translate the class whose ``[`` ends before ``index``; return it and the index after its ``]``."""
    negated = pattern.startswith("^", index)
    if negated:
        index += 1
    if pattern.startswith("]", index):
        return ("[\\s\\S]" if negated else "(?!)"), index + 1
    out = ["[^" if negated else "["]
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "]":
            out.append("]")
            return "".join(out), index + 1
        if char == "\\":
            text, index = _escape(pattern, index + 1, _CLASS_ESCAPES)
            out.append(text)
            continue
        out.append("\\[" if char == "[" else char)
        index += 1
    return "".join(out), index  # unterminated: left for the compiler to refuse
