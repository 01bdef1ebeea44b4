"""Graph checks of a definition: transitions name states, states are reachable, variables assigned.

They run per scope (``check_graph``), because a Parallel branch or Map
processor is a state machine of its own whose states may only point at each
other; the variable check (``check_variable_references``) runs once over the
whole definition, since a variable assigned anywhere may be read anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final

from engine.definition.model import (
    JSONPATH,
)
from engine.errors import Problem
from engine.jsonvalue import JSON
from engine.templates import pointer

_VAR_REF_RE: Final = re.compile(r"(?<![\w$])\$([A-Za-z_][A-Za-z0-9_]*)")
# Fields whose text is a path though the name does not end in "Path" (a Choice rule's Variable).
_PATH_FIELDS: Final = frozenset({"Variable"})


def _assigned_names(node: JSON, out: set[str]) -> None:
    if isinstance(node, dict):
        assign = node.get("Assign")
        if isinstance(assign, dict):
            for key in assign:
                out.add(key[:-2] if key.endswith(".$") else key)
        for v in node.values():
            _assigned_names(v, out)
    elif isinstance(node, list):
        for v in node:
            _assigned_names(v, out)


def check_variable_references(raw: Mapping[str, JSON], problems: list[Problem]) -> None:
    """A JSONPath reference to a variable that no state ever assigns is a definition error.

    Only JSONPath references are checked: AWS fails an undefined JSONata
    variable at run time (conformance ``undefined_reference``).
    """
    assigned: set[str] = set()
    _assigned_names(raw, assigned)

    def refs(text: str) -> list[str]:
        if text.startswith("States."):
            return _VAR_REF_RE.findall(text)
        if text.startswith("$") and not text.startswith(("$$", "$.", "$[")) and len(text) > 1:
            m = _VAR_REF_RE.match(text)
            return [m.group(1)] if m else []
        return []

    def walk(node: JSON, loc: str, ql: str) -> None:
        if isinstance(node, dict):
            ql = node.get("QueryLanguage", ql) if isinstance(node.get("QueryLanguage"), str) else ql
            for key, v in node.items():
                here = pointer(loc, key)
                if (
                    ql == JSONPATH
                    and isinstance(v, str)
                    and (key.endswith(".$") or key in _PATH_FIELDS or key.endswith("Path"))
                ):
                    for name in refs(v):
                        if name not in assigned:
                            problems.append(
                                Problem(
                                    here, "UNDEFINED_VARIABLE", f"the variable '${name}' is never assigned"
                                )
                            )
                else:
                    walk(v, here, ql)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, pointer(loc, i), ql)

    walk(raw, "", str(raw.get("QueryLanguage", JSONPATH)))


def check_graph(
    start_at: str | None, states_raw: Mapping[str, JSON], loc: str, problem: Callable[[str, str, str], None]
) -> None:
    """Every transition names a state; with a valid ``start_at``, every state is reachable."""
    edges: dict[str, list[str]] = {}
    for name, sraw in states_raw.items():
        targets: list[str] = []
        if isinstance(sraw, dict):
            sloc = pointer(pointer(loc, "States"), name)
            for key in ("Next", "Default"):
                t = sraw.get(key)
                if isinstance(t, str):
                    targets.append(t)
                    if t not in states_raw:
                        problem(pointer(sloc, key), "MISSING_TARGET", f"'{key}' names no state: '{t}'")
            for listkey in ("Choices", "Catch"):
                items = sraw.get(listkey)
                if isinstance(items, list):
                    for i, it in enumerate(items):
                        if isinstance(it, dict) and isinstance(it.get("Next"), str):
                            t = it["Next"]
                            targets.append(t)
                            if t not in states_raw:
                                problem(
                                    pointer(pointer(pointer(sloc, listkey), i), "Next"),
                                    "MISSING_TARGET",
                                    f"'Next' names no state: '{t}'",
                                )
        edges[name] = targets
    if start_at is None:
        return
    seen = {start_at}
    todo = [start_at]
    while todo:
        for t in edges.get(todo.pop(), []):
            if t in states_raw and t not in seen:
                seen.add(t)
                todo.append(t)
    for name in states_raw:
        if name not in seen:
            problem(
                pointer(pointer(loc, "States"), name),
                "UNREACHABLE_STATE",
                f"state '{name}' is not reachable",
            )
