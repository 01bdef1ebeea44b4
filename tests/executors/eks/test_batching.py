"""Batched Job listing and coalesced Describe calls: one request per target per interval."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from engine.errors import StatesError, TaskFailed
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from executors.eks import EksExecutor
from executors.eks.batching import JobLister
from executors.eks.describe import DescribeCoalescer
from executors.eks.feeds import CONTROLLER_UID_LABEL, LABEL_SELECTOR_MAX
from executors.eks.jobs import job_outcome
from executors.eks.polling import BatchedPollPolicy, describe_max_age, parse_poll_policy
from executors.eks.run_job import wait_for_job
from executors.eks.services import EksServices
from sim.stack import DEMO_SUBNETS
from tests.executors.eks.test_watch import (
    client_for,
    context,
    create,
    wait_all,
)
from tests.support.eks import CountingKube

ROLE = "arn:aws:iam::123456789012:role/statewright-test"


async def test_many_batched_waiters_cost_one_list_per_interval_and_no_gets(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services)
    refs = [await create(client, f"job-{i}", seconds=0.2 + 0.01 * i) for i in range(60)]
    started = anyio.current_time()
    results = await wait_all(context(), services, client, refs, BatchedPollPolicy(0.1))
    elapsed = anyio.current_time() - started
    assert all(job_outcome(r) == "Complete" for r in results)
    assert [r["metadata"]["uid"] for r in results] == [ref.uid for ref in refs]
    assert kube.gets() == []
    # One LIST when the lister starts, then at most one per interval, whatever the number of waiters.
    assert 2 <= len(kube.lists()) <= elapsed / 0.1 + 2


async def test_a_lone_waiter_lists_its_job_by_name_and_a_few_by_controller_uid(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services)
    lone = await create(client, "lone", seconds=0.1)
    await wait_for_job(context(), services, client, lone, BatchedPollPolicy(0.05))
    assert {q.get("fieldSelector") for q in kube.lists()} == {"metadata.name=lone"}
    kube.requests.clear()
    pair = [await create(client, "a", seconds=0.1), await create(client, "b", seconds=0.1)]
    await wait_all(context(), services, client, pair, BatchedPollPolicy(0.05))
    selector = kube.lists()[0]["labelSelector"]
    assert selector == f"{CONTROLLER_UID_LABEL} in ({','.join(sorted(str(r.uid) for r in pair))})"


async def test_many_waiters_list_the_whole_namespace(kube: CountingKube, services: EksServices) -> None:
    client = client_for(kube, services)
    feed = JobLister(services.job_batches(), "k", client, "default", 1.0, 1.0, services.clock)
    for i in range(LABEL_SELECTOR_MAX + 1):
        feed.subscribe(f"job-{i}", f"uid-{i}")
    assert feed.selectors() == (None, None)


async def test_a_job_with_its_own_labels_is_still_seen_when_a_selector_misses_it(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services)
    labelled = await create(client, "own-labels", seconds=0.3, labels={"team": "data"})
    other = await create(client, "plain", seconds=0.3)
    results = await wait_all(context(), services, client, [labelled, other], BatchedPollPolicy(0.05))
    assert [job_outcome(r) for r in results] == ["Complete", "Complete"]
    # The missing Job was read once, then the lister stopped narrowing by controller uid.
    assert kube.gets() == ["/apis/batch/v1/namespaces/default/jobs/own-labels"]
    assert "labelSelector" not in kube.lists()[-1]


async def test_a_deleted_job_fails_its_batched_waiter_with_eks_404(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services)
    ref = await create(client, "doomed", seconds=3600)
    errors: list[StatesError] = []

    async def wait() -> None:
        try:
            await wait_for_job(context(), services, client, ref, BatchedPollPolicy(0.05))
        except StatesError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await anyio.sleep(0.1)
        await client.delete_job("default", "doomed", "Background")
    assert [e.error for e in errors] == ["EKS.404"]


async def test_waiters_with_different_intervals_get_their_own_listers(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services)
    refs = [await create(client, "a", seconds=0.2), await create(client, "b", seconds=0.2)]
    async with anyio.create_task_group() as tg:
        tg.start_soon(wait_for_job, context(), services, client, refs[0], BatchedPollPolicy(0.05))
        tg.start_soon(wait_for_job, context(), services, client, refs[1], BatchedPollPolicy(0.07))
        await anyio.sleep(0.02)
        assert len(services.job_batches().feeds) == 2


def test_batched_policy_is_registered_with_its_interval() -> None:
    policy = parse_poll_policy("batched:2.5")
    assert isinstance(policy, BatchedPollPolicy) and policy.seconds == 2.5
    assert policy.name == "batched:2.5"
    for bad in ("batched", "batched:0", "batched:x", "batched:1:2"):
        with pytest.raises(ValueError, match="batched"):
            parse_poll_policy(bad)


def test_describe_answers_are_shared_for_the_batched_interval_or_half_a_poll() -> None:
    assert describe_max_age(BatchedPollPolicy(7)) == 7
    assert describe_max_age(parse_poll_policy("fixed:10")) == 5
    assert describe_max_age(parse_poll_policy("aws")) == 30


# -- DescribeCoalescer --------------------------------------------------------------------------


async def test_concurrent_describes_of_one_resource_share_one_call() -> None:
    coalescer = DescribeCoalescer()
    calls = 0

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        await anyio.sleep(0.05)
        return f"answer-{calls}"

    answers: list[str] = []

    async def ask() -> None:
        answers.append(await coalescer.describe("cluster/a", fetch, max_age=0))

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(ask)
    assert calls == 1
    assert answers == ["answer-1"] * 50


async def test_a_fresh_enough_answer_is_reused_and_a_stale_one_is_not() -> None:
    coalescer = DescribeCoalescer()
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert await coalescer.describe("k", fetch, max_age=0.2) == 1
    assert await coalescer.describe("k", fetch, max_age=0.2) == 1
    await anyio.sleep(0.25)
    assert await coalescer.describe("k", fetch, max_age=0.2) == 2
    assert await coalescer.describe("other", fetch, max_age=0.2) == 3


async def test_an_error_is_shared_with_the_joined_waiters_each_getting_its_own_copy() -> None:
    coalescer = DescribeCoalescer()

    async def fetch() -> int:
        await anyio.sleep(0.02)
        raise TaskFailed("EKS.ResourceNotFoundException", "No cluster found")

    errors: list[StatesError] = []

    async def ask() -> None:
        try:
            await coalescer.describe("k", fetch, max_age=10)
        except StatesError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(ask)
    assert [e.error for e in errors] == ["EKS.ResourceNotFoundException"] * 5
    assert len({id(e) for e in errors}) == 5
    assert coalescer.calls == 1


async def test_a_cancelled_caller_does_not_strand_the_waiters_that_joined_its_call() -> None:
    coalescer = DescribeCoalescer()
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        await anyio.sleep(0.05)
        return calls

    results: list[int] = []

    async def follower() -> None:
        results.append(await coalescer.describe("k", fetch, max_age=10))

    async with anyio.create_task_group() as tg:
        with anyio.move_on_after(0.01):
            async with anyio.create_task_group() as leader:
                leader.start_soon(coalescer.describe, "k", fetch, 10)
                await anyio.sleep(0.001)
                tg.start_soon(follower)
                await anyio.sleep(1)
    assert results == [2]


# -- control plane, against the EKS simulator ---------------------------------------------------


def sync_call(action: str, parameters: dict[str, Any]) -> ExecutorCall:
    return ExecutorCall(
        resource=f"arn:aws:states:::eks:{action}.sync",
        service="eks",
        action=action,
        pattern=IntegrationPattern.SYNC,
        parameters=parameters,
    )


async def test_many_waiters_on_one_cluster_cost_one_describe_cluster_per_interval(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext]
) -> None:
    params = {"Name": "shared", "RoleArn": ROLE, "ResourcesVpcConfig": {"SubnetIds": list(DEMO_SUBNETS)}}
    created = await eks_executor.run(
        ExecutorCall(
            resource="arn:aws:states:::eks:createCluster",
            service="eks",
            action="createCluster",
            pattern=IntegrationPattern.REQUEST_RESPONSE,
            parameters=params,
        ),
        make_ctx("batched:0.1"),
    )
    client = await eks_executor.services.eks_client()
    describes: list[float] = []
    client.meta.events.register(
        "before-call.eks.DescribeCluster", lambda **_: describes.append(anyio.current_time())
    )
    handle = {"resource": "createCluster.sync", "identity": {"name": "shared"}, "submitted": created}
    outputs: list[Any] = []

    async def wait() -> None:
        outputs.append(await eks_executor.run(sync_call("createCluster", params), make_ctx("batched:0.1", handle=handle)))

    started = anyio.current_time()
    async with anyio.create_task_group() as tg:
        for _ in range(25):
            tg.start_soon(wait)
    elapsed = anyio.current_time() - started
    assert [o["Cluster"]["Status"] for o in outputs] == ["ACTIVE"] * 25
    # The outputs are the waiters' own: changing one leaves the others alone.
    outputs[0]["Cluster"]["Name"] = "changed"
    assert outputs[1]["Cluster"]["Name"] == "shared"
    assert 2 <= len(describes) <= elapsed / 0.1 + 2
    gaps = [b - a for a, b in itertools.pairwise(describes)]
    assert min(gaps) >= 0.1 * 0.9


async def test_one_refused_describe_fails_every_waiter_that_shared_it(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext]
) -> None:
    params = {"Name": "never-made", "RoleArn": ROLE, "ResourcesVpcConfig": {"SubnetIds": list(DEMO_SUBNETS)}}
    handle = {"resource": "createCluster.sync", "identity": {"name": "never-made"}, "submitted": {}}
    errors: list[str] = []

    async def wait() -> None:
        try:
            await eks_executor.run(sync_call("createCluster", params), make_ctx("batched:0.1", handle=handle))
        except StatesError as exc:
            errors.append(exc.error)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(wait)
    assert errors == ["EKS.ResourceNotFoundException"] * 5
    assert eks_executor.services.describes().calls == 1


async def test_an_answer_from_before_a_waiter_began_is_never_reused() -> None:
    # Invariant: a Describe answer that predates a create or delete never ends the wait that follows it.
    coalescer = DescribeCoalescer()
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert await coalescer.describe("k", fetch, max_age=60) == 1
    began = anyio.current_time()
    assert await coalescer.describe("k", fetch, max_age=60, since=began) == 2
    assert await coalescer.describe("k", fetch, max_age=60, since=began) == 2


async def test_answer_ages_are_measured_on_the_waiters_clock() -> None:
    coalescer = DescribeCoalescer()
    clock = [100.0]
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert await coalescer.describe("k", fetch, max_age=5, now=lambda: clock[0]) == 1
    clock[0] += 4
    assert await coalescer.describe("k", fetch, max_age=5, now=lambda: clock[0]) == 1
    clock[0] += 2
    assert await coalescer.describe("k", fetch, max_age=5, now=lambda: clock[0]) == 2
