"""After a crash between "create sent" and "handle committed", executors recognize their own resources.

A durable engine sets the ``durable_store`` option; the EKS executors then mark
what they create with the call's identity (execution ARN, the Task's Entered
event id, the attempt). The same call made again — as a resumed Task without a
handle makes it — finds its resource taken (ResourceInUseException, HTTP 409)
and reattaches; a different call (another event id) still gets the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.errors import StatesError
from engine.executor import ExecutorContext, IntegrationPattern
from executors.eks import EksExecutor
from sim.stack import Simulators
from tests.executors.eks.test_control_plane_sim import FAST, call, cluster_params

DURABLE = {"durable_store": True}
SYNC = IntegrationPattern.SYNC
REQUEST_RESPONSE = IntegrationPattern.REQUEST_RESPONSE


async def test_a_cluster_created_before_a_crash_is_recognized_by_its_tag(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext], simulators: Simulators
) -> None:
    params = cluster_params("durable-cluster")
    first = await eks_executor.run(
        call("createCluster", SYNC, params), make_ctx(FAST, options=DURABLE, entered_event_id=7)
    )
    assert first["Cluster"]["Status"] == "ACTIVE"
    assert "statewright:call" in first["Cluster"]["Tags"]
    # The same call again, resumed without the handle: no EKS.ResourceInUseException, the same cluster.
    again = await eks_executor.run(
        call("createCluster", SYNC, params), make_ctx(FAST, options=DURABLE, entered_event_id=7, resumed=True)
    )
    assert again["Cluster"]["Name"] == "durable-cluster"
    assert again["Cluster"]["Status"] == "ACTIVE"
    assert again["Cluster"]["Arn"] == first["Cluster"]["Arn"]
    # Another call (another Task entered) must not take the cluster over.
    with pytest.raises(StatesError) as caught:
        await eks_executor.run(
            call("createCluster", SYNC, params), make_ctx(FAST, options=DURABLE, entered_event_id=9)
        )
    assert caught.value.error == "EKS.ResourceInUseException"


async def test_a_request_response_create_answered_before_a_crash_is_recognized_by_its_tag(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext]
) -> None:
    # Request-response calls are at-least-once: a resumed Task calls again when its answer was not
    # committed. Its own cluster is then its answer, not an EKS.ResourceInUseException that would
    # also leave the cluster out of the execution's cleanup ledger.
    params = cluster_params("answered-cluster")
    first = await eks_executor.run(
        call("createCluster", REQUEST_RESPONSE, params), make_ctx(FAST, options=DURABLE, entered_event_id=5)
    )
    assert "statewright:call" in first["Cluster"]["Tags"]
    again = await eks_executor.run(
        call("createCluster", REQUEST_RESPONSE, params),
        make_ctx(FAST, options=DURABLE, entered_event_id=5, resumed=True),
    )
    assert again["Cluster"]["Name"] == "answered-cluster"
    assert again["Cluster"]["Arn"] == first["Cluster"]["Arn"]
    with pytest.raises(StatesError) as caught:
        await eks_executor.run(
            call("createCluster", REQUEST_RESPONSE, params), make_ctx(FAST, options=DURABLE, entered_event_id=6)
        )
    assert caught.value.error == "EKS.ResourceInUseException"


async def test_without_a_durable_store_nothing_is_marked(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext]
) -> None:
    out = await eks_executor.run(call("createCluster", SYNC, cluster_params("plain-cluster")), make_ctx(FAST))
    assert "statewright:call" not in (out["Cluster"].get("Tags") or {})


async def test_a_job_created_before_a_crash_is_recognized_by_its_annotations(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext], simulators: Simulators
) -> None:
    from tests.e2e.support import cluster_parameters, model_job

    params: dict[str, Any] = {
        **cluster_parameters(simulators),
        "Namespace": "default",
        "Job": model_job("mine", seconds="0.1"),
    }
    run_job = ("runJob", SYNC)
    first = await eks_executor.run(
        call(*run_job, params), make_ctx("fixed:0.05", options=DURABLE, entered_event_id=3)
    )
    again = await eks_executor.run(
        call(*run_job, params), make_ctx("fixed:0.05", options=DURABLE, entered_event_id=3, resumed=True)
    )
    assert again["metadata"]["uid"] == first["metadata"]["uid"]
    assert (
        again["metadata"]["labels"]["statewright.io/call"]
        == first["metadata"]["labels"]["statewright.io/call"]
    )
    with pytest.raises(StatesError) as caught:
        await eks_executor.run(
            call(*run_job, params), make_ctx("fixed:0.05", options=DURABLE, entered_event_id=4)
        )
    assert caught.value.error == "EKS.409"


@pytest.mark.parametrize("own_labels", [None, {"team": "data"}])
async def test_a_marked_job_keeps_the_labels_kubernetes_defaults_or_its_own(
    eks_executor: EksExecutor,
    make_ctx: Callable[..., ExecutorContext],
    simulators: Simulators,
    own_labels: dict[str, str] | None,
) -> None:
    from tests.e2e.support import cluster_parameters, model_job

    job = model_job("labelled", seconds="0.1")
    if own_labels is not None:
        job["metadata"]["labels"] = own_labels
    params: dict[str, Any] = {**cluster_parameters(simulators), "Namespace": "default", "Job": job}
    out = await eks_executor.run(
        call("runJob", SYNC, params), make_ctx("fixed:0.05", options=DURABLE, entered_event_id=5)
    )
    labels = out["metadata"]["labels"]
    assert labels["statewright.io/call"]
    if own_labels is None:
        # No labels of its own: Kubernetes' defaults from the pod template, which users select by.
        assert labels["job-name"] == labels["batch.kubernetes.io/job-name"] == "labelled"
        assert labels["controller-uid"] == out["metadata"]["uid"]
    else:
        assert labels["team"] == "data"
        assert "job-name" not in labels  # as Kubernetes: a Job's own labels are not defaulted
