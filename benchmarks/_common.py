"""Shared helpers for benchmarks: machine description and JSON-line output."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from typing import Any

import orjson


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False, timeout=5
        ).stdout.strip()
    except OSError:
        rev = ""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "git_revision": rev,
    }


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of a sample."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": statistics.median(ordered), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1]}


def emit(record: dict[str, Any]) -> None:
    """Print one JSON line on stdout."""
    sys.stdout.write(orjson.dumps({**record, **machine()}).decode() + "\n")
    sys.stdout.flush()
