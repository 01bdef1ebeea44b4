"""Executions sharing DescribeCluster calls all fail, naming the endpoint, when the EKS endpoint dies.

The simulators run in a process of their own (``benchmarks.simproc``), with
realistic timings so the clusters stay CREATING; twenty createCluster.sync
executions wait on coalesced describes (one call per interval for all of
them). SIGKILL takes the EKS endpoint away: every waiter must end with
``States.TaskFailed`` and a cause naming the endpoint, none may wait on.
"""

from __future__ import annotations

import anyio
import pytest

from benchmarks.simproc import SimOptions, SimProcess
from engine import Engine, ExecutorRegistry
from executors.eks import EksExecutor, register
from executors.eks.services import EksServices

pytestmark = pytest.mark.slow


async def test_every_waiter_on_a_coalesced_describe_fails_naming_the_endpoint_once_it_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with SimProcess(SimOptions(timings="realistic", kube_servers=False)) as sim:
        for key, value in sim.env.items():
            monkeypatch.setenv(key, value)
        # One try per Describe (boto3's standard knob, which the executor honours): what is tested
        # is the executor's own tolerance of consecutive transient errors and its cause, not
        # botocore's backoff, which at its default 5 tries made up most of this test's time.
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        services = EksServices.default()
        registry = ExecutorRegistry()
        register(registry, EksExecutor(services))
        definition = {
            "StartAt": "Create",
            "States": {
                "Create": {
                    "Type": "Task", "Resource": "arn:aws:states:::eks:createCluster.sync",
                    "Parameters": {"Name.$": "$.name", "RoleArn": "arn:aws:iam::123456789012:role/r",
                                   "ResourcesVpcConfig": {"SubnetIds": ["subnet-1", "subnet-2"]}},
                    "End": True,
                }
            },
        }  # fmt: skip
        async with Engine(
            load_plugins=False, registry=registry, executor_options={"poll_policy": "fixed:0.3"}
        ) as engine:
            machine = engine.compile(definition)
            executions = [engine.start(machine, {"name": f"c{i}"}) for i in range(20)]
            with anyio.fail_after(60):
                while services.describes().calls < 3:
                    await anyio.sleep(0.05)
            endpoint = sim.env["AWS_ENDPOINT_URL_EKS"]
            await sim.kill()
            with anyio.fail_after(120):
                results = [await e.wait() for e in executions]
    assert {r.status for r in results} == {"FAILED"}
    assert {r.error for r in results} == {"States.TaskFailed"}
    assert all(endpoint in str(r.cause) for r in results), {r.cause for r in results}
