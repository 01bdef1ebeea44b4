"""eks:runJob and eks:runJob.sync against the Kubernetes simulator.

Containers are driven by the simulator's workload model: the pod template's
annotations say how long a container runs, its exit code and its log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from engine.errors import StatesError
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from executors.eks.jobs import job_outcome
from executors.eks.run_job import run_job
from executors.eks.services import EksServices
from sim.faults import FaultConfig
from tests.support.eks import DEFAULT_TOKEN, StaticTokens

TOKEN = DEFAULT_TOKEN
SECONDS = "sim.statewright.io/seconds"
EXIT_CODE = "sim.statewright.io/exit-code"
LOG = "sim.statewright.io/log"


@dataclass
class Recorded:
    """What the executor reported through its context."""

    handles: list[Any] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    heartbeats: int = 0

    def context(self, handle: Any = None, **options: Any) -> ExecutorContext:
        def beat() -> None:
            self.heartbeats += 1

        return ExecutorContext(
            execution_arn="arn:aws:states:us-east-1:123456789012:execution:sm:run",
            execution_name="run",
            state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:sm",
            state_name="Run job",
            options={"poll_policy": "fixed:0.05", **options},
            handle=handle,
            save_handle=self.handles.append,
            emit=lambda kind, details: self.events.append((kind, dict(details))),
            heartbeat=beat,
        )


def job(
    name: str,
    *,
    seconds: str = "0.05",
    exit_code: str = "0",
    log: str = "",
    containers: tuple[str, ...] = ("main",),
) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {SECONDS: seconds, EXIT_CODE: exit_code, LOG: log}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": c, "image": "busybox", "command": ["true"]} for c in containers],
                },
            },
        },
    }


def params(kube: Any, manifest: Any, **extra: Any) -> dict[str, Any]:
    return {
        "ClusterName": "demo",
        "CertificateAuthority": kube.ca_b64,
        "Endpoint": kube.url,
        "Job": manifest,
        **extra,
    }


def call(parameters: Any, pattern: IntegrationPattern = IntegrationPattern.SYNC) -> ExecutorCall:
    return ExecutorCall(
        resource=f"arn:aws:states:::eks:runJob{pattern.suffix}",
        service="eks",
        action="runJob",
        pattern=pattern,
        parameters=parameters,
    )


def client_tasks() -> set[asyncio.Task[Any]]:
    """Tasks on the loop except the simulator's own per-connection handlers."""
    return {t for t in asyncio.all_tasks() if "RequestHandler" not in t.get_coro().__qualname__}


def only_container(result: dict[str, Any]) -> dict[str, Any]:
    pods = result["logs"]["pods"]
    assert len(pods) == 1
    (pod,) = pods.values()
    assert list(pod["containers"]) == ["main"]
    return pod["containers"]["main"]  # type: ignore[no-any-return]


async def test_run_job_sync_returns_the_final_job_with_kubernetes_casing(
    kube: Any, services: EksServices
) -> None:
    recorded = Recorded()
    result = await run_job(call(params(kube, job("pi"))), recorded.context(), services)
    assert result["kind"] == "Job" and result["apiVersion"] == "batch/v1"
    assert result["metadata"]["name"] == "pi" and result["metadata"]["namespace"] == "default"
    assert job_outcome(result) == "Complete"
    assert result["status"]["succeeded"] == 1 and "completionTime" in result["status"]
    assert "logs" not in result
    assert recorded.handles == [
        {"resource": "runJob.sync", "namespace": "default", "name": "pi", "uid": result["metadata"]["uid"]}
    ]
    ((kind, details),) = recorded.events
    assert kind == "TaskSubmitted" and details["resource"] == "runJob.sync"
    assert json.loads(details["output"])["metadata"]["uid"] == result["metadata"]["uid"]
    assert recorded.heartbeats >= 1


async def test_json_logs_are_parsed_into_values(kube: Any, services: EksServices) -> None:
    parameters = params(
        kube, job("pi-json", log='{ "pi": 3.14159265358979323846 }\n'), LogOptions={"RetrieveLogs": True}
    )
    result = await run_job(call(parameters), Recorded().context(), services)
    assert only_container(result) == {"log": {"pi": 3.141592653589793}}


async def test_raw_logs_stay_text(kube: Any, services: EksServices) -> None:
    parameters = params(
        kube, job("pi-raw", log='{"pi": 3.14}\n'), LogOptions={"RetrieveLogs": True, "RawLogs": True}
    )
    result = await run_job(call(parameters), Recorded().context(), services)
    assert only_container(result) == {"log": '{"pi": 3.14}\n'}


