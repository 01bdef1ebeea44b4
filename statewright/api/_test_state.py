"""TestState: one state run in isolation, by the engine's ``Engine.test_state``.

The request's ``definition`` is a state's definition (or a whole machine's),
``input`` and ``variables`` are JSON text, as on AWS. The answer is
``TestStateResult.to_aws()`` (status, output, error, cause, nextState,
inspectionData), shaped by the model like every other answer. A definition
AWS would refuse is ``InvalidDefinition``; a request it would refuse is
``ValidationException``.
"""

from __future__ import annotations

from typing import Any

from engine import Engine, InvalidDefinition, TestStateValidation
from engine.jsonvalue import JSONDecodeError, loads
from statewright.api._errors import ApiError


async def test_state(engine: Engine, params: dict[str, Any]) -> dict[str, Any]:
    """Serve one TestState request."""
    try:
        value = loads(params.get("input") or "{}")
        variables = loads(params["variables"]) if params.get("variables") else None
    except JSONDecodeError as exc:
        raise ApiError("ValidationException", f"input and variables must be JSON: {exc}") from None
    if variables is not None and not isinstance(variables, dict):
        raise ApiError("ValidationException", "variables must be a JSON object")
    try:
        result = await engine.test_state(
            params["definition"],
            value,
            inspection_level=params.get("inspectionLevel") or "INFO",
            variables=variables,
            reveal_secrets=bool(params.get("revealSecrets")),
        )
    except InvalidDefinition as exc:
        shown = "; ".join(f"{p.code}: {p.message} at {p.location or '/'}" for p in exc.problems)
        raise ApiError("InvalidDefinition", f"Invalid State Machine Definition: '{shown}'") from None
    except TestStateValidation as exc:
        raise ApiError("ValidationException", str(exc)) from None
    return dict(result.to_aws())


__all__ = ["test_state"]
