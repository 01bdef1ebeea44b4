"""Logging a task that died: the one crash logger behind every long-lived task.

A task started with ``create_task`` whose exception nobody retrieves is
reported by asyncio only when it is garbage-collected, if ever. Attach
``log_crash`` as its done-callback and the failure is logged at once, with
the task's name and traceback; a task that was cancelled or returned is not
a crash and logs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


def log_crash(task: asyncio.Task[Any], logger: logging.Logger | None = None) -> None:
    """Log ``task``'s exception, if it died of one (use as ``task.add_done_callback(log_crash)``).

    Args:
        task: a finished task.
        logger: where the crash goes (default: this module's logger).
    """
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        (logger or log).error("%s crashed", task.get_name(), exc_info=exc)
