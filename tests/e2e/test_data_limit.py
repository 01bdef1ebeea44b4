"""The 256 KiB size guard on runJob.sync results (spec §6, §8): huge logs, and LogParameters that trim them.

The huge log must come from a small Job: a 300,000-character
``sim.statewright.io/log`` annotation would put the log into the Job manifest
itself, so the task's parameters (and the Job that runJob.sync returns) would
exceed the limit whatever ``LogParameters`` say. These tests therefore use the
process runtime, where a one-line command prints 300,000 characters; the
last test shows what happens to the oversized manifest.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import pytest

from sim.stack import Simulators
from tests.e2e.support import (
    cluster_parameters,
    condition_true,
    e2e_engine,
    model_job,
    only_log,
    run,
    single_task,
)

RUN_JOB_SYNC = "arn:aws:states:::eks:runJob.sync"
LINE = "x" * 99 + "\n"
LINES = 3000  # 300,000 characters


@pytest.fixture
def simulators_options() -> dict[str, Any]:
    return {"runtime": "process"}


def printing_job(name: str) -> dict[str, Any]:
    """A Job whose container prints 3,000 lines of 100 characters (300,000 bytes)."""
    program = f"import sys; sys.stdout.write({LINE!r} * {LINES})"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "main", "image": "python", "command": [sys.executable, "-c", program]}
                    ],
                }
            },
        },
    }


def run_job(
    simulators: Simulators, job: dict[str, Any], log_options: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """A one-state runJob.sync machine on the demo cluster (extra Task fields in ``fields``)."""
    return single_task(
        RUN_JOB_SYNC, {**cluster_parameters(simulators), "Job": job, "LogOptions": log_options}, **fields
    )


async def test_a_huge_log_fails_with_data_limit_exceeded_which_states_all_does_not_catch(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    machine = run_job(
        simulators,
        printing_job("huge-log"),
        {"RetrieveLogs": True, "RawLogs": True},
        Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
        Next="Caught",
    )
    machine["States"]["Caught"] = {"Type": "Pass", "End": True}
    result = await run(machine, {})

    assert result.status == "FAILED"
    assert result.error == "States.DataLimitExceeded", (result.error, result.cause)
    entered = [e.details["name"] for e in result.history if e.type.endswith("StateEntered") and e.details]
    assert entered == ["Task"], "States.ALL must not catch States.DataLimitExceeded"


async def test_the_same_job_succeeds_when_limit_bytes_or_tail_lines_trim_the_log(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    raw = {"RetrieveLogs": True, "RawLogs": True}
    async with e2e_engine() as engine:
        limited = engine.start(
            run_job(simulators, printing_job("limited"), {**raw, "LogParameters": {"limitBytes": ["1000"]}}),
            {},
        )
        tailed = engine.start(
            run_job(simulators, printing_job("tailed"), {**raw, "LogParameters": {"tailLines": ["5"]}}),
            {},
        )
        by_bytes, by_lines = await limited.wait(), await tailed.wait()

    for result in (by_bytes, by_lines):
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        assert isinstance(result.output, dict)
        assert condition_true(result.output, "Complete")
    assert isinstance(by_bytes.output, dict)
    assert only_log(by_bytes.output) == (LINE * 11)[:1000]
    assert isinstance(by_lines.output, dict)
    assert only_log(by_lines.output) == LINE * 5


async def test_a_job_manifest_over_the_limit_fails_before_anything_is_created(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    oversized = model_job("oversized", log=LINE * LINES)
    machine = run_job(
        simulators, oversized, {"RetrieveLogs": True, "LogParameters": {"limitBytes": ["1000"]}}
    )
    result = await run(machine, {})
    assert result.status == "FAILED"
    assert result.error == "States.DataLimitExceeded"
    assert "TaskScheduled" not in result.history.types

    lookup = single_task(
        "arn:aws:states:::eks:call",
        {
            **cluster_parameters(simulators),
            "Method": "GET",
            "Path": "/apis/batch/v1/namespaces/default/jobs/oversized",
        },
    )
    missing = await run(lookup, {})
    assert missing.error == "EKS.404"
