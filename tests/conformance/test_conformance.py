"""The conformance corpus (recorded against real AWS) as one parametrized test.

Each case runs on a fresh engine with virtual time; status, output, error and
cause must match by the corpus README's rule (placeholders are wildcards), and
where the case lists history event types, ours must match too. Cases listed
in ``known_differences.txt`` (id, then a one-line reason) are expected to
differ and are reported as xfail; a listed case that starts passing fails the
run (strict), so the list cannot go stale.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine import Engine, InvalidDefinition
from engine.runtime.clock import ImmediateClock

HERE = Path(__file__).parent
CASES = [orjson.loads(line) for line in (HERE / "cases.jsonl").read_bytes().splitlines() if line.strip()]


def _known() -> dict[str, str]:
    out: dict[str, str] = {}
    path = HERE / "known_differences.txt"
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                cid, _, reason = line.partition(" ")
                out[cid] = reason.strip()
    return out


KNOWN = _known()
PLACEHOLDER_RE = re.compile(r"<[A-Za-z0-9_:\-]+>|111111111111|snf_role_arn")


def _matches_str(expected: str, actual: Any, placeholders: list[str]) -> bool:
    if expected in placeholders:
        return True
    if not isinstance(actual, str):
        return False
    present = [p for p in placeholders if p in expected]
    if not present:
        return expected == actual
    pattern = re.escape(expected)
    for p in sorted(present, key=len, reverse=True):
        pattern = pattern.replace(re.escape(p), ".*")
    return re.fullmatch(pattern, actual, re.DOTALL) is not None


def json_match(expected: Any, actual: Any, placeholders: list[str]) -> bool:
    """Equality as JSON values, with placeholder strings as wildcards."""
    if isinstance(expected, str):
        return _matches_str(expected, actual, placeholders)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual if isinstance(expected, bool) and isinstance(actual, bool) else False
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return bool(expected == actual)
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(json_match(e, a, placeholders) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(json_match(v, actual[k], placeholders) for k, v in expected.items())
        )
    return bool(expected == actual)


def cause_match(expected: str | None, actual: str | None, placeholders: list[str]) -> bool:
    if not expected:
        return not actual
    if actual is None:
        return False
    try:
        e_json, a_json = orjson.loads(expected), orjson.loads(actual)
    except orjson.JSONDecodeError:
        return _matches_str(expected, actual, placeholders)
    return json_match(e_json, a_json, placeholders)


def _params() -> list[Any]:
    out = []
    for case in CASES:
        marks = []
        if case["id"] in KNOWN:
            marks.append(pytest.mark.xfail(reason=KNOWN[case["id"]], strict=True))
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


@pytest.mark.parametrize("case", _params())
async def test_case_matches_aws(case: dict[str, Any]) -> None:
    placeholders: list[str] = list(case.get("placeholders", []))
    expected = case["expected"]
    async with Engine(load_plugins=False, clock=ImmediateClock(), seed=0) as engine:
        try:
            result = await engine.run(
                case["definition"], case["input"], state_machine_type=case.get("state_machine_type", "STANDARD")
            )
        except InvalidDefinition as exc:  # pragma: no cover - reported as a failure with its problems
            pytest.fail(f"definition rejected: {exc}")
    assert result.status == expected["status"], (result.status, result.error, result.cause)
    if expected["status"] == "SUCCEEDED":
        assert json_match(expected["output"], result.output, placeholders), result.output
    else:
        exp_error = expected.get("error") or None
        assert (result.error or None) == exp_error or (
            exp_error is not None and _matches_str(exp_error, result.error, placeholders)
        ), (result.error, result.cause)
        assert cause_match(expected.get("cause"), result.cause, placeholders), result.cause
    if case.get("events"):
        assert result.history.types == case["events"]
