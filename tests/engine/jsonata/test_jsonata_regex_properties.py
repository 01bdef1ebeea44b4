"""Property tests of the JavaScript-to-regex-module translation (engine.jsonata._regex).

Invariants: the character escapes and ``.`` match exactly the characters
ECMA-262 gives them, whatever Python's Unicode rules say; where the two
dialects agree (ASCII text without line terminators) the translated pattern
finds the very matches Python's ``re`` finds in the original, iterated as
JavaScript iterates; and ``split`` cuts a string into pieces that, with the
separators it matched, make up the string again.
"""

from __future__ import annotations

import re
import string

from hypothesis import given
from hypothesis import strategies as st
from jsonata.regex_engine import RegexFlags

from engine.jsonata._regex import BoundedPattern, ZeroLengthMatch, compile_regex, translate

# ECMA-262, "CharacterClassEscape" and "WhiteSpace" / "LineTerminator".
JS_DIGITS = frozenset("0123456789")
JS_WORD = frozenset(string.ascii_letters + string.digits + "_")
JS_LINE_TERMINATORS = frozenset("\n\r\u2028\u2029")
JS_WHITESPACE = (
    frozenset("\t\x0b\x0c \xa0\ufeff\u1680\u202f\u205f\u3000")
    | frozenset(chr(c) for c in range(0x2000, 0x200B))
    | JS_LINE_TERMINATORS
)

# Characters where JavaScript and Python disagree, and some where they agree.
TRICKY = st.sampled_from(
    list("\n\r\u2028\u2029\x85\x1c\x1f\xa0\ufeff\u0663\u00e9\u017f\u212a_ aZ09$^.[]{}\\/")
)
CHARACTERS = st.one_of(st.characters(), TRICKY)


def pattern(source: str, flags: str = "") -> BoundedPattern:
    return compile_regex(source, RegexFlags(case_insensitive="i" in flags, multiline="m" in flags))


def matches(source: str, char: str) -> bool:
    return pattern(source).search(char) is not None


@given(CHARACTERS)
def test_character_escapes_mean_what_ecmascript_says(char: str) -> None:
    assert matches(r"^\d$", char) == (char in JS_DIGITS)
    assert matches(r"^\D$", char) == (char not in JS_DIGITS)
    assert matches(r"^\w$", char) == (char in JS_WORD)
    assert matches(r"^\W$", char) == (char not in JS_WORD)
    assert matches(r"^\s$", char) == (char in JS_WHITESPACE)
    assert matches(r"^\S$", char) == (char not in JS_WHITESPACE)
    assert matches("^.$", char) == (char not in JS_LINE_TERMINATORS)
    assert matches(r"^[\d\w\s]$", char) == (char in JS_DIGITS | JS_WORD | JS_WHITESPACE)
    assert matches("^[^]$", char)
    assert not matches("[]", char)


@given(st.text(CHARACTERS, max_size=12))
def test_line_anchors_break_only_at_javascript_line_terminators(text: str) -> None:
    assert (pattern("x$").search(text) is not None) == text.endswith("x")
    assert (pattern("^x").search(text) is not None) == text.startswith("x")
    lines = re.split("[\n\r\u2028\u2029]", text)
    assert (pattern("x$", "m").search(text) is not None) == any(line.endswith("x") for line in lines)
    assert (pattern("^x", "m").search(text) is not None) == any(line.startswith("x") for line in lines)


# Patterns built only of constructs both dialects share.
_ATOMS = st.sampled_from(
    [
        "a",
        "b",
        "ab",
        ".",
        r"\d",
        r"\D",
        r"\w",
        r"\W",
        r"\s",
        r"\S",
        r"\b",
        r"\B",
        "[ab]",
        "[^a]",
        r"[\d.]",
        "^",
        "$",
        r"\.",
        "(a|b)",
        "(?:ab)",
        "(?=a)",
        "(?!b)",
    ]
)
_QUANTIFIERS = st.sampled_from(["", "", "*", "+", "?", "{1,2}", "{2}", "*?", "+?"])
SHARED_PATTERNS = st.lists(st.tuples(_ATOMS, _QUANTIFIERS), min_size=1, max_size=4).map(
    lambda parts: "".join(
        atom + ("" if atom in ("^", "$", r"\b", r"\B", "(?=a)", "(?!b)") else q) for atom, q in parts
    )
)
# Not empty: there Python's \B fails where JavaScript's matches (see test_translate_examples).
AGREED_TEXT = st.text(st.sampled_from("ab _.9x-"), min_size=1, max_size=10)


def _javascript_iteration(source: str, text: str) -> list[tuple[int, str]] | None:
    """What jsonata-js's matcher finds (None: D1004), driven by Python's re on the untranslated pattern."""
    compiled = re.compile(source)
    # jsonata-js's matcher: the next match from where the last ended, while inside the string;
    # an empty next match is D1004 (None here).
    found: list[tuple[int, str]] = []
    match = compiled.search(text, 0)
    while match is not None:
        found.append((match.start(), match.group()))
        if match.end() >= len(text):
            break
        match = compiled.search(text, match.end())
        if match is not None and match.end() == match.start():
            return None
    return found


@given(SHARED_PATTERNS, AGREED_TEXT)
def test_where_the_dialects_agree_the_translation_changes_nothing(source: str, text: str) -> None:
    expected = _javascript_iteration(source, text)
    try:
        found: list[tuple[int, str]] | None = [(m.start(), m.group()) for m in pattern(source).finditer(text)]
    except ZeroLengthMatch:
        found = None
    assert found == expected


@given(SHARED_PATTERNS, AGREED_TEXT)
def test_split_pieces_and_separators_make_up_the_string(source: str, text: str) -> None:
    plain = re.sub(r"\((?!\?)", "(?:", source)  # no captures: the pieces are only the text between cuts
    compiled = pattern(plain)
    try:
        pieces = compiled.split(text)
    except ZeroLengthMatch:
        return  # D1004, as jsonata-js (an empty match after the first)
    assert all(isinstance(piece, str) for piece in pieces)
    separators = [m.group() for m in compiled.finditer(text) if m.group()]
    if not any(m.group() == "" for m in compiled.finditer(text)) and text:
        rebuilt = "".join(p + s for p, s in zip(pieces, [*separators, ""], strict=True))
        assert rebuilt == text


@given(st.text(st.sampled_from("ab{},3x\\q"), max_size=8))
def test_translation_never_loses_a_literal_brace_or_identity_escape(text: str) -> None:
    # A brace that opens no quantifier and an unknown escaped letter are the characters themselves.
    for source in ("x{,3}", "x{", "{a}", r"\q"):
        literal = source.replace("\\", "")
        assert (pattern(source).search(text) is not None) == (literal in text)


def test_translate_examples() -> None:
    assert translate(r"^a.b$") == "^a[^\\n\\r\\u2028\\u2029]b\\Z"
    assert translate(r"\cJ") == "\\x0a"
    assert translate(r"(?<y>\d)\k<y>") == "(?<y>[0-9])(?P=y)"
    assert pattern(r"(?<y>\d)\k<y>").search("a11") is not None
    assert pattern(r"\B").search("") is not None  # /\B/.test("") is true in JavaScript
