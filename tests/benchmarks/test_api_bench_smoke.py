"""benchmarks/api.py runs end to end (tiny numbers) and prints its JSON lines."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_api_benchmark_prints_rates_and_latencies() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.api",
            "--requests",
            "20",
            "--concurrency",
            "4",
            "--sync",
            "5",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    by_name = {line["name"]: line for line in lines}
    assert by_name["api_start_execution"]["rate"] > 0
    assert by_name["api_describe_execution"]["n"] == 20
    assert by_name["api_start_sync_execution"]["p50"] > 0
    assert "median_rate" in by_name["api_start_execution_median"]
