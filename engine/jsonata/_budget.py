"""How long JSONata may hold the thread: each evaluation, and all of one turn of the loop together.

Evaluation is synchronous, so while an expression runs the event loop serves
nothing else. Two bounds keep the loop answering:

- One evaluation may run :data:`EVALUATION_TIME_LIMIT_MS`. The library's time
  box checks it at every node it evaluates; a regular expression gets what is
  left of it as the regex module's ``timeout`` (see ``_regex``).
- The evaluations run between two turns of the loop share
  :data:`TURN_BUDGET_MS`. Once that is spent, each further evaluation of the
  same turn gets :data:`SPENT_TURN_SLICE_MS`. K executions whose expressions run
  away at the same moment so cost the loop about ``TURN_BUDGET_MS + (K - 1) *
  SPENT_TURN_SLICE_MS``, not ``K * EVALUATION_TIME_LIMIT_MS``; an ordinary
  expression, which takes well under a millisecond, never notices.

A turn ends when a callback that the turn's first evaluation scheduled with
``call_soon`` runs: asyncio runs such a callback on its next pass over the
ready queue, after it has polled for I/O and collected the timers that are
due, so by then the loop has had its chance to serve the others. Without a
running loop (a script evaluating directly) each evaluation stands alone.

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
"""What all evaluations between two turns of the loop may spend together before each is cut short."""
SPENT_TURN_SLICE_MS: Final = 20
"""What an evaluation gets once its turn's budget is spent: ample for an ordinary expression,
little enough that many runaway ones in one turn still let the loop come round soon."""


class _Account(threading.local):
    def __init__(self) -> None:
        # The loop whose turn is being accounted (its reset is scheduled), or None.
        self.loop: asyncio.AbstractEventLoop | None = None
        self.spent = 0.0
        self.limit_ms = EVALUATION_TIME_LIMIT_MS
        self.deadline = math.inf


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
    if loop is None:
        limit_ms = EVALUATION_TIME_LIMIT_MS
    elif account.loop is not loop:
        # The turn's first evaluation (or the first on a new loop: a closed one never reset).
        account.loop = loop
        account.spent = 0.0
        loop.call_soon(_new_turn)
        limit_ms = EVALUATION_TIME_LIMIT_MS
    else:
        left_ms = int(TURN_BUDGET_MS - account.spent * 1000)
        limit_ms = max(SPENT_TURN_SLICE_MS, min(EVALUATION_TIME_LIMIT_MS, left_ms))
    account.limit_ms = limit_ms
    account.deadline = started + limit_ms / 1000
    return limit_ms, started


def end(started: float) -> None:
    """Close the account :func:`begin` opened at ``started``; the time counts against the turn."""
    account = _ACCOUNT
    account.spent += time.perf_counter() - started
    account.deadline = math.inf


def seconds_left() -> float | None:
    """What is left to the running evaluation, in seconds (at least 0); ``None`` outside one."""
    deadline = _ACCOUNT.deadline
    if deadline == math.inf:
        return None
    return max(0.0, deadline - time.perf_counter())


def current_limit_ms() -> int:
    """The time limit the running (or last) evaluation was given."""
    return _ACCOUNT.limit_ms
