"""Task tokens: the ``.waitForTaskToken`` pattern and activity tasks.

A callback Task hands a token to the outside world and waits until someone
answers it with ``SendTaskSuccess`` or ``SendTaskFailure``. The flow, for a
resource whose executor declares ``IntegrationPattern.WAIT_FOR_TASK_TOKEN``:

1. The interpreter makes a fresh token for every attempt and shows it to the
   Task's Parameters as ``$$.Task.Token`` (``Position.task_token``).
2. ``run_with_token`` registers the token, runs the executor once (the
   request-response call that carries the token, e.g. a Lambda invocation),
   records ``TaskSubmitted`` and saves the token as the Task's handle, so a
   resumed execution waits again instead of calling the service twice.
3. It then waits in ``TaskTokens.wait``: parked (no task, no frames) when the
   engine offers ``ExecutorContext.park``, otherwise awaiting inside the
   Task's timeout/heartbeat scope, where ``SendTaskHeartbeat`` resets the
   heartbeat timer.

``TaskTokens`` answers the three errors AWS has for callbacks:
``InvalidToken`` (not a token this engine could have made),
``TaskDoesNotExist`` (no Task waits for it: finished, stopped, never issued)
and ``TaskTimedOut`` (its Task timed out). Tokens are 64 random bytes from
``secrets`` rather than the engine's seeded RNG: they are bearer
credentials, and must not be guessable from the seed or from other tokens.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from engine.errors import StatesError, StatewrightError
from engine.executor import Executor, ExecutorCall, ExecutorContext, Wake
from engine.jsonvalue import JSON

TOKEN_BYTES: Final = 64
TOKEN_PREFIX: Final = "AQ"
_TOKEN_RE: Final = re.compile(r"^AQ[A-Za-z0-9_-]{86}$")
FINISHED_REMEMBERED: Final = 100_000
"""How many answered or expired tokens are remembered, to tell TaskTimedOut from TaskDoesNotExist."""
_HANDLE_KEY: Final = "taskToken"


class TokenError(StatewrightError):
    """A callback that cannot be delivered; ``code`` is AWS's error name."""

    code: str = "TaskDoesNotExist"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidToken(TokenError):
    code = "InvalidToken"


class TaskDoesNotExist(TokenError):
    code = "TaskDoesNotExist"


class TaskTimedOut(TokenError):
    code = "TaskTimedOut"


