"""How long JSONata may hold the thread: each evaluation, and all of one turn of the loop together.

Evaluation is synchronous, so while an expression runs the event loop serves
nothing else. Two bounds keep the loop answering:

- One evaluation may run :data:`EVALUATION_TIME_LIMIT_MS`. The library's time
  box checks it at every node it evaluates; a regular expression gets what is
  left of it as the regex module's ``timeout`` (see ``_regex``).
- The evaluations run between two turns of the loop are added up. Once they
  have spent :data:`TURN_BUDGET_MS`, the loop gets as long again to itself:
  :func:`evaluation_pause` says how long JSONata states should wait before they
  evaluate more, and the interpreter sleeps that long first. K executions whose
  expressions run away at the same moment so hold the loop at most half the
  time, one evaluation's limit at a stretch, whatever K; and every expression
  still gets its whole limit (one that is slow but sound never fails because
  others were busy).

A turn ends when a callback that the turn's first evaluation scheduled with
``call_soon`` runs: asyncio runs such a callback on its next pass over the
ready queue, after it has polled for I/O and collected the timers that are
due, so by then the loop has had its chance to serve the others. Without a
running loop (a script evaluating directly) each evaluation stands alone: it
counts against no turn and makes no loop pause. A pause belongs to the loop
whose turn spent the budget; another loop on the thread (the next
``asyncio.run``) does not wait it out, having been held by nothing.

The account is per thread, as a running loop is.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Final

EVALUATION_TIME_LIMIT_MS: Final = 500
"""How long one JSONata evaluation may run. Payloads are at most 256 KiB, so real expressions
take milliseconds; the bound keeps the loop answering (a one-second Wait elsewhere ends on time)."""
EVALUATION_MAX_DEPTH: Final = 1000
"""How deeply one evaluation may nest (a self-recursive function stops here, not at a RecursionError)."""
TURN_BUDGET_MS: Final = EVALUATION_TIME_LIMIT_MS
"""What the evaluations between two turns of the loop may spend together before JSONata states pause."""


class _Account(threading.local):
    def __init__(self) -> None:
        # The loop whose turn is being accounted (its reset is scheduled), or None.
        self.loop: asyncio.AbstractEventLoop | None = None
        self.spent = 0.0
        self.limit_ms = EVALUATION_TIME_LIMIT_MS
        self.deadline = math.inf
        # The loop the running evaluation holds (None: none is running, or it runs without a loop).
        self.holding: asyncio.AbstractEventLoop | None = None
        # perf_counter time before which JSONata states of ``paused`` should not evaluate.
        self.resume_at = 0.0
        self.paused: asyncio.AbstractEventLoop | None = None


_ACCOUNT: Final = _Account()


def _new_turn() -> None:
    _ACCOUNT.loop = None
    _ACCOUNT.spent = 0.0


def begin() -> tuple[int, float]:
    """Open one evaluation's account: its time limit in milliseconds and its start.

    Pass the start to :func:`end` when the evaluation is over, whatever its outcome.
    """
    account = _ACCOUNT
    started = time.perf_counter()
    loop = asyncio._get_running_loop()
    account.holding = loop
    if loop is None:
        limit_ms = EVALUATION_TIME_LIMIT_MS
    else:
        if account.loop is not loop:
            # The turn's first evaluation (or the first on a new loop: a closed one never reset).
            account.loop = loop
            account.spent = 0.0
            loop.call_soon(_new_turn)
        limit_ms = EVALUATION_TIME_LIMIT_MS
    account.limit_ms = limit_ms
    account.deadline = started + limit_ms / 1000
    return limit_ms, started


def end(started: float) -> None:
    """Close the account :func:`begin` opened at ``started``; the time counts against the turn."""
    account = _ACCOUNT
    now = time.perf_counter()
    account.deadline = math.inf
    loop, account.holding = account.holding, None
    if loop is None:
        # No loop was held: loop-less evaluations used to add up here, into a pause that the
        # next loop on the thread then waited out (3 s of them: a 3 s wait before its first state).
        return
    account.spent += now - started
    if account.spent * 1000 >= TURN_BUDGET_MS:
        # The turn spent its budget: leave the loop as long again to the others.
        earlier = account.resume_at if account.paused is loop else 0.0
        account.resume_at = max(earlier, now + account.spent)
        account.paused = loop


def evaluation_pause() -> float:
    """Seconds JSONata states should wait before evaluating more (0.0: go on now)."""
    if _ACCOUNT.paused is not asyncio._get_running_loop():
        return 0.0
    left = _ACCOUNT.resume_at - time.perf_counter()
    return left if left > 0 else 0.0


def seconds_left() -> float | None:
    """What is left to the running evaluation, in seconds (at least 0); ``None`` outside one."""
    deadline = _ACCOUNT.deadline
    if deadline == math.inf:
        return None
    return max(0.0, deadline - time.perf_counter())


def current_limit_ms() -> int:
    """The time limit the running (or last) evaluation was given."""
    return _ACCOUNT.limit_ms
