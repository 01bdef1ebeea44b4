"""A runJob.sync waiting on a shared watch or lister stays visible on stderr while it waits.

The shared feeds report for every waiter whose progress is followed: a line
when the Job's pod counts change, and, every ``feeds.REPORT_SECONDS``, the
last status again, so a wait of hours is not one line at its start. Both
intervals are shortened here (the feed's and ``Progress``'s repeat) so a
three-second Job shows the periodic lines.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

import pytest

from engine.runtime.clock import SystemClock
from executors.eks import feeds
from sim.stack import Simulators
from statewright import progress as progress_module
from statewright.progress import Progress
from tests.e2e.support import cluster_parameters, e2e_engine, model_job

POLICIES = {"Watched": "watch:0.5", "Listed": "batched:0.5"}


@pytest.mark.parametrize("state", sorted(POLICIES))
async def test_a_shared_wait_reports_status_changes_and_repeats_its_status_while_it_waits(
    simulators: Simulators, sim_env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    monkeypatch.setattr(feeds, "REPORT_SECONDS", 0.5)
    monkeypatch.setattr(progress_module, "REPEAT_SECONDS", 0.25)
    job = model_job(f"followed-{state.lower()}", seconds="3")
    definition = {
        "StartAt": state,
        "States": {
            state: {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:runJob.sync",
                "Parameters": {**cluster_parameters(simulators), "Job": job},
                "ResultSelector": {"succeeded.$": "$.status.succeeded"},
                "End": True,
            }
        },
    }
    clock = SystemClock()
    stream = io.StringIO()
    shown = Progress(stream, clock=clock.monotonic)
    async with e2e_engine(
        clock=clock,
        on_event=shown,
        on_progress=shown.on_progress,
        state_options={state: {"poll_policy": POLICIES[state]}},
    ) as engine:
        result = await engine.run(definition, {})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == {"succeeded": 1}
    waits = [line.split("] ", 1)[1] for line in stream.getvalue().splitlines() if "waiting for Job" in line]
    subject = f"   {state}: waiting for Job default/followed-{state.lower()}: "
    assert all(line.startswith(subject) for line in waits), waits
    assert all(f"poll policy {POLICIES[state]}, one shared" in line for line in waits), waits
    statuses = [line[len(subject) :].split(" (", 1)[0] for line in waits]
    # The start, then the pods the feed saw (the pod becomes active), then the same again while it runs.
    assert statuses[0] == "running", statuses
    running = [status for status in statuses if re.fullmatch(r"active 1, succeeded 0, failed 0", status)]
    assert len(running) >= 3, statuses