async def test_log_parameters_reach_the_log_endpoint(kube: Any, services: EksServices) -> None:
    parameters = params(
        kube,
        job("tail", log="one\ntwo\nthree\n"),
        LogOptions={"RetrieveLogs": True, "LogParameters": {"tailLines": ["1"]}},
    )
    result = await run_job(call(parameters), Recorded().context(), services)
    assert only_container(result) == {"log": "three\n"}


async def test_limit_bytes_trims_a_large_log(kube: Any, services: EksServices) -> None:
    parameters = params(
        kube,
        job("big", log="x" * 5000),
        LogOptions={"RetrieveLogs": True, "RawLogs": True, "LogParameters": {"limitBytes": ["10"]}},
    )
    result = await run_job(call(parameters), Recorded().context(), services)
    assert only_container(result) == {"log": "x" * 10}


async def test_every_container_of_every_pod_is_logged(kube: Any, services: EksServices) -> None:
    parameters = params(kube, job("two", log="7", containers=("a", "b")), LogOptions={"RetrieveLogs": True})
    result = await run_job(call(parameters), Recorded().context(), services)
    (pod,) = result["logs"]["pods"].values()
    assert pod == {"containers": {"a": {"log": 7}, "b": {"log": 7}}}


async def test_a_failed_job_fails_the_task_with_the_job_as_cause(kube: Any, services: EksServices) -> None:
    parameters = params(kube, job("doomed", exit_code="3", log="boom"), LogOptions={"RetrieveLogs": True})
    with pytest.raises(StatesError) as caught:
        await run_job(call(parameters), Recorded().context(), services)
    assert caught.value.error == "States.TaskFailed"
    cause = json.loads(caught.value.cause or "")
    assert cause["metadata"]["name"] == "doomed"
    assert job_outcome(cause) == "Failed"
    failed = next(c for c in cause["status"]["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    (pod,) = cause["logs"]["pods"].values()
    assert pod["containers"]["main"] == {"log": "boom\n"}


async def test_a_job_name_that_exists_already_fails_with_eks_409(kube: Any, services: EksServices) -> None:
    first = await run_job(
        call(params(kube, job("same")), IntegrationPattern.REQUEST_RESPONSE), Recorded().context(), services
    )
    assert first["metadata"]["name"] == "same"
    # Another Task (here: a later entry of the state) whose Job has the same name.
    later = dataclasses.replace(Recorded().context(), entered_event_id=7)
    with pytest.raises(StatesError) as caught:
        await run_job(call(params(kube, job("same"))), later, services)
    assert caught.value.error == "EKS.409"
    cause = json.loads(caught.value.cause or "")
    assert cause["StatusCode"] == 409 and cause["ResponseBody"]["reason"] == "AlreadyExists"


async def test_request_response_returns_the_created_job_without_waiting(
    kube: Any, services: EksServices
) -> None:
    recorded = Recorded()
    created = await run_job(
        call(params(kube, job("slow", seconds="60")), IntegrationPattern.REQUEST_RESPONSE),
        recorded.context(),
        services,
    )
    assert created["metadata"]["name"] == "slow" and job_outcome(created) is None
    assert recorded.events == []
    assert recorded.handles[0]["name"] == "slow"


async def test_a_job_given_as_a_json_string_and_a_namespace_is_created_there(
    kube: Any, services: EksServices
) -> None:
    parameters = params(kube, json.dumps(job("stringly")), Namespace="kube-public")
    result = await run_job(call(parameters), Recorded().context(), services)
    assert result["metadata"]["namespace"] == "kube-public" and job_outcome(result) == "Complete"


async def test_a_resumed_task_waits_for_its_job_instead_of_creating_it_again(
    kube: Any, services: EksServices
) -> None:
    first = Recorded()
    await run_job(
        call(params(kube, job("resumed")), IntegrationPattern.REQUEST_RESPONSE), first.context(), services
    )
    handle = {**first.handles[0], "resource": "runJob.sync"}
    again = Recorded()
    result = await run_job(call(params(kube, job("resumed"))), again.context(handle=handle), services)
    assert job_outcome(result) == "Complete"
    assert again.events == [] and again.handles == []


async def test_an_unauthorized_token_fails_with_eks_401(
    kube: Any, services: EksServices, tokens: StaticTokens
) -> None:
    tokens.value = "not-mapped"
    with pytest.raises(StatesError) as caught:
        await run_job(call(params(kube, job("nope"))), Recorded().context(), services)
    assert caught.value.error == "EKS.401"
    assert json.loads(caught.value.cause or "")["StatusText"] == "Unauthorized"


async def test_cancelling_the_wait_deletes_the_job_and_leaves_no_task(
    kube: Any, services: EksServices
) -> None:
    """Invariant: a stopped runJob.sync leaves neither its Job nor a task behind."""
    recorded = Recorded()
    before = client_tasks()
    with anyio.move_on_after(5) as scope:
        async with anyio.create_task_group() as tg:

            async def go() -> None:
                await run_job(call(params(kube, job("stopped", seconds="600"))), recorded.context(), services)

            tg.start_soon(go)
            while not recorded.handles:
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
    assert not scope.cancelled_caught
    client = services.new_kube_client("demo", kube.url, kube.ca_b64)
    for _ in range(100):
        try:
            remaining = await client.get_job("default", "stopped")
        except StatesError as exc:
            assert exc.error == "EKS.404"
            break
        assert remaining["metadata"].get("deletionTimestamp")
        await anyio.sleep(0.02)
    else:
        pytest.fail("the Job was not deleted")
    assert client_tasks() == before


async def test_bad_parameters_fail_at_run_time_with_states_runtime(kube: Any, services: EksServices) -> None:
    parameters = {
        "ClusterName": "demo",
        "Endpoint": kube.url,
        "Job": "[1, 2]",
        "LogOptions": {"RetrieveLogs": "yes", "LogParameters": {"follow": ["true"]}},
        "Extra": 1,
    }
    with pytest.raises(StatesError) as caught:
        await run_job(call(parameters), Recorded().context(), services)
    assert caught.value.error == "States.Runtime"
    cause = caught.value.cause or ""
    for expected in (
        '"CertificateAuthority" is required',
        '"Extra" is not supported',
        '"Job" must be',
        '"RetrieveLogs" must be a BOOLEAN',
        '"follow" is not supported',
    ):
        assert expected in cause


async def test_a_huge_log_is_returned_whole_for_the_size_guard_to_judge(
    kube: Any, services: EksServices
) -> None:
    parameters = params(
        kube, job("huge", log="x" * 300_000), LogOptions={"RetrieveLogs": True, "RawLogs": True}
    )
    result = await run_job(call(parameters), Recorded().context(), services)
    log = only_container(result)["log"]
    assert log.rstrip("\n") == "x" * 300_000
    assert len(json.dumps(result)) > 262_144


async def test_the_wait_rides_out_throttling_server_errors_and_dropped_connections(
    kube: Any, services: EksServices
) -> None:
    """Invariant: transient API failures while polling delay the result but do not fail the task."""
    recorded = Recorded()
    results: list[dict[str, Any]] = []

    async def go() -> None:
        results.append(
            await run_job(call(params(kube, job("flaky", seconds="0.5"))), recorded.context(), services)
        )

    async with anyio.create_task_group() as tg:
        tg.start_soon(go)
        while not recorded.handles:
            await anyio.sleep(0.01)
        kube.set_faults(FaultConfig(seed=7, throttle_rate=0.1, unavailable_rate=0.2, drop_rate=0.1))
    (result,) = results
    assert job_outcome(result) == "Complete"


async def test_a_log_that_cannot_be_read_gets_error_and_cause_instead_of_log(
    kube: Any, services: EksServices
) -> None:
    parameters = params(
        kube,
        job("unreadable", log="fine"),
        LogOptions={"RetrieveLogs": True, "LogParameters": {"tailLines": ["not-a-number"]}},
    )
    result = await run_job(call(parameters), Recorded().context(), services)
    entry = only_container(result)
    assert set(entry) == {"error", "cause"}
    assert entry["error"] == "EKS.400"
    assert json.loads(entry["cause"])["StatusCode"] == 400
    assert job_outcome(result) == "Complete"


async def test_a_resumed_request_response_task_returns_the_job_without_creating_it_again(
    kube: Any, services: EksServices
) -> None:
    first = Recorded()
    created = await run_job(
        call(params(kube, job("once")), IntegrationPattern.REQUEST_RESPONSE), first.context(), services
    )
    again = Recorded()
    resumed = await run_job(
        call(params(kube, job("once")), IntegrationPattern.REQUEST_RESPONSE),
        again.context(handle=first.handles[0]),
        services,
    )
    assert resumed["metadata"]["uid"] == created["metadata"]["uid"]
    assert again.handles == []