def new_token() -> str:
    """A fresh, unguessable task token (88 characters, URL-safe)."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(TOKEN_BYTES)).decode().rstrip("=")


def is_token(text: str) -> bool:
    """Whether ``text`` has the shape of a token this engine makes."""
    return _TOKEN_RE.match(text) is not None


@dataclass(slots=True)
class _Outcome:
    output: JSON = None
    error: StatesError | None = None


class _Pending:
    """One issued token whose Task has not ended yet."""

    __slots__ = ("ctx", "execution_arn", "future", "outcome", "wake")

    def __init__(self, execution_arn: str) -> None:
        self.execution_arn = execution_arn
        self.outcome: _Outcome | None = None
        self.wake: Wake | None = None
        self.future: asyncio.Future[None] | None = None
        self.ctx: ExecutorContext | None = None  # while a Task awaits (not parked)

    def deliver(self, outcome: _Outcome) -> None:
        self.outcome = outcome
        wake, self.wake = self.wake, None
        if wake is not None:
            wake()
        if self.future is not None and not self.future.done():
            self.future.set_result(None)


class TaskTokens:
    """The tokens of Tasks that wait for a callback, and their answers.

    Attributes:
        awaiting: how many Tasks await their token now without being parked
            (parked ones are counted by the engine's ``Execution.parked``).
    """

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}
        self._finished: OrderedDict[str, bool] = OrderedDict()  # token → timed out
        self.awaiting = 0

    def __len__(self) -> int:
        return len(self._pending)

    def issue(self, execution_arn: str, token: str | None = None) -> str:
        """Register ``token`` (a new one when None) for a Task of ``execution_arn``."""
        token = token or new_token()
        if token not in self._pending:
            self._pending[token] = _Pending(execution_arn)
        return token

    def execution_of(self, token: str) -> str | None:
        """The ARN of the execution whose Task waits for ``token``, if any."""
        p = self._pending.get(token)
        return p.execution_arn if p is not None else None

    # -- answers (SendTask*) ---------------------------------------------------
    def _lookup(self, token: str) -> _Pending:
        if not is_token(token):
            raise InvalidToken("Invalid token")
        p = self._pending.get(token)
        if p is None or p.outcome is not None:
            if self._finished.get(token):
                raise TaskTimedOut("Task Timed Out")
            raise TaskDoesNotExist("Task does not exist anymore")
        return p

    def succeed(self, token: str, output: JSON) -> None:
        """SendTaskSuccess: the Task succeeds with ``output``."""
        self._lookup(token).deliver(_Outcome(output=output))

    def fail(self, token: str, error: str | None, cause: str | None) -> None:
        """SendTaskFailure: the Task fails with ``error`` and ``cause``."""
        self._lookup(token).deliver(_Outcome(error=StatesError(error or "", cause)))

    def heartbeat(self, token: str) -> None:
        """SendTaskHeartbeat: the Task's HeartbeatSeconds timer starts again."""
        p = self._lookup(token)
        if p.ctx is not None:
            p.ctx.heartbeat()

    # -- the waiting side ------------------------------------------------------
    def _finish(self, token: str, *, timed_out: bool) -> None:
        self._pending.pop(token, None)
        self._finished[token] = timed_out
        self._finished.move_to_end(token)
        while len(self._finished) > FINISHED_REMEMBERED:
            self._finished.popitem(last=False)

    async def wait(self, token: str, ctx: ExecutorContext) -> JSON:
        """Wait until ``token`` is answered; return the output or raise the failure.

        Parks when ``ctx.park`` is offered (the engine runs the Task again
        once an answer arrives, and this returns it); otherwise awaits here,
        where a timeout or stop cancels the wait.
        """
        p = self._pending.get(token)
        if p is None:
            p = self._pending[token] = _Pending(ctx.execution_arn)
        if p.outcome is None:
            if ctx.park is not None:
                ctx.park(self._listener(p))
            await self._await(token, p, ctx)
        outcome = p.outcome
        assert outcome is not None
        self._finish(token, timed_out=False)
        if outcome.error is not None:
            raise outcome.error
        return outcome.output

    def _listener(self, p: _Pending) -> Callable[[Wake], None]:
        def listen(wake: Wake) -> None:
            if p.outcome is not None:
                wake()
            else:
                p.wake = wake

        return listen

    async def _await(self, token: str, p: _Pending, ctx: ExecutorContext) -> None:
        p.future = asyncio.get_running_loop().create_future()
        p.ctx = ctx
        self.awaiting += 1
        try:
            await p.future
        except BaseException:
            # Cancelled: a timeout (the deadline or the heartbeat ran out) or a stop. The engine's
            # scope says which: a resumed Task's window counts from its last stored beat.
            if p.outcome is None:
                self._finish(token, timed_out=ctx.expired())
            raise
        finally:
            p.future = None
            p.ctx = None
            self.awaiting -= 1


async def run_with_token(
    executor: Executor, call: ExecutorCall, ctx: ExecutorContext, tokens: TaskTokens
) -> JSON:
    """Run a ``.waitForTaskToken`` Task: hand the token over once, then wait for its answer."""
    token = ctx.task_token
    if token is None:
        raise StatesError("States.Runtime", "a .waitForTaskToken Task ran without a task token")
    handle = ctx.handle
    if not (isinstance(handle, dict) and handle.get(_HANDLE_KEY) == token):
        # Registered before the call: a fast worker may answer before the call returns.
        tokens.issue(ctx.execution_arn, token)
        submitted = await executor.run(call, ctx)
        ctx.save_handle({_HANDLE_KEY: token})
        ctx.emit("TaskSubmitted", {"output": submitted})
    return await tokens.wait(token, ctx)


__all__ = [
    "InvalidToken",
    "TaskDoesNotExist",
    "TaskTimedOut",
    "TaskTokens",
    "TokenError",
    "is_token",
    "new_token",
    "run_with_token",
]
