"""Hundreds of runJob.sync executions on one shared watch, through injected faults.

Invariant: with 5% of requests answered 429 or 5xx and watch streams cut
every second, every execution whose Job was created ends with that Job's
real outcome; none is lost, none fails because of a fault while waiting.
A create refused by a fault is tried again, as a Retry on the state would.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from engine.errors import StatesError
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from engine.jsonvalue import JSON
from executors.eks.jobs import job_outcome
from executors.eks.run_job import run_job
from executors.eks.services import EksServices
from sim.faults import FaultConfig
from tests.executors.eks.test_watch import manifest
from tests.support.eks import CountingKube

EXECUTIONS = 200
FAULTS = FaultConfig(
    seed=11,
    throttle_rate=0.02,
    error_rate=0.015,
    unavailable_rate=0.015,
    retry_after_seconds=1,
    watch_cut_seconds=1.0,
)


@pytest.fixture
async def faulty_kube() -> AsyncIterator[CountingKube]:
    async with CountingKube(static_tokens={"tok": "admin"}) as simulator:
        yield simulator


def context(handles: list[JSON], options: dict[str, object]) -> ExecutorContext:
    return ExecutorContext(
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:sm:run",
        execution_name="run",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:sm",
        state_name="Run job",
        options=options,
        save_handle=handles.append,
    )


async def run_all(kube: CountingKube, services: EksServices, options: dict[str, object]) -> dict[str, Any]:
    rng = random.Random(5)
    plans = [(f"job-{i}", round(rng.uniform(0.2, 2.5), 2), 1 if rng.random() < 0.1 else 0) for i in range(EXECUTIONS)]
    outcomes: dict[str, str | None] = {}
    lost: list[tuple[str, str]] = []
    parameters = {"ClusterName": "demo", "CertificateAuthority": kube.ca_b64, "Endpoint": kube.url}

    async def one(name: str, seconds: float, exit_code: int) -> None:
        call = ExecutorCall(
            resource="arn:aws:states:::eks:runJob.sync",
            service="eks",
            action="runJob",
            pattern=IntegrationPattern.SYNC,
            parameters={**parameters, "Job": manifest(name, seconds=seconds, exit_code=exit_code)},
        )
        handles: list[JSON] = []
        while True:
            try:
                result = await run_job(call, context(handles, options), services)
            except StatesError as exc:
                if exc.error == "States.TaskFailed" and handles and exc.cause and exc.cause.startswith("{"):
                    outcomes[name] = "Failed"
                    return
                if not handles:
                    continue  # the create was refused by a fault: try it again
                lost.append((name, f"{exc.error}: {exc.cause}"))
                return
            outcomes[name] = job_outcome(result)
            return

    kube.set_faults(FAULTS)
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for plan in plans:
                tg.start_soon(one, *plan)
    kube.set_faults(None)
    expected = {name: ("Failed" if code else "Complete") for name, _, code in plans}
    return {"outcomes": outcomes, "expected": expected, "lost": lost}


async def test_every_watched_execution_completes_through_throttling_server_errors_and_cut_watches(
    faulty_kube: CountingKube, services: EksServices
) -> None:
    run = await run_all(faulty_kube, services, {})
    assert run["lost"] == []
    assert run["outcomes"] == run["expected"]
    # Cut every second for a few seconds: a handful of watch requests, listed again only when compacted.
    assert 2 <= len(faulty_kube.watches()) <= 40
    assert len(faulty_kube.lists()) <= 3
    assert len(faulty_kube.gets()) <= 2 * EXECUTIONS


async def test_every_batched_execution_completes_through_throttling_and_server_errors(
    faulty_kube: CountingKube, services: EksServices
) -> None:
    run = await run_all(faulty_kube, services, {"poll_policy": "batched:0.2"})
    assert run["lost"] == []
    assert run["outcomes"] == run["expected"]
    assert len(faulty_kube.gets()) <= EXECUTIONS // 10
