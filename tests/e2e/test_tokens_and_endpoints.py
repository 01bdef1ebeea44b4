"""Bearer tokens that outlive long waits, and clusters the integration cannot reach.

With ``Simulators(token_ttl=2)`` every cluster refuses tokens signed more than
two seconds ago, so a Job running seven seconds outlives several token
lifetimes. It must still succeed (logs read at the end) under every poll
policy, because the executors renew a token the API server refuses (401) and
send again. A cluster created with ``endpointPublicAccess: false`` answers no
connection from outside its VPC; runJob and call fail with ``States.TaskFailed``
and a cause that says why (spec §2.4, §5.3).
"""

from __future__ import annotations

import base64
import datetime as dt
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest

from executors.eks.errors import PUBLIC_ENDPOINT_HINT
from sim.aws.times import utc_now
from sim.aws.token import make_eks_token
from sim.eks import EksError
from sim.stack import UNCHECKED_SECRET, Simulators
from tests.e2e.support import FastForwardClock, cluster_parameters, e2e_engine, model_job, single_task

TTL = 2.0
JOB_SECONDS = "7"
POLICIES = {
    "watch": "watch:0.5",
    "batched": "batched:0.5",
    "fixed": "fixed:0.5",
    "exponential": "exponential:0.2:1",
    "aws": "aws",
}


def run_job_branch(state: str, params: Mapping[str, Any]) -> dict[str, Any]:
    job = model_job(f"long-{state}", seconds=JOB_SECONDS, log='{"done": true}')
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::eks:runJob.sync",
        "Parameters": {**params, "Job": job, "LogOptions": {"RetrieveLogs": True}},
        "ResultSelector": {"succeeded.$": "$.status.succeeded", "logs.$": "$.logs..log"},
        "End": True,
    }
    return {"StartAt": state, "States": {state: task}}


@pytest.mark.parametrize("simulators_options", [{"token_ttl": TTL}])
async def test_a_job_longer_than_several_token_lifetimes_succeeds_under_every_poll_policy(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    params = cluster_parameters(simulators)
    definition = {
        "StartAt": "All",
        "States": {
            "All": {
                "Type": "Parallel",
                "Branches": [run_job_branch(state, params) for state in POLICIES],
                "End": True,
            }
        },
    }
    state_options = {state: {"poll_policy": policy} for state, policy in POLICIES.items()}
    # AWS's cadence (a look a minute) on a clock that skips long sleeps: the same polls, in seconds.
    async with e2e_engine(clock=FastForwardClock(threshold=1.0), state_options=state_options) as engine:
        result = await engine.run(definition, {})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == [{"succeeded": 1, "logs": [{"done": True}]}] * len(POLICIES)
    refused = simulators.cluster("demo").authenticator.refused
    assert refused > 0, "no token outlived the TTL: the test proves nothing"


@pytest.mark.parametrize("simulators_options", [{"token_ttl": TTL}])
async def test_the_cluster_refuses_a_token_older_than_the_ttl(simulators: Simulators) -> None:
    kube = simulators.cluster("demo")
    context = ssl.create_default_context(cadata=base64.b64decode(kube.ca_b64).decode("ascii"))
    identity = simulators.identities.default

    def token(age: float) -> str:
        return make_eks_token(
            sts_url=simulators.sts_url,
            cluster_name="demo",
            access_key_id=identity.access_key_id,
            secret_access_key=identity.secret_access_key or UNCHECKED_SECRET,
            region=simulators.region,
            now=utc_now() - dt.timedelta(seconds=age),
        )

    async with aiohttp.ClientSession() as session:
        for age, expected in ((0, 200), (TTL + 2, 401)):
            headers = {"Authorization": f"Bearer {token(age)}"}
            async with session.get(kube.url + "/api/v1/namespaces", ssl=context, headers=headers) as response:
                assert response.status == expected, age


async def test_a_cluster_without_public_access_cannot_be_reached_and_says_why(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    await simulators.eks.create_cluster(
        {
            "name": "private",
            "roleArn": "arn:aws:iam::123456789012:role/cluster",
            "resourcesVpcConfig": {
                "subnetIds": ["subnet-1"],
                "endpointPublicAccess": False,
                "endpointPrivateAccess": True,
            },
        },
        immediate=True,
    )
    await simulators.eks.wait_cluster_active("private")
    doc = simulators.eks.describe_cluster("private")
    assert doc["resourcesVpcConfig"]["endpointPublicAccess"] is False
    assert doc["endpoint"] != simulators.cluster("private").url  # reachable only from inside
    params = cluster_parameters(simulators, "private")
    run_job = single_task("arn:aws:states:::eks:runJob.sync", {**params, "Job": model_job("never-created")})
    call = single_task("arn:aws:states:::eks:call", {**params, "Method": "GET", "Path": "/api/v1/namespaces"})
    async with e2e_engine(clock=FastForwardClock(threshold=0.05)) as engine:
        for definition in (run_job, call):
            result = await engine.run(definition, {})
            assert result.status == "FAILED"
            assert result.error == "States.TaskFailed", result.cause
            assert result.cause is not None and PUBLIC_ENDPOINT_HINT in result.cause


async def test_a_cluster_with_neither_public_nor_private_access_is_refused(simulators: Simulators) -> None:
    with pytest.raises(EksError, match="public or private access"):
        await simulators.eks.create_cluster(
            {
                "name": "sealed",
                "roleArn": "arn:aws:iam::123456789012:role/cluster",
                "resourcesVpcConfig": {"subnetIds": ["subnet-1"], "endpointPublicAccess": False},
            }
        )
