"""Kill-at-every-step: a worker process SIGKILLed at each transition still gives the uncrashed result.

A chain of real ``statewright worker`` processes runs one execution from a
SQLite store; each worker commits one group of changes and is SIGKILLed just
before its next commit (``tests.e2e.crash_worker``), so the execution is
interrupted at every transition in turn, each time with the next step's work
done in memory and lost. The last worker finishes it. The result, the
history's event types and (for ``eks:runJob.sync`` on the simulators) the
number of Jobs created must equal those of an uncrashed run.

The workers are forked from one process that imported the command line once
(``crash_worker --fork-server``): each is still a process of its own, killed
with SIGKILL, but does not pay an interpreter start-up (about a second each,
and up to 3 s on a loaded machine: what a chain of a dozen workers took most of
its time for). What is under test is the worker's recovery, not its start-up.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import anyio
import pytest

from engine import Engine
from engine.jsonvalue import dumps_str
from engine.store import open_store
from sim.stack import Simulators
from tests.e2e.crash_worker import ForkServer, fork_server
from tests.e2e.support import REPO, base_environment, cluster_parameters, model_job

pytestmark = pytest.mark.slow

MAX_WORKERS: Final = 40
WORKER_SECONDS: Final = 30.0

PLAIN: Final = {
    "StartAt": "Start",
    "States": {
        "Start": {"Type": "Pass", "Parameters": {"n.$": "$.n", "items": [1, 2]}, "Next": "Pick"},
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Pause"}],
            "Default": "Never",
        },
        "Never": {"Type": "Fail", "Error": "Wrong"},
        "Pause": {"Type": "Wait", "Seconds": 1, "Assign": {"kept.$": "$.n"}, "Next": "Each"},
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Double",
                "States": {
                    "Double": {
                        "Type": "Pass",
                        "Parameters": {"v.$": "$"},
                        "Assign": {"mine.$": "$.v"},
                        "Next": "Nap",
                    },
                    "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Use"},
                    # A variable assigned inside the iteration, read after a crash in its Wait.
                    "Use": {"Type": "Pass", "Parameters": {"v.$": "$.v", "mine.$": "$mine"}, "End": True},
                },
            },
            "ResultPath": "$.mapped",
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "L", "States": {"L": {"Type": "Pass", "Result": "left", "End": True}}},
                {
                    "StartAt": "R",
                    "States": {
                        "R": {"Type": "Wait", "Seconds": 1, "Assign": {"side": "right"}, "Next": "R2"},
                        "R2": {"Type": "Pass", "Parameters": {"side.$": "$side"}, "End": True},
                    },
                },
            ],
            "ResultPath": "$.both",
            "Next": "End",
        },
        "End": {"Type": "Pass", "Parameters": {"n.$": "$.n", "mapped.$": "$.mapped", "both.$": "$.both", "kept.$": "$kept"}, "End": True},
    },
}


def _jobs_machine(simulators: Simulators) -> dict[str, Any]:
    params = cluster_parameters(simulators)
    named = model_job("durable-named", seconds="0.3")
    generated = model_job("unused", seconds="0.3")
    generated["metadata"] = {"generateName": "durable-gen-"}
    selector = {"succeeded.$": "$.status.succeeded"}
    return {
        "StartAt": "Prep",
        "States": {
            "Prep": {"Type": "Pass", "Result": "ready", "ResultPath": "$.prep", "Next": "Named"},
            "Named": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:runJob.sync",
                "Parameters": {**params, "Namespace": "default", "Job": named},
                "ResultSelector": selector,
                "ResultPath": "$.named",
                "Next": "Generated",
            },
            "Generated": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:runJob.sync",
                "Parameters": {**params, "Namespace": "default", "Job": generated},
                "ResultSelector": selector,
                "ResultPath": "$.generated",
                "End": True,
            },
        },
    }


async def _create(url: str, definition: Mapping[str, Any], name: str, value: Any) -> str:
    machine, record = Engine().prepare(dict(definition), value, name=name, state_machine_name="crash")
    store = open_store(url)
    await store.open()
    try:
        await store.create_execution(record, dumps_str(machine.raw))
    finally:
        await store.close()
    return record.execution_arn


async def _status(url: str, arn: str) -> str:
    store = open_store(url)
    await store.open()
    try:
        found = await store.get_execution(arn)
        assert found is not None
        return found.status
    finally:
        await store.close()


async def _worker(server: ForkServer, folder: Path, url: str, arn: str, kill_before: int | None) -> int:
    """Run one worker until it dies or the execution ends (then SIGTERM it); its exit status."""
    log = folder / "workers.log"
    worker = await server.start(["worker", "--store", url, "-q"], log, kill_before=kill_before)
    with anyio.fail_after(WORKER_SECONDS):
        while (code := await worker.poll(0.05)) is None:
            if await _status(url, arn) != "RUNNING":
                worker.send_signal(signal.SIGTERM)
                return await worker.wait()
    return code


async def _crash_at_every_step(server: ForkServer, folder: Path, url: str, arn: str) -> int:
    kills = 0
    for _ in range(MAX_WORKERS):
        code = await _worker(server, folder, url, arn, kill_before=2)
        if await _status(url, arn) != "RUNNING":
            assert code in (0, -signal.SIGKILL)
            return kills
        assert code == -signal.SIGKILL, f"the worker exited with {code}, not killed"
        kills += 1
    raise AssertionError(f"not finished after {MAX_WORKERS} workers")


async def _result(url: str, arn: str) -> tuple[str, Any, list[str], list[int]]:
    store = open_store(url)
    await store.open()
    try:
        found = await store.load(arn)
        assert found is not None
        record = found.record
        return record.status, record.output, record.history.types, [e.id for e in record.history]
    finally:
        await store.close()


async def test_a_worker_killed_at_every_transition_gives_the_uncrashed_result(tmp_path: Path) -> None:
    env = base_environment(tmp_path)
    plain = f"sqlite:///{tmp_path / 'plain.db'}"
    crashed = f"sqlite:///{tmp_path / 'crashed.db'}"
    arn = await _create(plain, PLAIN, "e", {"n": 3})
    async with fork_server(env, REPO) as server:
        assert await _worker(server, tmp_path, plain, arn, kill_before=None) == 0
        expected = await _result(plain, arn)
        assert expected[0] == "SUCCEEDED"
        assert expected[1] == {
            "n": 3,
            "mapped": [{"v": 1, "mine": 1}, {"v": 2, "mine": 2}],
            "both": ["left", {"side": "right"}],
            "kept": 3,
        }

        await _create(crashed, PLAIN, "e", {"n": 3})
        kills = await _crash_at_every_step(server, tmp_path, crashed, arn)
    got = await _result(crashed, arn)
    assert kills >= 5  # one per commit of the uncrashed run but the last
    assert got[:3] == expected[:3]
    assert got[3] == list(range(1, len(got[3]) + 1))  # ids 1..n: nothing recorded twice, nothing lost


async def test_runjob_sync_killed_at_every_transition_creates_each_job_once(
    simulators: Simulators, tmp_path: Path
) -> None:
    created: list[str] = []

    def on_event(event: Any) -> None:
        if event.table.info.resource == "jobs" and event.type == "ADDED":
            created.append(event.entry.obj["metadata"]["name"])

    simulators.cluster("demo").store.subscribe(on_event)
    env = base_environment(tmp_path)
    env.update(simulators.env())
    machine = _jobs_machine(simulators)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    arn = await _create(url, machine, "jobs", {})
    async with fork_server(env, REPO) as server:
        kills = await _crash_at_every_step(server, tmp_path, url, arn)
    status, output, types, ids = await _result(url, arn)
    assert (status, output) == (
        "SUCCEEDED",
        {"prep": "ready", "named": {"succeeded": 1}, "generated": {"succeeded": 1}},
    )
    assert kills >= 3
    # One Job per Task state however often the worker died: no second create, no EKS.409.
    assert len(created) == 2, created
    assert created[0] == "durable-named" and created[1].startswith("durable-gen-")
    assert types.count("TaskSubmitted") == 2 and types.count("TaskScheduled") == 2
    assert "TaskFailed" not in types
    assert ids == list(range(1, len(ids) + 1))
