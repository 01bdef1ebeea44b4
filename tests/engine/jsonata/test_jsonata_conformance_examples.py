"""The JSONata layer against AWS's recorded results.

The shared conformance corpus (``tests/conformance/cases.jsonl``, recorded
against real Step Functions) holds JSONata machines whose whole behaviour is the
evaluation of their templates: a straight line of Pass states (``Assign``,
``Output``, workflow variables) ending, perhaps, in a Map state's ``Items``
and numeric fields over an identity iterator. This test plays exactly those
through the public API -- without the runtime -- and compares outputs and
failure causes with the recording. The state-name prefix of a cause is the
runtime's job; it is added here the way the runtime must add it, so the whole
recorded text is compared.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from engine.errors import QUERY_EVALUATION_ERROR, QueryEvaluationError
from engine.jsonata import compile_template, is_jsonata_template, unexpected_type_cause
from engine.jsonvalue import dumps_str

# The project's own copy of the corpus (tests/conformance), so a fresh clone tests itself.
CASES = Path(__file__).resolve().parents[2] / "conformance" / "cases.jsonl"
FIRST_STATE_EVENT_ID = 2


_PASS_FIELDS = {"Type", "End", "Next", "Output", "Assign", "QueryLanguage", "Comment"}
_MAP_FIELDS = {
    "Type", "End", "Items", "MaxConcurrency", "ToleratedFailureCount",
    "ToleratedFailurePercentage", "ItemProcessor", "QueryLanguage", "Comment",
}  # fmt: skip


def _chain(case: dict[str, Any]) -> list[tuple[str, dict[str, Any]]] | None:
    """The states of a machine that is a straight line of JSONata Pass states,
    optionally ending in a Map state over an identity iterator; else None."""
    definition = case["definition"]
    states = definition.get("States", {})
    chain: list[tuple[str, dict[str, Any]]] = []
    name = definition.get("StartAt")
    while name is not None:
        state = states[name]
        language = state.get("QueryLanguage", definition.get("QueryLanguage", "JSONPath"))
        if language != "JSONata":
            return None
        if state["Type"] == "Pass" and set(state) <= _PASS_FIELDS:
            pass
        elif state["Type"] == "Map" and state.get("End") and set(state) <= _MAP_FIELDS:
            inner = list(state.get("ItemProcessor", {}).get("States", {}).values())
            if not (len(inner) == 1 and inner[0] == {"Type": "Pass", "End": True}):
                return None
        else:
            return None
        chain.append((name, state))
        name = state.get("Next")
    return chain


def _load() -> list[Any]:
    selected = []
    for line in CASES.read_text().splitlines():
        case = json.loads(line)
        if "JSONata" in case["features"] and _chain(case) is not None:
            selected.append(pytest.param(case, id=case["id"]))
    return selected


SELECTED = _load()


class _StateFailed(Exception):
    def __init__(self, name: str, entered_event_id: int, error: QueryEvaluationError) -> None:
        self.name = name
        self.entered_event_id = entered_event_id
        self.error = error


def _run_state(state: dict[str, Any], state_input: Any, variables: dict[str, Any]) -> Any:
    bindings = {**variables, "states": {"input": state_input, "context": {}}}
    rng = random.Random(0)
    if state["Type"] == "Pass":
        assigned = {}
        if "Assign" in state:
            assigned = compile_template(state["Assign"], field="Assign").evaluate(bindings, rng=rng)
        output = state_input
        if "Output" in state:
            output = compile_template(state["Output"], field="Output").evaluate(bindings, rng=rng)
        # Assignments take effect after the state's output is computed.
        variables.update(assigned)
        return output
    for field in ("MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage"):
        if field in state and is_jsonata_template(state[field]):
            compile_template(state[field], field=field).evaluate(bindings, rng=rng)
    if "Items" not in state:
        if not isinstance(state_input, list):
            # The runtime's wording, not this package's (map_state_items_input_types).
            raise QueryEvaluationError(
                cause=f"Map state input must be an array but was: {dumps_str(state_input)}"
            ).scoped()
        return state_input
    template = compile_template(state["Items"], field="Items")
    items = template.evaluate(bindings, rng=rng)
    if not isinstance(items, list):
        assert template.expression is not None
        cause = unexpected_type_cause(template.expression.text, "Items", "array", items)
        raise QueryEvaluationError(cause=cause).scoped()
    return items


def _run(chain: list[tuple[str, dict[str, Any]]], state_input: Any) -> Any:
    value = state_input
    variables: dict[str, Any] = {}
    for position, (name, state) in enumerate(chain):
        try:
            value = _run_state(state, value, variables)
        except QueryEvaluationError as exc:
            # Each Pass state before this one recorded an Entered and an Exited event.
            raise _StateFailed(name, FIRST_STATE_EVENT_ID + 2 * position, exc) from exc
    return value


def test_the_corpus_has_single_state_jsonata_cases_to_play() -> None:
    assert len(SELECTED) >= 30


@pytest.mark.parametrize("case", SELECTED)
def test_jsonata_case_matches_the_aws_recording(case: dict[str, Any]) -> None:
    chain = _chain(case)
    assert chain is not None
    expected = case["expected"]
    if expected["status"] == "SUCCEEDED":
        assert _run(chain, case["input"]) == expected["output"]
        return
    with pytest.raises(_StateFailed) as caught:
        _run(chain, case["input"])
    failure = caught.value
    assert failure.error.error == expected["error"] == QUERY_EVALUATION_ERROR
    assert failure.error.state_scoped
    prefix = (
        f"An error occurred while executing the state '{failure.name}' "
        f"(entered at the event id #{failure.entered_event_id}). "
    )
    assert prefix + (failure.error.cause or "") == expected["cause"]
