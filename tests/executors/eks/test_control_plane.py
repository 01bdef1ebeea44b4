"""The control-plane ``.sync`` logic with a scripted EKS client, in virtual time.

The simulator tests cover the wire; these cover what needs control over time
and status sequences: the AWS schedule, terminal statuses, resumption from a
saved handle, abort clean-up, and the output options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio
import orjson
import pytest
from botocore.exceptions import ClientError

from engine.errors import StatesError, TaskFailed
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from engine.jsonvalue import JSON
from engine.runtime.clock import LoopClock
from executors.eks import EksExecutor
from executors.eks.auth import KubeConnections, TokenProvider
from executors.eks.control_plane import ABORT_CLEANUP_SECONDS
from executors.eks.services import EksServices
from tests.executors.conftest import Recorder

RR = IntegrationPattern.REQUEST_RESPONSE
SYNC = IntegrationPattern.SYNC
CREATED_AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
META = {"RequestId": "req-1", "HTTPStatusCode": 200, "HTTPHeaders": {"x-amzn-requestid": "req-1"}}


def not_found(what: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ResourceNotFoundException", "Message": f"No {what} found."},
            "ResponseMetadata": {"HTTPStatusCode": 404, "RequestId": "req-nf"},
        },
        "Describe",
    )


@dataclass
class ScriptedEks:
    """An EKS client whose Describe answers follow a script of statuses (None = gone)."""

    statuses: list[str | None]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    hang_on_delete: bool = False

    def _doc(self, kind: str, status: str, params: dict[str, Any]) -> dict[str, Any]:
        base: dict[str, Any] = {"status": status, "createdAt": CREATED_AT, "tags": {"Team": "a"}}
        if kind == "cluster":
            base |= {"name": params["name"], "certificateAuthority": {"data": "Q0E="}}
        elif kind == "nodegroup":
            base |= {"clusterName": params["clusterName"], "nodegroupName": params["nodegroupName"]}
            if status.endswith("FAILED"):
                base["health"] = {"issues": [{"code": "NodeCreationFailure", "message": "no nodes"}]}
        else:
            base |= {"clusterName": params["clusterName"], "fargateProfileName": params["fargateProfileName"]}
        return {kind: base, "ResponseMetadata": META}

    async def _write(self, op: str, kind: str, status: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((op, params))
        if op.startswith("delete") and self.hang_on_delete:
            await anyio.sleep(3600)
        return self._doc(kind, status, params)

    async def _describe(self, op: str, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((op, params))
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if status is None:
            raise not_found(kind)
        return self._doc(kind, status, params)

    async def create_cluster(self, **p: Any) -> dict[str, Any]:
        return await self._write("create_cluster", "cluster", "CREATING", p)

    async def delete_cluster(self, **p: Any) -> dict[str, Any]:
        return await self._write("delete_cluster", "cluster", "DELETING", p)

    async def describe_cluster(self, **p: Any) -> dict[str, Any]:
        return await self._describe("describe_cluster", "cluster", p)

    async def create_nodegroup(self, **p: Any) -> dict[str, Any]:
        return await self._write("create_nodegroup", "nodegroup", "CREATING", p)

    async def delete_nodegroup(self, **p: Any) -> dict[str, Any]:
        return await self._write("delete_nodegroup", "nodegroup", "DELETING", p)

    async def describe_nodegroup(self, **p: Any) -> dict[str, Any]:
        return await self._describe("describe_nodegroup", "nodegroup", p)

    async def create_fargate_profile(self, **p: Any) -> dict[str, Any]:
        return await self._write("create_fargate_profile", "fargateProfile", "CREATING", p)

    async def delete_fargate_profile(self, **p: Any) -> dict[str, Any]:
        return await self._write("delete_fargate_profile", "fargateProfile", "DELETING", p)

    async def describe_fargate_profile(self, **p: Any) -> dict[str, Any]:
        return await self._describe("describe_fargate_profile", "fargateProfile", p)

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]


class ScriptedServices(EksServices):
    def __init__(self, client: ScriptedEks) -> None:
        import aioboto3

        session = aioboto3.Session(region_name="us-west-2")
        super().__init__(session, "us-west-2", TokenProvider(session, "us-west-2"), KubeConnections())
        self.client = client

    async def eks_client(self) -> Any:
        return self.client


def executor_with(*statuses: str | None, **kw: Any) -> tuple[EksExecutor, ScriptedEks]:
    client = ScriptedEks(list(statuses), **kw)
    return EksExecutor(ScriptedServices(client)), client


def call(action: str, pattern: IntegrationPattern, parameters: JSON) -> ExecutorCall:
    return ExecutorCall(f"arn:aws:states:::eks:{action}{pattern.suffix}", "eks", action, pattern, parameters)


CLUSTER = {"Name": "c1", "RoleArn": "arn:aws:iam::1:role/r", "ResourcesVpcConfig": {"SubnetIds": ["s"]}}
NODEGROUP = {
    "ClusterName": "c1",
    "NodegroupName": "ng",
    "NodeRole": "arn:aws:iam::1:role/n",
    "Subnets": ["s"],
}
NG_ID = {"ClusterName": "c1", "NodegroupName": "ng"}
FP_ID = {"ClusterName": "c1", "FargateProfileName": "fp"}


@pytest.mark.looptime
async def test_create_cluster_sync_with_the_aws_policy_polls_once_a_minute_until_active(
    make_ctx: Callable[..., ExecutorContext], recorder: Recorder
) -> None:
    executor, client = executor_with("CREATING", "CREATING", "CREATING", "CREATING", "ACTIVE")
    start = anyio.current_time()
    out = await executor.run(
        call("createCluster", SYNC, CLUSTER), make_ctx(poll_policy="aws", clock=LoopClock())
    )
    assert anyio.current_time() - start == pytest.approx(240.0)
    assert client.ops() == ["create_cluster"] + ["describe_cluster"] * 5
    assert out == {
        "Cluster": {
            "Status": "ACTIVE",
            "CreatedAt": int(CREATED_AT.timestamp() * 1000),
            "Tags": {"Team": "a"},
            "Name": "c1",
            "CertificateAuthority": {"Data": "Q0E="},
        }
    }
    assert recorder.heartbeats == 5


@pytest.mark.looptime
async def test_the_default_policy_is_aws_when_no_option_is_given(
    make_ctx: Callable[..., ExecutorContext],
) -> None:
    executor, _ = executor_with("CREATING", "ACTIVE")
    start = anyio.current_time()
    await executor.run(call("createNodegroup", SYNC, NODEGROUP), make_ctx(poll_policy=None))
    assert anyio.current_time() - start == pytest.approx(60.0)


async def test_sync_records_task_submitted_and_a_resumable_handle(
    make_ctx: Callable[..., ExecutorContext], recorder: Recorder
) -> None:
    executor, _ = executor_with("ACTIVE")
    await executor.run(call("createNodegroup", SYNC, NODEGROUP), make_ctx())
    [(event, details)] = recorder.events
    assert event == "TaskSubmitted"
    assert details["resourceType"] == "eks"
    assert details["resource"] == "createNodegroup.sync"
    submitted = orjson.loads(details["output"])
    assert submitted["Nodegroup"]["Status"] == "CREATING"
    assert submitted["SdkHttpMetadata"]["HttpStatusCode"] == 200
    [handle] = recorder.handles
    assert handle["resource"] == "createNodegroup.sync"
    assert handle["identity"] == {"clusterName": "c1", "nodegroupName": "ng"}


async def test_a_resumed_sync_task_waits_without_creating_again(
    make_ctx: Callable[..., ExecutorContext], recorder: Recorder
) -> None:
    executor, _ = executor_with("CREATING")
    with anyio.move_on_after(0.05):
        await executor.run(call("createNodegroup", SYNC, NODEGROUP), make_ctx(poll_policy="fixed:0.01"))
    handle = recorder.handles[0]
    resumed, client = executor_with("ACTIVE")
    out = await resumed.run(call("createNodegroup", SYNC, NODEGROUP), make_ctx(handle=handle))
    assert client.ops() == ["describe_nodegroup"]
    assert out["Nodegroup"]["Status"] == "ACTIVE"


async def test_a_handle_for_another_resource_is_ignored(make_ctx: Callable[..., ExecutorContext]) -> None:
    executor, client = executor_with("ACTIVE")
    stale = {"resource": "createNodegroup.sync", "identity": {"clusterName": "c1", "nodegroupName": "other"}}
    await executor.run(call("createNodegroup", SYNC, NODEGROUP), make_ctx(handle=stale))
    assert client.ops() == ["create_nodegroup", "describe_nodegroup"]


@pytest.mark.parametrize(
    ("action", "params", "statuses", "failed_status"),
    [
        ("createNodegroup", NODEGROUP, ["CREATING", "CREATE_FAILED"], "CREATE_FAILED"),
        ("createCluster", CLUSTER, ["CREATING", "FAILED"], "FAILED"),
        ("createCluster", CLUSTER, ["CREATING", "DELETING"], "DELETING"),
        ("createFargateProfile", {**FP_ID, "PodExecutionRoleArn": "r"}, ["CREATE_FAILED"], "CREATE_FAILED"),
        ("deleteNodegroup", NG_ID, ["DELETING", "DELETE_FAILED"], "DELETE_FAILED"),
        ("deleteFargateProfile", FP_ID, ["DELETE_FAILED"], "DELETE_FAILED"),
        ("deleteCluster", {"Name": "c1"}, ["DELETING", "ACTIVE"], "ACTIVE"),
        ("deleteCluster", {"Name": "c1"}, ["FAILED"], "FAILED"),
    ],
)
async def test_a_failure_status_fails_the_task_with_the_last_described_object(
    make_ctx: Callable[..., ExecutorContext],
    action: str,
    params: JSON,
    statuses: list[str],
    failed_status: str,
) -> None:
    executor, _ = executor_with(*statuses)
    with pytest.raises(TaskFailed) as info:
        await executor.run(call(action, SYNC, params), make_ctx())
    assert info.value.error == "States.TaskFailed"
    cause = orjson.loads(info.value.cause or "")
    assert cause["Status"] == failed_status
    if failed_status == "CREATE_FAILED" and action == "createNodegroup":
        assert cause["Health"] == {"Issues": [{"Code": "NodeCreationFailure", "Message": "no nodes"}]}


async def test_a_degraded_node_group_keeps_the_wait_going(make_ctx: Callable[..., ExecutorContext]) -> None:
    executor, client = executor_with("CREATING", "DEGRADED", "ACTIVE")
    out = await executor.run(call("createNodegroup", SYNC, NODEGROUP), make_ctx())
    assert out["Nodegroup"]["Status"] == "ACTIVE"
    assert client.ops().count("describe_nodegroup") == 3


@pytest.mark.parametrize(
    ("action", "params", "key"),
    [
        ("deleteCluster", {"Name": "c1"}, "Cluster"),
        ("deleteNodegroup", NG_ID, "Nodegroup"),
        ("deleteFargateProfile", FP_ID, "FargateProfile"),
    ],
)
async def test_delete_sync_returns_the_delete_response_once_the_resource_is_gone(
    make_ctx: Callable[..., ExecutorContext], action: str, params: JSON, key: str
) -> None:
    executor, client = executor_with("DELETING", "DELETING", None)
    out = await executor.run(call(action, SYNC, params), make_ctx())
    assert out[key]["Status"] == "DELETING"
    assert "SdkHttpMetadata" not in out
    assert len(client.ops()) == 4


@pytest.mark.looptime
async def test_stopping_a_create_sync_deletes_the_half_created_resource_and_leaks_no_task(
    make_ctx: Callable[..., ExecutorContext],
) -> None:
    executor, client = executor_with("CREATING")
    before = len(anyio.get_running_tasks())
    with anyio.move_on_after(90) as scope:
        await executor.run(call("createCluster", SYNC, CLUSTER), make_ctx(poll_policy="aws"))
    assert scope.cancelled_caught
    assert client.calls[-1] == ("delete_cluster", {"name": "c1"})
    assert len(anyio.get_running_tasks()) == before


@pytest.mark.looptime
async def test_abort_clean_up_is_time_limited(make_ctx: Callable[..., ExecutorContext]) -> None:
    executor, client = executor_with("CREATING", hang_on_delete=True)
    with anyio.move_on_after(10):
        await executor.run(call("createNodegroup", SYNC, NODEGROUP), make_ctx(poll_policy="fixed:1"))
    assert anyio.current_time() == pytest.approx(10 + ABORT_CLEANUP_SECONDS)
    assert client.ops()[-1] == "delete_nodegroup"


async def test_abort_clean_up_can_be_turned_off(make_ctx: Callable[..., ExecutorContext]) -> None:
    executor, client = executor_with("CREATING")
    with anyio.move_on_after(0.05):
        await executor.run(
            call("createCluster", SYNC, CLUSTER),
            make_ctx(poll_policy="fixed:0.01", options={"eks_cancel_on_abort": False}),
        )
    assert "delete_cluster" not in client.ops()


async def test_stopping_a_delete_sync_deletes_nothing_more(make_ctx: Callable[..., ExecutorContext]) -> None:
    executor, client = executor_with("DELETING")
    with anyio.move_on_after(0.05):
        await executor.run(call("deleteNodegroup", SYNC, NG_ID), make_ctx(poll_policy="fixed:0.01"))
    assert client.ops().count("delete_nodegroup") == 1


async def test_request_response_output_options(make_ctx: Callable[..., ExecutorContext]) -> None:
    executor, _ = executor_with("ACTIVE")
    plain = await executor.run(
        call("deleteNodegroup", RR, NG_ID),
        make_ctx(options={"eks_sdk_metadata": False, "eks_timestamp_format": "iso8601"}),
    )
    assert plain == {
        "Nodegroup": {
            "Status": "DELETING",
            "CreatedAt": "2026-05-01T12:00:00+00:00",
            "Tags": {"Team": "a"},
            "ClusterName": "c1",
            "NodegroupName": "ng",
        }
    }
    full = await executor.run(call("deleteNodegroup", RR, NG_ID), make_ctx())
    assert full["SdkHttpMetadata"] == {
        "AllHttpHeaders": {"x-amzn-requestid": ["req-1"]},
        "HttpHeaders": {"x-amzn-requestid": "req-1"},
        "HttpStatusCode": 200,
    }
    assert full["SdkResponseMetadata"] == {"RequestId": "req-1"}


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"poll_policy": "every-now-and-then"}, "unknown poll policy"),
        ({"eks_timestamp_format": "rfc822"}, "eks_timestamp_format"),
        ({"eks_sdk_metadata": "yes"}, "eks_sdk_metadata"),
    ],
)
async def test_bad_executor_options_fail_the_task_with_a_clear_cause(
    make_ctx: Callable[..., ExecutorContext], options: dict[str, object], text: str
) -> None:
    executor, client = executor_with("ACTIVE")
    ctx = make_ctx(**{"poll_policy": options.pop("poll_policy", "fixed:0")}, options=options)
    with pytest.raises(StatesError) as info:
        await executor.run(call("createCluster", SYNC, CLUSTER), ctx)
    assert info.value.error == "States.TaskFailed"
    assert text in (info.value.cause or "")
    assert client.ops() == []


async def test_unknown_eks_actions_fail_the_task(make_ctx: Callable[..., ExecutorContext]) -> None:
    executor, _ = executor_with("ACTIVE")
    with pytest.raises(TaskFailed, match="not a resource"):
        await executor.run(call("describeCluster", RR, {"Name": "c1"}), make_ctx())


@pytest.mark.looptime
async def test_many_waiting_executions_share_one_client_and_one_coroutine_each(
    make_ctx: Callable[..., ExecutorContext],
) -> None:
    executor, client = executor_with(*(["CREATING"] * 3000 + ["ACTIVE"]))
    results: list[JSON] = []

    async def one(i: int) -> None:
        params = {**NODEGROUP, "NodegroupName": f"ng-{i}"}
        results.append(
            await executor.run(call("createNodegroup", SYNC, params), make_ctx(poll_policy="fixed:30"))
        )

    before = len(anyio.get_running_tasks())
    async with anyio.create_task_group() as tg:
        for i in range(500):
            tg.start_soon(one, i)
        await anyio.sleep(1)
        assert len(anyio.get_running_tasks()) == before + 500
    assert len(results) == 500
    creates = [p for op, p in client.calls if op == "create_nodegroup"]
    assert len(creates) == 500
    assert all(r["Nodegroup"]["Status"] == "ACTIVE" for r in results)


async def test_the_eks_client_is_created_once_and_shared_by_concurrent_callers(
    aws_env: Mapping[str, str],
) -> None:
    services = EksServices.default()
    assert services.region == "us-west-2"
    clients: list[Any] = []

    async def get() -> None:
        clients.append(await services.eks_client())

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(get)
        assert len({id(c) for c in clients}) == 1
        assert clients[0].meta.region_name == "us-west-2"
    finally:
        await services.aclose()
