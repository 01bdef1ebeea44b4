"""The EKS integration's errors end to end (spec §4.3, §5.3, §6): names, causes, Retry and Catch.

* ``EKS.401`` for an identity that STS knows but aws-auth does not map (the
  engine signs with another ``--identity``), with the seed's exact cause;
* ``EKS.404`` for a Job that does not exist;
* ``EKS.ResourceInUseException`` when deleting a cluster that still has a node
  group, matched by a Catch;
* a Job that fails: ``States.TaskFailed`` with the Job as the cause;
* Retry on ``EKS.409`` retries, Catch on ``States.TaskFailed`` catches it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from sim.stack import UNCHECKED_SECRET, Simulators
from tests.e2e.support import (
    OUTSIDER_ARN,
    OUTSIDER_KEY,
    FastForwardClock,
    assert_no_secrets,
    cluster_input,
    cluster_parameters,
    condition_true,
    e2e_engine,
    eks_client,
    model_job,
    result_text,
    run,
    seed_example,
    single_task,
)

CALL = "arn:aws:states:::eks:call"
RUN_JOB_SYNC = "arn:aws:states:::eks:runJob.sync"
SEED_401_CAUSE = {
    "ResponseBody": {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    },
    "StatusCode": 401,
    "StatusText": "Unauthorized",
}


@pytest.fixture
def simulators_options() -> dict[str, Any]:
    return {"identities": [f"{OUTSIDER_KEY}={OUTSIDER_ARN}"]}


def sign_as_outsider(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make Engines built from now on sign as the identity aws-auth does not map."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", OUTSIDER_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", UNCHECKED_SECRET)


def kubernetes_cause(cause: str | None, status: int, text: str) -> dict[str, Any]:
    """Parse an ``EKS.<status>`` cause and check its envelope (spec §5.3)."""
    assert cause is not None
    parsed: dict[str, Any] = json.loads(cause)
    assert set(parsed) == {"ResponseBody", "StatusCode", "StatusText"}
    assert parsed["StatusCode"] == status
    assert parsed["StatusText"] == text
    assert parsed["ResponseBody"]["kind"] == "Status"
    assert parsed["ResponseBody"]["code"] == status
    return parsed


async def test_an_identity_aws_auth_does_not_map_gets_eks_401_until_it_is_mapped(
    simulators: Simulators, sim_env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_input = cluster_input(simulators)
    job = model_job("outsider-job", log="never runs")
    run_job = single_task(RUN_JOB_SYNC, {**cluster_parameters(simulators), "Job": job})

    sign_as_outsider(monkeypatch)
    async with e2e_engine() as engine:
        listed = await engine.run(seed_example("list-job-pods"), seed_input)
        ran = await engine.run(run_job, {})
    assert listed.status == "FAILED"
    assert listed.error == "EKS.401"
    assert listed.cause is not None
    assert json.loads(listed.cause) == SEED_401_CAUSE
    assert ran.status == "FAILED"
    assert ran.error == "EKS.401"
    assert ran.cause is not None
    assert json.loads(ran.cause) == SEED_401_CAUSE
    for result in (listed, ran):
        assert_no_secrets(result_text(result), UNCHECKED_SECRET)

    # The cluster's creator maps the outsider's role into aws-auth; then the same call works.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", sim_env["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", sim_env["AWS_SECRET_ACCESS_KEY"])
    mapping = seed_example("add-aws-auth")
    body = mapping["States"]["Add authorized user"]["Parameters"]["RequestBody"]
    body["data"]["mapRoles"] = json.dumps(
        [{"rolearn": OUTSIDER_ARN, "username": "outsider", "groups": ["system:masters"]}]
    )
    mapped = await run(mapping, seed_input)
    assert mapped.status == "SUCCEEDED", (mapped.error, mapped.cause)

    sign_as_outsider(monkeypatch)
    allowed = await run(seed_example("list-job-pods"), seed_input)
    assert allowed.status == "SUCCEEDED", (allowed.error, allowed.cause)
    assert isinstance(allowed.output, dict)
    assert allowed.output["StatusCode"] == 200


async def test_get_on_a_job_that_does_not_exist_fails_with_eks_404(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    machine = single_task(
        CALL,
        {
            **cluster_parameters(simulators),
            "Method": "GET",
            "Path": "/apis/batch/v1/namespaces/default/jobs/no-such-job",
        },
    )
    result = await run(machine, {})
    assert result.status == "FAILED"
    assert result.error == "EKS.404"
    cause = kubernetes_cause(result.cause, 404, "Not Found")
    assert cause["ResponseBody"]["reason"] == "NotFound"
    assert "no-such-job" in cause["ResponseBody"]["message"]


async def test_deleting_a_cluster_with_a_node_group_fails_with_resource_in_use_which_catch_matches(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    seed_input = cluster_input(simulators)
    delete = seed_example("delete-cluster")
    caught = seed_example("delete-cluster")
    caught["States"]["DeleteCluster.sync"].update(
        {
            "Catch": [
                {"ErrorEquals": ["EKS.ResourceNotFoundException"], "Next": "Wrong catcher"},
                {
                    "ErrorEquals": ["EKS.ResourceInUseException"],
                    "ResultPath": "$.error",
                    "Next": "Still in use",
                },
            ]
        }
    )
    del caught["States"]["DeleteCluster.sync"]["End"]
    caught["States"]["DeleteCluster.sync"]["Next"] = "Wrong catcher"
    caught["States"]["Still in use"] = {"Type": "Pass", "End": True}
    caught["States"]["Wrong catcher"] = {"Type": "Fail", "Error": "Test.WrongCatcher"}
    only_not_found = seed_example("delete-cluster")
    only_not_found["States"]["DeleteCluster.sync"]["Catch"] = [
        {"ErrorEquals": ["EKS.ResourceNotFoundException"], "Next": "Caught"}
    ]
    only_not_found["States"]["Caught"] = {"Type": "Succeed"}

    async with e2e_engine() as engine:
        group = await engine.run(seed_example("create-nodegroup"), seed_input)
        assert group.status == "SUCCEEDED", (group.error, group.cause)
        failed = await engine.run(delete, seed_input)
        handled = await engine.run(caught, seed_input)
        unmatched = await engine.run(only_not_found, seed_input)

    assert failed.status == "FAILED"
    assert failed.error == "EKS.ResourceInUseException"
    assert failed.cause is not None
    assert "nodegroup" in failed.cause.lower()
    assert "Status Code: 409; Error Code: ResourceInUseException" in failed.cause

    assert handled.status == "SUCCEEDED", (handled.error, handled.cause)
    assert isinstance(handled.output, dict)
    assert handled.output["error"]["Error"] == "EKS.ResourceInUseException"
    assert "Error Code: ResourceInUseException" in handled.output["error"]["Cause"]

    assert unmatched.status == "FAILED"
    assert unmatched.error == "EKS.ResourceInUseException"

    async with eks_client() as eks:
        assert (await eks.describe_cluster(name="demo"))["cluster"]["status"] == "ACTIVE"


async def test_a_failed_job_fails_run_job_sync_with_task_failed_and_the_job_as_cause(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    job = model_job("failing-job", log="boom", exit_code="1")
    parameters = {
        **cluster_parameters(simulators),
        "Job": job,
        "LogOptions": {"RetrieveLogs": True, "RawLogs": True},
    }
    failing = single_task(RUN_JOB_SYNC, parameters)
    result = await run(failing, {})

    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    assert result.cause is not None
    cause = json.loads(result.cause)
    assert cause["kind"] == "Job"
    assert cause["metadata"]["name"] == "failing-job"
    assert condition_true(cause, "Failed"), cause["status"]
    assert not condition_true(cause, "Complete")
    failed = [c for c in cause["status"]["conditions"] if c["type"] == "Failed"]
    assert failed[0]["reason"] == "BackoffLimitExceeded"
    assert cause["status"]["failed"] == 1
    (pod,) = cause["logs"]["pods"].values()
    assert pod["containers"]["main"]["log"].strip() == "boom"


async def test_retry_on_eks_409_retries_and_catch_on_task_failed_catches_it(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    job = model_job("dup-job", seconds="0.05")
    parameters = {**cluster_parameters(simulators), "Job": job}
    machine = single_task(
        RUN_JOB_SYNC,
        parameters,
        Retry=[{"ErrorEquals": ["EKS.409"], "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 1}],
        Catch=[{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Handled"}],
        Next="Handled",
    )
    machine["States"]["Handled"] = {"Type": "Pass", "End": True}

    async with e2e_engine(clock=FastForwardClock()) as engine:
        first = await engine.run(single_task(RUN_JOB_SYNC, parameters), {})
        assert first.status == "SUCCEEDED", (first.error, first.cause)
        assert isinstance(first.output, dict)
        assert condition_true(first.output, "Complete")
        # The Job is not deleted after runJob.sync, so the same name now conflicts.
        again = await engine.run(machine, {"keep": True})

    assert again.status == "SUCCEEDED", (again.error, again.cause)
    failures = [e for e in again.history if e.type == "TaskFailed"]
    assert len(failures) == 3, "one attempt and two retries"
    assert all(e.details is not None and e.details["error"] == "EKS.409" for e in failures)
    assert isinstance(again.output, dict)
    assert again.output["keep"] is True
    assert again.output["error"]["Error"] == "EKS.409"
    cause = kubernetes_cause(again.output["error"]["Cause"], 409, "Conflict")
    assert cause["ResponseBody"]["reason"] == "AlreadyExists"
