"""Raw definition → ``StateMachine``, reporting every problem with its JSON location.

The parser walks the definition once. It never stops at the first problem:
each one is recorded with a JSON Pointer (``/States/Run job/Retry/0/MaxAttempts``)
and a short code, and ``InvalidDefinition`` lists them all at the end. Graph
checks (targets exist, every state reachable) run per scope, because a
Parallel branch or Map processor is a state machine of its own whose states
may only point at each other.

The parser's rooms:

- ``parse``: this module: ``parse_definition``, state machines and the fields every state has.
- ``builders``: one builder per state type (``StateBuilders.s_task`` ...).
- ``fields``: which fields each state type allows; reading a field into a typed value.
- ``validate``: graph checks per scope and the variable references of the whole definition.
- ``choice``: Choice rules (JSONPath comparisons, And/Or/Not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.definition.builders import StateBuilders
from engine.definition.fields import (
    ALLOWED_FIELDS,
    JSONATA_ONLY,
    JSONPATH_ONLY,
    MACHINE_FIELDS,
    MAX_NAME,
    PROCESSOR_FIELDS,
    STATE_TYPES,
    TOP_MACHINE_FIELDS,
)
from engine.definition.model import (
    JSONATA,
    JSONPATH,
    QueryLanguage,
    State,
    StateMachine,
)
from engine.definition.validate import check_graph, check_variable_references
from engine.errors import InvalidDefinition, Problem
from engine.jsonvalue import JSON, JSONDecodeError, NotJSON, check_value, dumps, loads
from engine.registry import ExecutorRegistry
from engine.templates import pointer


def parse_definition(
    definition: str | bytes | Mapping[str, Any],
    *,
    registry: ExecutorRegistry | None = None,
) -> StateMachine:
    """Parse and validate a definition into an immutable ``StateMachine``.

    Args:
        definition: JSON text or an already-parsed object.
        registry: when given, every Task's Resource must be served by it, and
            executors that can check parameters do so.

    Raises:
        InvalidDefinition: with every problem found, each with its JSON location.
    """
    raw: JSON
    if isinstance(definition, str | bytes):
        try:
            raw = loads(definition)
        except JSONDecodeError as exc:
            raise InvalidDefinition(
                [Problem("", "INVALID_JSON", f"definition is not valid JSON: {exc}")]
            ) from None
    else:
        raw = definition
        try:
            # Walked without recursion: a definition of any depth gets an answer, not a RecursionError.
            check_value(raw)
        except NotJSON as exc:
            raise InvalidDefinition([Problem("", "INVALID_JSON", f"definition is not JSON: {exc}")]) from None
    parser = _Parser(registry)
    machine = parser.machine(raw, "", JSONPATH, top=True)
    if isinstance(raw, dict):
        check_variable_references(raw, parser.problems)
    if parser.problems or machine is None:
        raise InvalidDefinition(parser.problems or [Problem("", "INVALID", "invalid definition")])
    return machine


def _needs_context(raw: Mapping[str, JSON], ql: QueryLanguage) -> bool:
    """Whether a state reads the context object; building it per state costs, so only then."""
    try:
        text = dumps(raw)
    except TypeError:
        return True
    if ql == JSONATA:
        return b"context" in text or (b"$states" in text and b"$states." not in text)
    # Any "$$" path or intrinsic argument; Map states also expose $$.Map to ItemSelector.
    return b"$$" in text


class _Parser(StateBuilders):
    """Definitions and their states: the scope of each state machine, the fields every state has."""

    # -- state machines --------------------------------------------------
    def machine(
        self, raw: JSON, loc: str, inherited: QueryLanguage, *, top: bool, processor: bool = False
    ) -> StateMachine | None:
        if not isinstance(raw, dict):
            self.problem(loc, "INVALID_TYPE", "a state machine definition must be a JSON object")
            return None
        allowed = set(MACHINE_FIELDS)
        if top:
            allowed |= TOP_MACHINE_FIELDS
        elif processor:
            allowed |= PROCESSOR_FIELDS
        for key in raw:
            if key not in allowed:
                self.problem(pointer(loc, key), "UNKNOWN_FIELD", f"Field '{key}' is not supported here")
        ql = self.query_language(raw, loc, inherited, top=top)
        start_at = raw.get("StartAt")
        if start_at is None:
            self.problem(loc, "MISSING_FIELD", "'StartAt' is required")
        elif not isinstance(start_at, str):
            self.problem(pointer(loc, "StartAt"), "INVALID_TYPE", "'StartAt' must be a string")
            start_at = None
        states_raw = raw.get("States")
        states: dict[str, State] = {}
        if states_raw is None:
            self.problem(loc, "MISSING_FIELD", "'States' is required")
        elif not isinstance(states_raw, dict):
            self.problem(pointer(loc, "States"), "INVALID_TYPE", "'States' must be an object")
        elif not states_raw:
            self.problem(pointer(loc, "States"), "INVALID_VALUE", "'States' must not be empty")
        else:
            for name, sraw in states_raw.items():
                sloc = pointer(pointer(loc, "States"), name)
                if len(name) > MAX_NAME or not name:
                    self.problem(sloc, "INVALID_NAME", f"state names must be 1 to {MAX_NAME} characters")
                st = self.state(name, sraw, sloc, ql)
                if st is not None:
                    states[name] = st
        timeout = None
        if top:
            timeout = self.number(raw, "TimeoutSeconds", loc, integer=True, minimum=1)
        if isinstance(start_at, str) and isinstance(states_raw, dict) and states_raw:
            if start_at not in states_raw:
                self.problem(
                    pointer(loc, "StartAt"), "MISSING_TARGET", f"StartAt '{start_at}' is not a state"
                )
                # The other transitions are still checked: every problem is listed at once.
                check_graph(None, states_raw, loc, self.problem)
            else:
                check_graph(start_at, states_raw, loc, self.problem)
        elif isinstance(states_raw, dict) and states_raw:
            check_graph(None, states_raw, loc, self.problem)
        if not isinstance(start_at, str):
            return None
        return StateMachine(
            start_at=start_at,
            states=states,
            query_language=ql,
            timeout_seconds=timeout,
            comment=raw.get("Comment") if isinstance(raw.get("Comment"), str) else None,
            version=raw.get("Version") if isinstance(raw.get("Version"), str) else None,
            raw=raw,
        )

    def query_language(
        self, raw: Mapping[str, JSON], loc: str, inherited: QueryLanguage, *, top: bool
    ) -> QueryLanguage:
        given = raw.get("QueryLanguage", inherited)
        ql: QueryLanguage
        if given == JSONPATH:
            ql = "JSONPath"
        elif given == JSONATA:
            ql = "JSONata"
        else:
            self.problem(
                pointer(loc, "QueryLanguage"), "INVALID_VALUE", "'QueryLanguage' must be JSONPath or JSONata"
            )
            return inherited
        if inherited == JSONATA and ql == JSONPATH and not top:
            # AWS: a JSONata machine cannot contain JSONPath states.
            self.problem(
                pointer(loc, "QueryLanguage"),
                "INVALID_VALUE",
                "a state cannot use JSONPath inside a JSONata state machine",
            )
        return ql

    # -- states ----------------------------------------------------------
    def state(self, name: str, raw: JSON, loc: str, inherited: QueryLanguage) -> State | None:
        if not isinstance(raw, dict):
            self.problem(loc, "INVALID_TYPE", "a state must be a JSON object")
            return None
        stype = raw.get("Type")
        if stype not in STATE_TYPES:
            if stype is None:
                self.problem(loc, "MISSING_FIELD", "'Type' is required")
            else:
                self.problem(pointer(loc, "Type"), "INVALID_VALUE", f"unknown state type {stype!r}")
            return None
        ql = self.query_language(raw, loc, inherited, top=False)
        allowed = ALLOWED_FIELDS[stype]
        for key in raw:
            if key not in allowed:
                self.problem(
                    pointer(loc, key), "UNKNOWN_FIELD", f"Field '{key}' is not supported by {stype} states"
                )
            elif ql == JSONATA and key in JSONPATH_ONLY:
                self.problem(
                    pointer(loc, key),
                    "JSONPATH_FIELD_IN_JSONATA",
                    f"Field '{key}' is not supported in a JSONata state; use Arguments, Output or Items",
                )
            elif ql == JSONPATH and key in JSONATA_ONLY:
                self.problem(
                    pointer(loc, key),
                    "JSONATA_FIELD_IN_JSONPATH",
                    f"Field '{key}' is only supported in a JSONata state (set QueryLanguage to JSONata)",
                )
        # Flow: exactly one of Next / End where the type continues.
        nxt = self.string(raw, "Next", loc)
        end = raw.get("End", False)
        if "End" in raw and not isinstance(end, bool):
            self.problem(pointer(loc, "End"), "INVALID_TYPE", "'End' must be a boolean")
            end = False
        if stype in ("Pass", "Task", "Wait", "Parallel", "Map"):
            if nxt is not None and end:
                self.problem(loc, "NEXT_AND_END", "a state cannot have both 'Next' and 'End'")
            elif nxt is None and not end:
                self.problem(loc, "MISSING_NEXT_OR_END", "a state must have either 'Next' or 'End: true'")
        common: dict[str, Any] = {
            "name": name,
            "type": stype,
            "query_language": ql,
            "next": nxt,
            "end": bool(end),
            "comment": raw.get("Comment") if isinstance(raw.get("Comment"), str) else None,
            "needs_context": _needs_context(raw, ql),
        }
        if ql == JSONPATH:
            common["input_path"], common["input_path_null"] = self.ref_path(
                raw, "InputPath", loc, reference=False
            )
            common["output_path"], common["output_path_null"] = self.ref_path(
                raw, "OutputPath", loc, reference=False
            )
            if "Assign" in raw:
                common["assign"] = self.assign(raw["Assign"], pointer(loc, "Assign"), ql)
        else:
            if "Assign" in raw:
                common["assign"] = self.assign(raw["Assign"], pointer(loc, "Assign"), ql)
            common["output"] = self.jsonata_value(raw, "Output", loc)
        builder: Callable[[Mapping[str, JSON], str, dict[str, Any]], State | None] = getattr(
            self, f"s_{stype.lower()}"
        )
        return builder(raw, loc, common)


__all__ = ["ALLOWED_FIELDS", "STATE_TYPES", "parse_definition"]
