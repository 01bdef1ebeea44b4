"""Keeping the process runtime's containers away from the server process's credentials.

With ``statewright run --sim --runtime process`` the Kubernetes simulator runs
inside the engine's process, whose environment holds the user's AWS
credentials. A container is a child process, and Linux shows every process
its parent's initial environment in ``/proc/<pid>/environ`` (to the same user;
to root, everyone's). Two measures, together:

* **a launcher**: a container is started through ``/bin/sh`` with the
  container's own environment (``PATH``, ``HOSTNAME``, the pod's ``env``) and
  nothing else; the shell runs the command as its child and waits, so a
  container's ``$PPID`` is a process whose environment, command line and memory
  hold no secret of the server's;
* **a scrubbed block**: the first time a container starts, the server process
  overwrites its own initial environment block (what ``/proc/self/environ``
  shows: the strings the kernel placed at ``exec``, between ``env_start`` and
  ``env_end`` of ``/proc/self/stat``) with zeros, after copying every variable
  into the C library's environment (``os.putenv``, heap copies that no
  ``/proc`` file exposes), so ``os.environ`` and ``getenv`` keep working and a
  process further up the tree shows nothing either. Linux only; elsewhere the
  launcher alone applies.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from typing import Final

log = logging.getLogger(__name__)

SHELL: Final = "/bin/sh"
LAUNCH_SCRIPT: Final = '"$@"; exit $?'
"""Run the command as the shell's child (``; exit $?`` stops shells that ``exec`` a last command)."""
_STAT_ENV_START: Final = 50
"""1-based fields of ``/proc/self/stat``: env_start and env_end (proc(5))."""

_scrubbed = False


def launch_argv(argv: list[str]) -> list[str]:
    """The command line that starts ``argv`` under the launcher shell."""
    return [SHELL, "-c", LAUNCH_SCRIPT, "container", *argv]


def _environment_block() -> tuple[int, int] | None:
    try:
        with open("/proc/self/stat", "rb") as handle:
            stat = handle.read().decode("ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    index = _STAT_ENV_START - 3  # fields after ")" start at field 3
    if len(fields) <= index + 1:
        return None
    start, end = int(fields[index]), int(fields[index + 1])
    return (start, end) if 0 < start < end else None


def scrub_initial_environment() -> bool:
    """Zero this process's initial environment block, keeping the environment usable; True once done."""
    global _scrubbed
    if _scrubbed:
        return True
    if not sys.platform.startswith("linux"):
        return False
    block = _environment_block()
    if block is None:
        return False
    for key, value in os.environ.items():
        os.putenv(key, value)  # heap copies for getenv(): the block's strings are about to go
    start, end = block
    ctypes.memset(start, 0, end - start)
    _scrubbed = True
    log.debug("the initial environment block of this process was cleared (%d bytes)", end - start)
    return True


__all__ = ["launch_argv", "scrub_initial_environment"]
