"""eks:runJob.sync and eks:call through the whole stack: EksExecutor, a real EKS token, the simulators.

The executor reaches STS and EKS through boto3's standard configuration
(``sim_env``), mints its bearer token by presigning GetCallerIdentity, and the
demo cluster's API server checks that token against the STS simulator and
aws-auth, exactly as EKS does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aioboto3
import pytest

from engine.errors import StatesError
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from executors.eks import EksExecutor
from executors.eks.auth import KubeConnections, TokenProvider
from executors.eks.services import EksServices
from sim.stack import Simulators

OUTSIDER_KEY = "AKIAOUTSIDER000001"
OUTSIDER = f"{OUTSIDER_KEY}=arn:aws:iam::123456789012:role/outsider"


@pytest.fixture
def simulators_options() -> dict[str, Any]:
    return {"identities": [OUTSIDER]}


def cluster(simulators: Simulators) -> dict[str, Any]:
    described = simulators.eks.describe_cluster("demo")
    return {
        "ClusterName": "demo",
        "Endpoint": described["endpoint"],
        "CertificateAuthority": described["certificateAuthority"]["data"],
    }


def task(action: str, pattern: IntegrationPattern, parameters: dict[str, Any]) -> ExecutorCall:
    return ExecutorCall(
        resource=f"arn:aws:states:::eks:{action}{pattern.suffix}",
        service="eks",
        action=action,
        pattern=pattern,
        parameters=parameters,
    )


PI_JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "example-job"},
    "spec": {
        "backoffLimit": 0,
        "template": {
            "metadata": {
                "annotations": {
                    "sim.statewright.io/seconds": "0.05",
                    "sim.statewright.io/log": '{ "pi": 3.14159265358979323846 }\n',
                }
            },
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "pi-20", "image": "perl", "command": ["perl"]}],
            },
        },
    },
}


@pytest.fixture
async def outsider_services(sim_env: Any, simulators: Simulators) -> AsyncIterator[EksServices]:
    """Services signing as an identity that aws-auth does not map."""
    session = aioboto3.Session(
        aws_access_key_id=OUTSIDER_KEY, aws_secret_access_key="unchecked", region_name=simulators.region
    )
    services = EksServices(
        session=session,
        region=simulators.region,
        tokens=TokenProvider(session, simulators.region),
        connections=KubeConnections(),
    )
    try:
        yield services
    finally:
        await services.aclose()


async def test_the_seed_pi_job_runs_with_logs_and_is_deleted_with_eks_call(
    eks_executor: EksExecutor, simulators: Simulators, make_ctx: Callable[..., ExecutorContext]
) -> None:
    ctx = make_ctx(poll_policy="fixed:0.05")
    result = await eks_executor.run(
        task(
            "runJob",
            IntegrationPattern.SYNC,
            {**cluster(simulators), "Job": PI_JOB, "LogOptions": {"RetrieveLogs": True}},
        ),
        ctx,
    )
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in result["status"]["conditions"])
    (pod,) = result["logs"]["pods"].values()
    assert 3.141 < pod["containers"]["pi-20"]["log"]["pi"] < 3.142

    listed = await eks_executor.run(
        task(
            "call",
            IntegrationPattern.REQUEST_RESPONSE,
            {
                **cluster(simulators),
                "Method": "GET",
                "Path": "/api/v1/namespaces/default/pods",
                "QueryParameters": {"labelSelector": ["job-name=example-job"]},
            },
        ),
        ctx,
    )
    assert [p["metadata"]["name"] for p in listed["ResponseBody"]["items"]] == list(result["logs"]["pods"])

    deleted = await eks_executor.run(
        task(
            "call",
            IntegrationPattern.REQUEST_RESPONSE,
            {
                **cluster(simulators),
                "Method": "DELETE",
                "Path": "/apis/batch/v1/namespaces/default/jobs/example-job",
                "QueryParameters": {"propagationPolicy": ["Foreground"]},
            },
        ),
        ctx,
    )
    assert deleted["StatusCode"] == 200 and "status" in deleted["ResponseBody"]


async def test_an_identity_aws_auth_does_not_map_gets_eks_401(
    outsider_services: EksServices, simulators: Simulators, make_ctx: Callable[..., ExecutorContext]
) -> None:
    executor = EksExecutor(outsider_services)
    with pytest.raises(StatesError) as caught:
        await executor.run(
            task(
                "call",
                IntegrationPattern.REQUEST_RESPONSE,
                {**cluster(simulators), "Method": "GET", "Path": "/api/v1/namespaces/default/pods"},
            ),
            make_ctx(),
        )
    assert caught.value.error == "EKS.401"
    assert json.loads(caught.value.cause or "") == {
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
    assert "k8s-aws-v1" not in (caught.value.cause or "")
