"""SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat: answers for waiting Tasks.

Both kinds of waiting Task share the engine's ``TaskTokens``: ``.waitForTaskToken``
Tasks and activity Tasks. The output of SendTaskSuccess must be JSON
(``InvalidOutput`` otherwise, as AWS). Token errors keep AWS's names
(``InvalidToken``, ``TaskDoesNotExist``, ``TaskTimedOut``); their messages
never repeat the token, which is a credential.
"""

from __future__ import annotations

from typing import Any

from engine.callbacks import TaskTokens, TokenError
from engine.jsonvalue import JSONDecodeError, loads
from statewright.api._errors import ApiError


class Callbacks:
    """The SendTask* operations over one engine's tokens."""

    def __init__(self, tokens: TaskTokens) -> None:
        self._tokens = tokens

    def success(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            output = loads(params["output"])
        except JSONDecodeError as exc:
            raise ApiError("InvalidOutput", f"Invalid Output: '{exc}'") from None
        try:
            self._tokens.succeed(params["taskToken"], output)
        except TokenError as exc:
            raise ApiError(exc.code, exc.message) from None
        return {}

    def failure(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            self._tokens.fail(params["taskToken"], params.get("error"), params.get("cause"))
        except TokenError as exc:
            raise ApiError(exc.code, exc.message) from None
        return {}

    def heartbeat(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            self._tokens.heartbeat(params["taskToken"])
        except TokenError as exc:
            raise ApiError(exc.code, exc.message) from None
        return {}


__all__ = ["Callbacks"]
