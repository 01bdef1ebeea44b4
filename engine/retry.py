"""Error matching and retry delays: pure functions.

Matching is by name, exactly as AWS does: ``States.ALL`` matches any error
except the terminal ones (``States.DataLimitExceeded``, ``States.Runtime``),
``States.TaskFailed`` matches any error a task raises except ``States.Timeout``
and the terminal ones; any other name matches itself.
"""

from __future__ import annotations

import random
from typing import Final

from engine.definition.model import Retrier

TERMINAL_ERRORS: Final = frozenset({"States.DataLimitExceeded", "States.Runtime"})
_NOT_TASK_FAILED: Final = frozenset({"States.Timeout", "States.HeartbeatTimeout"}) | TERMINAL_ERRORS


def error_matches(patterns: tuple[str, ...], error: str) -> bool:
    """Whether an ``ErrorEquals`` list matches ``error``."""
    for p in patterns:
        if p == error:
            return True
        if p == "States.ALL" and error not in TERMINAL_ERRORS:
            return True
        if p == "States.TaskFailed" and error not in _NOT_TASK_FAILED and not error.startswith("States."):
            return True
    return False


def retry_delay(retrier: Retrier, attempt: int, rng: random.Random) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) of ``retrier``.

    ``IntervalSeconds * BackoffRate ** attempt``, capped by ``MaxDelaySeconds``;
    with ``JitterStrategy: FULL`` a uniform draw between 0 and that delay.
    """
    delay = retrier.interval_seconds * (retrier.backoff_rate**attempt)
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter_full:
        delay = rng.uniform(0.0, delay)
    return delay
