"""Map Runs through the API: DescribeMapRun, ListMapRuns, UpdateMapRun and ListExecutions(mapRunArn).

A Distributed Map's children here are activity Tasks, so the test decides
when each child ends (GetActivityTask, SendTask*) and sees the run while it
runs. Real ``statewright serve`` processes on a SQLite store answer boto3 and
the AWS CLI, before and after restarts; an update of a running run reaches
the running Map (more children run at once; a lowered failure threshold
fails the run), and survives a restart.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.statewright.api.conftest import ROLE, client
from tests.statewright.api.support import ServeProcess, error_code, finished

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
MAP_RUN_ARN = re.compile(r"arn:aws:states:us-east-1:\d{12}:mapRun:fanout/items:[0-9a-f-]{36}")
WAIT_SECONDS = 20


def _machine(activity: str, **map_fields: Any) -> str:
    return json.dumps(
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "Label": "items",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "Work",
                        "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}},
                    },
                    "End": True,
                    **map_fields,
                }
            },
        }
    )


def _eventually(fn: Any, ok: Any) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = fn()
        if ok(value):
            return value
        assert time.monotonic() < deadline, value
        time.sleep(0.02)


def _one_run(sfn: Any, execution: str) -> str:
    runs = _eventually(lambda: sfn.list_map_runs(executionArn=execution)["mapRuns"], lambda r: len(r) == 1)
    arn: str = runs[0]["mapRunArn"]
    return arn


def _running(sfn: Any, run: str, n: int) -> dict[str, Any]:
    out: dict[str, Any] = _eventually(
        lambda: sfn.describe_map_run(mapRunArn=run), lambda d: d["executionCounts"]["running"] == n
    )
    return out


def _cli(url: str, tmp_path: Path, *args: str) -> Any:
    assert AWS is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIDCLI",
        AWS_SECRET_ACCESS_KEY="cli-secret",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_PAGER="",
        AWS_MAX_ATTEMPTS="1",
    )
    proc = subprocess.run(
        [AWS, "stepfunctions", *args, "--endpoint-url", url, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


def _answer(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "ResponseMetadata"}


def _counts(d: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in d["executionCounts"].items() if v}


@pytest.mark.skipif(AWS is None, reason="the AWS CLI is installed with the dev extras")
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_map_run_is_described_listed_updated_and_kept_across_restarts(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = (
        f"sqlite:///{tmp_path / 'sfn.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    )
    first = ServeProcess("--store", store)
    try:
        sfn = client(first.url)
        activity = sfn.create_activity(name="work")["activityArn"]
        machine = sfn.create_state_machine(
            name="fanout", definition=_machine(activity, MaxConcurrency=1), roleArn=ROLE
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine, input="[1, 2, 3, 4]")["executionArn"]
        run = _one_run(sfn, execution)
        assert MAP_RUN_ARN.fullmatch(run), run
        started = next(
            e
            for e in sfn.get_execution_history(executionArn=execution)["events"]
            if e["type"] == "MapRunStarted"
        )
        assert started["mapRunStartedEventDetails"]["mapRunArn"] == run
        d = _running(sfn, run, 1)
        assert (d["status"], d["executionArn"], d["maxConcurrency"]) == ("RUNNING", execution, 1)
        assert _counts(d) == {"pending": 3, "running": 1, "total": 4}
        assert (d["itemCounts"]["total"], d["toleratedFailureCount"], d["toleratedFailurePercentage"]) == (
            4,
            0,
            0,
        )
        assert "stopDate" not in d

        # Applied to the running Map: three children run at once from now on.
        sfn.update_map_run(mapRunArn=run, maxConcurrency=3)
        d = _running(sfn, run, 3)
        assert d["maxConcurrency"] == 3 and _counts(d) == {"pending": 1, "running": 3, "total": 4}
        children = sfn.list_executions(mapRunArn=run)["executions"]
        assert len(children) == 3 and {c["status"] for c in children} == {"RUNNING"}
        assert {c["stateMachineArn"] for c in children} == {machine + "/items"}
        for c in children:
            assert (
                c["executionArn"] == f"{machine.replace(':stateMachine:', ':execution:')}/items:{c['name']}"
            )
            assert (c["mapRunArn"], c["itemCount"]) == (run, 1)
            # A child is an execution in its own right: DescribeExecution and its history answer.
            child = sfn.describe_execution(executionArn=c["executionArn"])
            assert (child["status"], child["mapRunArn"], child["stateMachineArn"]) == (
                "RUNNING",
                run,
                machine + "/items",
            )
            assert child["name"] == c["name"] and json.loads(child["input"]) in [1, 2, 3, 4]
            assert "stopDate" not in child and "output" not in child
            events = sfn.get_execution_history(executionArn=c["executionArn"])["events"]
            assert [e["type"] for e in events] == ["ExecutionStarted"]
            assert events[0]["executionStartedEventDetails"]["input"] == child["input"]
        before = sfn.describe_map_run(mapRunArn=run)
    finally:
        code, err = first.stop()
    assert code == 0 and "Traceback" not in err

    second = ServeProcess("--store", store)
    try:
        sfn = client(second.url)
        # Resumed with its execution: the same run, its start and the update it was given.
        d = _running(sfn, run, 3)
        assert (d["startDate"], d["maxConcurrency"], d["status"]) == (before["startDate"], 3, "RUNNING")
        assert [r["mapRunArn"] for r in sfn.list_map_runs(executionArn=execution)["mapRuns"]] == [run]
        answered = 0
        while answered < 4:
            task = sfn.get_activity_task(activityArn=activity, workerName="w")
            if task.get("taskToken"):
                sfn.send_task_success(taskToken=task["taskToken"], output=task["input"])
                answered += 1
        assert finished(sfn, execution)["status"] == "SUCCEEDED"
        done = sfn.describe_map_run(mapRunArn=run)
        assert done["status"] == "SUCCEEDED" and done["stopDate"] >= done["startDate"]
        assert _counts(done) == {"succeeded": 4, "total": 4}
        assert done["itemCounts"]["succeeded"] == 4
        children = sfn.list_executions(mapRunArn=run, maxResults=3)
        assert len(children["executions"]) == 3
        rest = sfn.list_executions(mapRunArn=run, nextToken=children["nextToken"])["executions"]
        assert {c["status"] for c in children["executions"] + rest} == {"SUCCEEDED"} and len(rest) == 1
        inputs = []
        for c in children["executions"] + rest:
            child = sfn.describe_execution(executionArn=c["executionArn"])
            assert (child["status"], child["mapRunArn"]) == ("SUCCEEDED", run)
            assert child["output"] == child["input"] and child["stopDate"] >= child["startDate"]
            inputs.append(json.loads(child["input"]))
        assert sorted(inputs) == [1, 2, 3, 4]  # taken up for the children that ran across the restart
        listed = sfn.list_map_runs(executionArn=execution)["mapRuns"]
        listed_children = children["executions"]
    finally:
        code, err = second.stop()
    assert code == 0 and "Traceback" not in err

    third = ServeProcess("--store", store)
    try:
        sfn = client(third.url)
        assert _answer(sfn.describe_map_run(mapRunArn=run)) == _answer(done)
        assert sfn.list_map_runs(executionArn=execution)["mapRuns"] == listed
        # Known only to the store now: a child is still found by its ARN.
        last = listed_children[0]
        child = sfn.describe_execution(executionArn=last["executionArn"])
        assert (child["status"], child["mapRunArn"], child["startDate"]) == (
            "SUCCEEDED",
            run,
            last["startDate"],
        )
        history = sfn.get_execution_history(
            executionArn=last["executionArn"], reverseOrder=True, maxResults=1
        )
        assert [e["type"] for e in history["events"]] == ["ExecutionSucceeded"]
        assert history["events"][0]["executionSucceededEventDetails"]["output"] == child["output"]
        rest_history = sfn.get_execution_history(
            executionArn=last["executionArn"], reverseOrder=True, nextToken=history["nextToken"]
        )
        assert [e["type"] for e in rest_history["events"]] == ["ExecutionStarted"]
        with pytest.raises(ClientError) as exc:
            sfn.describe_execution(executionArn=last["executionArn"][:-4] + "0000")
        assert error_code(exc) == "ExecutionDoesNotExist"
        code, out, _ = _cli(third.url, tmp_path, "describe-map-run", "--map-run-arn", run)
        assert code == 0 and (out["status"], out["executionCounts"]["succeeded"]) == ("SUCCEEDED", 4)
        code, out, _ = _cli(third.url, tmp_path, "list-map-runs", "--execution-arn", execution)
        assert code == 0 and [r["mapRunArn"] for r in out["mapRuns"]] == [run]
        code, out, _ = _cli(third.url, tmp_path, "list-executions", "--map-run-arn", run)
        assert code == 0 and len(out["executions"]) == 4
        code, _, err = _cli(
            third.url, tmp_path, "update-map-run", "--map-run-arn", run, "--max-concurrency", "2"
        )
        assert code != 0 and "ValidationException" in err  # it has ended
    finally:
        third.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("stop", ["kill", "term"])
def test_a_map_run_that_ended_is_ended_after_a_restart_whatever_the_stop(
    backend: str, stop: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Stopped (SIGKILL or SIGTERM) as soon as the execution is past its Map: the run has ended."""
    store = (
        f"sqlite:///{tmp_path / 'sfn.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    )
    first = ServeProcess("--store", store)
    try:
        sfn = client(first.url)
        work = sfn.create_activity(name="work")["activityArn"]
        after = sfn.create_activity(name="after")["activityArn"]
        definition = json.loads(_machine(work))
        each = definition["States"]["Each"]
        del each["End"]
        each["Next"] = "After"
        definition["States"]["After"] = {"Type": "Task", "Resource": after, "End": True}
        machine = sfn.create_state_machine(name="fanout", definition=json.dumps(definition), roleArn=ROLE)[
            "stateMachineArn"
        ]
        execution = sfn.start_execution(stateMachineArn=machine, input="[1, 2]")["executionArn"]
        run = _one_run(sfn, execution)
        for _ in range(2):
            task = sfn.get_activity_task(activityArn=work, workerName="w")
            sfn.send_task_success(taskToken=task["taskToken"], output="{}")
        assert sfn.get_activity_task(activityArn=after, workerName="w").get("taskToken")
        # The execution is past its Map: stopped at once, before anything else is written.
        if stop == "kill":
            first.proc.kill()
            first.proc.communicate(timeout=30)
        else:
            code, err = first.stop()
            assert code == 0 and "Traceback" not in err
    finally:
        if first.proc.poll() is None:
            first.stop()

    second = ServeProcess("--store", store)
    try:
        sfn = client(second.url)
        d = sfn.describe_map_run(mapRunArn=run)
        assert (d["status"], _counts(d)) == ("SUCCEEDED", {"succeeded": 2, "total": 2})
        assert d["stopDate"] >= d["startDate"]
        children = sfn.list_executions(mapRunArn=run)["executions"]
        assert [c["status"] for c in children] == ["SUCCEEDED", "SUCCEEDED"]
        events = sfn.get_execution_history(executionArn=execution)["events"]
        assert "MapStateExited" in [e["type"] for e in events]  # it was past its Map
    finally:
        second.stop()


def test_a_lowered_failure_threshold_fails_the_running_map_run(tmp_path: Path) -> None:
    server = ServeProcess()
    try:
        sfn = client(server.url)
        activity = sfn.create_activity(name="work")["activityArn"]
        definition = _machine(activity, MaxConcurrency=1, ToleratedFailureCount=5)
        machine = sfn.create_state_machine(name="fanout", definition=definition, roleArn=ROLE)[
            "stateMachineArn"
        ]
        execution = sfn.start_execution(stateMachineArn=machine, input="[1, 2, 3]")["executionArn"]
        run = _one_run(sfn, execution)
        task = sfn.get_activity_task(activityArn=activity, workerName="w")
        sfn.send_task_failure(taskToken=task["taskToken"], error="Boom")
        d = _running(sfn, run, 1)  # tolerated: the next child runs
        assert (d["toleratedFailureCount"], _counts(d)) == (
            5,
            {"failed": 1, "pending": 1, "running": 1, "total": 3},
        )
        sfn.update_map_run(mapRunArn=run, toleratedFailureCount=0)
        ended = finished(sfn, execution)
        assert (ended["status"], ended["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold")
        d = sfn.describe_map_run(mapRunArn=run)
        assert (d["status"], d["toleratedFailureCount"]) == ("FAILED", 0)
        assert _counts(d) == {"failed": 1, "aborted": 2, "total": 3}
        statuses = [c["status"] for c in sfn.list_executions(mapRunArn=run)["executions"]]
        assert sorted(statuses) == ["ABORTED", "FAILED"]
        failed = sfn.list_executions(mapRunArn=run, statusFilter="FAILED")["executions"][0]
        child = sfn.describe_execution(executionArn=failed["executionArn"])
        assert (child["status"], child["error"], "output" in child) == ("FAILED", "Boom", False)
        events = sfn.get_execution_history(executionArn=failed["executionArn"])["events"]
        assert [e["type"] for e in events] == ["ExecutionStarted", "ExecutionFailed"]
        assert events[1]["executionFailedEventDetails"]["error"] == "Boom"
        assert [
            c["status"] for c in sfn.list_executions(mapRunArn=run, statusFilter="FAILED")["executions"]
        ] == ["FAILED"]
    finally:
        server.stop()


def test_stopping_the_execution_aborts_its_map_run(sfn: Any) -> None:
    activity = sfn.create_activity(name="work")["activityArn"]
    machine = sfn.create_state_machine(name="fanout", definition=_machine(activity), roleArn=ROLE)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=machine, input="[1, 2]")["executionArn"]
    run = _one_run(sfn, execution)
    _running(sfn, run, 2)
    sfn.stop_execution(executionArn=execution)
    d = _eventually(lambda: sfn.describe_map_run(mapRunArn=run), lambda d: d["status"] != "RUNNING")
    assert d["status"] == "ABORTED" and _counts(d) == {"aborted": 2, "total": 2}
    assert {c["status"] for c in sfn.list_executions(mapRunArn=run)["executions"]} == {"ABORTED"}


def test_map_run_errors_are_awss(sfn: Any) -> None:
    unknown = "arn:aws:states:us-east-1:123456789012:mapRun:fanout/items:4f0b6c1e-0000-4000-8000-000000000000"
    for call in (
        lambda: sfn.describe_map_run(mapRunArn=unknown),
        lambda: sfn.update_map_run(mapRunArn=unknown, maxConcurrency=2),
        lambda: sfn.list_executions(mapRunArn=unknown),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "ResourceNotFound"
    for bad in (
        "not-an-arn",
        "arn:aws:states:us-east-1:123456789012:stateMachine:fanout",
        "arn:aws:states:us-east-1:123456789012:mapRun:fanout",
        "arn:aws:states:us-east-1:123456789012:mapRun:fanout:4f0b6c1e",
    ):
        with pytest.raises(ClientError) as exc:
            sfn.describe_map_run(mapRunArn=bad)
        assert error_code(exc) == "InvalidArn", bad
    with pytest.raises(ClientError) as exc:
        sfn.update_map_run(mapRunArn=unknown, toleratedFailurePercentage=101.0)
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sfn.update_map_run(mapRunArn=unknown)
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sfn.list_map_runs(executionArn="arn:aws:states:us-east-1:123456789012:execution:fanout:none")
    assert error_code(exc) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(
            mapRunArn=unknown, stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:fanout"
        )
    assert error_code(exc) == "ValidationException"
