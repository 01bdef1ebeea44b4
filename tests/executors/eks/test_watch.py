"""The shared Job watch: many waiters, one stream, and what happens when the stream breaks.

Requests are counted at the simulator (``CountingKube`` sees every request
that reaches the API server), so "one watch" means one watch request arrived.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from engine import Engine, ExecutorRegistry
from engine.errors import StatesError
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from executors.eks import EksExecutor, feeds, register
from executors.eks.jobs import JobRef, job_outcome
from executors.eks.kube import KubeClient
from executors.eks.polling import (
    CONTROL_PLANE_DEFAULT_POLICY,
    JOB_DEFAULT_POLICY,
    WATCH_FALLBACK_SECONDS,
    WatchPollPolicy,
    parse_poll_policy,
    policy_for,
)
from executors.eks.ratelimit import RetryRule
from executors.eks.run_job import run_job, wait_for_job
from executors.eks.services import EksServices
from sim.kube import KubeSimulator
from tests.support.eks import (
    DEFAULT_TOKEN,
    JOBS_PATH,
    CountingKube,
    StaticTokens,
    services_with,
    status_response,
)

TOKEN = DEFAULT_TOKEN
SECONDS = "sim.statewright.io/seconds"
EXIT_CODE = "sim.statewright.io/exit-code"


def client_for(kube: KubeSimulator, services: EksServices, **kwargs: Any) -> KubeClient:
    return services.new_kube_client("demo", kube.url, kube.ca_b64, **kwargs)


def context(poll_policy: object = "watch", options: dict[str, object] | None = None, **fields: Any) -> ExecutorContext:
    merged: dict[str, object] = {"poll_policy": poll_policy} if poll_policy is not None else {}
    merged.update(options or {})
    return ExecutorContext(
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:sm:run",
        execution_name="run",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:sm",
        state_name="Run job",
        options=merged,
        **fields,
    )


def manifest(name: str, seconds: float = 0.2, exit_code: int = 0, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {SECONDS: str(seconds), EXIT_CODE: str(exit_code)}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
            },
        },
    }


async def create(client: KubeClient, name: str, **kwargs: Any) -> JobRef:
    created = await client.create_job("default", manifest(name, **kwargs))
    return JobRef.of(created, "default")


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)


async def capture(errors: list[StatesError], wait: Awaitable[Any]) -> None:
    try:
        await wait
    except StatesError as exc:
        errors.append(exc)


async def wait_all(
    ctx: ExecutorContext, services: EksServices, client: KubeClient, refs: list[JobRef], policy: Any
) -> list[Any]:
    results: list[Any] = [None] * len(refs)

    async def one(i: int, ref: JobRef) -> None:
        results[i] = await wait_for_job(ctx, services, client, ref, policy)

    async with anyio.create_task_group() as tg:
        for i, ref in enumerate(refs):
            tg.start_soon(one, i, ref)
    return results


async def test_many_waiters_on_one_cluster_share_exactly_one_watch_request(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services)
    refs = [await create(client, f"job-{i}", seconds=0.3 + i * 0.01) for i in range(30)]
    results = await wait_all(context(), services, client, refs, WatchPollPolicy())
    assert [job_outcome(r) for r in results] == ["Complete"] * 30
    assert [r["metadata"]["uid"] for r in results] == [ref.uid for ref in refs]
    assert len(kube.watches()) == 1
    assert len(kube.lists()) == 1
    # A waiter reads its own Job at most once (to learn what happened before it joined).
    assert len(kube.gets()) <= 30
    assert kube.watches()[0]["allowWatchBookmarks"] == "true"


def named_tasks() -> set[asyncio.Task[Any]]:
    """Tasks started by name (anyio names each after its function); the server's are ``Task-N``."""
    return {t for t in asyncio.all_tasks() if not t.get_name().startswith("Task-")}


async def test_a_waiting_execution_holds_no_task_of_its_own(kube: CountingKube, services: EksServices) -> None:
    client = client_for(kube, services)
    refs = [await create(client, f"job-{i}", seconds=3600) for i in range(40)]
    watches = services.job_watches()
    before = named_tasks()
    async with anyio.create_task_group() as tg:
        for ref in refs:
            tg.start_soon(wait_for_job, context(), services, client, ref, WatchPollPolicy())
        await until(lambda: watches.waiters == 40 and all(s.sleeping for f in watches.feeds.values()
                                                            for s in f.all_subscriptions()))
        # One task per waiting execution (its own coroutine), plus the shared watch and its host.
        added = sorted(t.get_name().split("(")[0] for t in named_tasks() - before)
        assert added == ["JobWatch"] + ["executors.eks.run_job.wait_for_job"] * 40 + ["statewright-eks-services"]
        tg.cancel_scope.cancel()


async def test_a_job_that_fails_is_returned_with_its_failed_condition(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services)
    ref = await create(client, "bad", seconds=0.1, exit_code=3)
    result = await wait_for_job(context(), services, client, ref, WatchPollPolicy())
    assert job_outcome(result) == "Failed"


async def test_a_dropped_watch_resumes_from_the_last_resource_version_without_listing_again(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services)
    long_ref = await create(client, "long", seconds=1.5)
    results: list[Any] = []

    async def wait(ref: JobRef) -> None:
        results.append(await wait_for_job(context(), services, client, ref, WatchPollPolicy()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait, long_ref)
        await until(lambda: len(kube.watches()) == 1)
        # Events the stream delivers move its position on; the resumed watch starts there.
        quick = await create(client, "quick", seconds=0.05)
        tg.start_soon(wait, quick)
        await until(lambda: len(results) == 1)
        (feed,) = services.job_watches().feeds.values()
        seen = feed.resource_version
        kube.cut_watches()
        await until(lambda: len(kube.watches()) == 2)
    assert kube.watches()[1]["resourceVersion"] == seen
    assert int(seen) > int(kube.watches()[0]["resourceVersion"])
    assert len(kube.lists()) == 1
    assert sorted(r["metadata"]["name"] for r in results) == ["long", "quick"]
    assert all(job_outcome(r) == "Complete" for r in results)


async def test_an_expired_resource_version_makes_the_watch_list_again(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services)
    ref = await create(client, "long", seconds=1.0)
    results: list[Any] = []

    async def wait() -> None:
        results.append(await wait_for_job(context(), services, client, ref, WatchPollPolicy()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await until(lambda: len(kube.watches()) == 1)
        # Another kind of object moves the store on; then the history before it is compacted.
        await client.request("POST", "/api/v1/namespaces/default/configmaps", body={"metadata": {"name": "x"}})
        kube.store.compacted_rv = kube.store.rv
        kube.cut_watches()
        await until(lambda: len(kube.lists()) == 2)
    assert len(kube.lists()) == 2
    assert int(kube.watches()[-1]["resourceVersion"]) >= kube.store.compacted_rv
    (result,) = results
    assert job_outcome(result) == "Complete"


async def test_a_stopped_execution_unsubscribes_and_the_idle_watch_closes(
    kube: CountingKube, services: EksServices
) -> None:
    watches = services.job_watches()
    watches.idle_seconds = 0.2
    client = client_for(kube, services)
    ref = await create(client, "forever", seconds=3600)
    with anyio.move_on_after(5) as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(wait_for_job, context(), services, client, ref, WatchPollPolicy())
            await until(lambda: watches.waiters == 1 and len(kube.watches()) == 1)
            tg.cancel_scope.cancel()
    assert not scope.cancelled_caught
    assert watches.waiters == 0
    await until(lambda: not watches.feeds, timeout=3)
    # The server notices the closed stream when it next has an event to send.
    await client.delete_job("default", "forever", "Background")
    api = kube.api
    assert api is not None
    await until(lambda: len(api.watchers) == 0, timeout=3)
    assert len(kube.watches()) == 1


async def test_a_new_waiter_after_the_idle_close_starts_a_new_watch(
    kube: CountingKube, services: EksServices
) -> None:
    watches = services.job_watches()
    watches.idle_seconds = 0.1
    client = client_for(kube, services)
    first = await create(client, "first", seconds=0.05)
    await wait_for_job(context(), services, client, first, WatchPollPolicy())
    await until(lambda: not watches.feeds, timeout=3)
    second = await create(client, "second", seconds=0.05)
    result = await wait_for_job(context(), services, client, second, WatchPollPolicy())
    assert job_outcome(result) == "Complete"
    assert len(kube.watches()) == 2


async def test_a_forbidden_watch_falls_back_to_one_list_per_interval(
    kube: CountingKube, services: EksServices
) -> None:
    kube.forbid_watch = True
    client = client_for(kube, services)
    refs = [await create(client, f"job-{i}", seconds=0.3) for i in range(10)]
    results = await wait_all(context(), services, client, refs, parse_poll_policy("watch:0.1"))
    assert all(job_outcome(r) == "Complete" for r in results)
    assert len(kube.watches()) == 1
    assert len(kube.gets()) == 0
    assert 2 <= len(kube.lists()) <= 20


async def test_when_list_is_forbidden_too_every_waiter_polls_its_own_job(
    kube: CountingKube, services: EksServices
) -> None:
    kube.forbid_watch = kube.forbid_list = True
    client = client_for(kube, services)
    refs = [await create(client, f"job-{i}", seconds=0.2) for i in range(5)]
    results = await wait_all(context(), services, client, refs, parse_poll_policy("watch:0.05"))
    assert all(job_outcome(r) == "Complete" for r in results)
    assert len(kube.watches()) == 0
    assert len(kube.lists()) == 1
    assert {p.rsplit("/", 1)[1] for p in kube.gets()} == {f"job-{i}" for i in range(5)}


async def test_a_job_deleted_while_waited_on_fails_with_eks_404(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services)
    ref = await create(client, "doomed", seconds=3600)
    errors: list[StatesError] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(capture, errors, wait_for_job(context(), services, client, ref, WatchPollPolicy()))
        await until(lambda: len(kube.watches()) == 1)
        await client.delete_job("default", "doomed", "Background")
    assert [e.error for e in errors] == ["EKS.404"]


async def test_a_namesake_job_fails_the_waiter_of_the_old_one(kube: CountingKube, services: EksServices) -> None:
    client = client_for(kube, services)
    old = await create(client, "reused", seconds=3600)
    # Deleted before it finished (a Job seen finished stays finished, whatever happens to it next).
    await client.delete_job("default", "reused", "Background")
    await until(lambda: kube.store.get("batch", "jobs", "default", "reused") is None)
    await create(client, "reused", seconds=3600)
    with pytest.raises(StatesError) as caught:
        await wait_for_job(context(), services, client, old, WatchPollPolicy())
    assert caught.value.error == "States.TaskFailed"
    assert "another Job took its name" in str(caught.value.cause)


async def test_an_unreachable_api_server_fails_every_waiter_with_the_polling_error(
    kube: CountingKube, services: EksServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds, "feed_backoff", lambda failures, rng: 0.01)
    client = client_for(kube, services, retry=RetryRule(max_attempts=1))
    refs = [await create(client, f"job-{i}", seconds=3600) for i in range(3)]
    errors: list[StatesError] = []

    async def wait(ref: JobRef) -> None:
        try:
            await wait_for_job(context(), services, client, ref, WatchPollPolicy())
        except StatesError as exc:
            errors.append(exc)

    kube.answers.append(lambda request: status_response(503, "ServiceUnavailable", "down"))
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for ref in refs:
                tg.start_soon(wait, ref)
    assert [e.error for e in errors] == ["EKS.503"] * 3
    assert len({id(e) for e in errors}) == 3
    assert not services.job_watches().feeds


async def test_a_waiter_with_heartbeat_seconds_heartbeats_while_the_watch_is_healthy(
    kube: CountingKube, services: EksServices
) -> None:
    beats: list[float] = []
    client = client_for(kube, services)
    ref = await create(client, "slow", seconds=1.2)
    ctx = context(heartbeat_seconds=0.4, heartbeat=lambda: beats.append(anyio.current_time()))
    result = await wait_for_job(ctx, services, client, ref, WatchPollPolicy())
    assert job_outcome(result) == "Complete"
    assert len(beats) >= 3


async def test_closing_the_services_fails_waiting_executions_instead_of_leaving_them_hanging(
    kube: CountingKube,
) -> None:
    services = services_with(StaticTokens())
    client = client_for(kube, services)
    ref = await create(client, "forever", seconds=3600)
    errors: list[StatesError] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(capture, errors, wait_for_job(context(), services, client, ref, WatchPollPolicy()))
        await until(lambda: services.job_watches().waiters == 1)
        await services.aclose()
    assert [e.error for e in errors] == ["States.TaskFailed"]
    assert errors[0].cause is not None and "closed" in errors[0].cause


async def test_run_job_sync_waits_on_the_shared_watch_by_default(kube: CountingKube, services: EksServices) -> None:
    parameters = {"ClusterName": "demo", "CertificateAuthority": kube.ca_b64, "Endpoint": kube.url}
    results: list[Any] = []

    async def one(i: int) -> None:
        call = ExecutorCall(
            resource="arn:aws:states:::eks:runJob.sync",
            service="eks",
            action="runJob",
            pattern=IntegrationPattern.SYNC,
            parameters={**parameters, "Job": manifest(f"default-{i}", seconds=0.2)},
        )
        results.append(await run_job(call, context(poll_policy=None), services))

    async with anyio.create_task_group() as tg:
        for i in range(10):
            tg.start_soon(one, i)
    assert len(results) == 10 and all(job_outcome(r) == "Complete" for r in results)
    assert len(kube.watches()) == 1


async def test_waiting_after_the_services_closed_fails_at_once(kube: CountingKube) -> None:
    services = services_with(StaticTokens())
    client = client_for(kube, services)
    ref = await create(client, "late", seconds=3600)
    await services.aclose()
    with anyio.fail_after(5), pytest.raises(StatesError) as caught:
        await wait_for_job(context(), services, client, ref, WatchPollPolicy())
    assert caught.value.error == "States.TaskFailed"
    assert not services.job_watches().feeds


async def test_a_job_deleted_while_the_watch_was_down_and_compacted_away_still_fails_its_waiter(
    kube: CountingKube, services: EksServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Invariant: the relist after 410 tells every waiter whose Job it does not show to read it.
    monkeypatch.setattr(feeds, "feed_backoff", lambda failures, rng: 0.05)
    client = client_for(kube, services)
    ref = await create(client, "gone-in-the-gap", seconds=3600)
    errors: list[StatesError] = []
    down = [False]
    kube.answers.append(
        lambda request: status_response(503, "ServiceUnavailable", "down") if down[0] and request.query.get("watch") else None
    )
    watches = services.job_watches()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(capture, errors, wait_for_job(context(), services, client, ref, WatchPollPolicy()))
            await until(lambda: len(kube.watches()) == 1 and all(
                s.sleeping for f in watches.feeds.values() for s in f.all_subscriptions()) and watches.waiters == 1)
            down[0] = True
            kube.cut_watches()
            await until(lambda: len(kube.watches()) >= 2)
            await client.delete_job("default", "gone-in-the-gap", "Background")
            await client.request("POST", "/api/v1/namespaces/default/configmaps", body={"metadata": {"name": "x"}})
            kube.store.compacted_rv = kube.store.rv
            down[0] = False
    assert [e.error for e in errors] == ["EKS.404"]
    # Two relists; the waiter's own look at "now" before it gives up on its Job is narrowed by name.
    assert len([q for q in kube.lists() if "fieldSelector" not in q]) == 2


async def test_a_job_created_after_the_watch_position_needs_no_read_of_its_own(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services)
    first = await create(client, "first", seconds=1.0)
    watches = services.job_watches()
    async with anyio.create_task_group() as tg:
        tg.start_soon(wait_for_job, context(), services, client, first, WatchPollPolicy())
        await until(lambda: any(f.synced for f in watches.feeds.values()))
        (feed,) = watches.feeds.values()
        assert feed.resource_version is not None
        position = int(feed.resource_version)
        assert feed.will_see(str(position + 1))
        assert not feed.will_see(str(position))
        assert not feed.will_see(None)
        assert not feed.will_see("opaque-version")
        sub = feed.subscribe("later", "uid-later", str(position + 1))
        assert not sub.check
        feed.unsubscribe(sub)
        sub = feed.subscribe("earlier", "uid-earlier", str(position))
        assert sub.check
        feed.unsubscribe(sub)


def test_watch_is_registered_with_an_optional_fallback_interval() -> None:
    policy = parse_poll_policy("watch")
    assert isinstance(policy, WatchPollPolicy) and policy.name == "watch"
    assert policy.fallback_seconds == WATCH_FALLBACK_SECONDS
    custom = parse_poll_policy("watch:2")
    assert isinstance(custom, WatchPollPolicy) and custom.name == "watch:2"
    assert list(itertools.islice(custom.delays(), 3)) == [2.0, 2.0, 2.0]
    for bad in ("watch:0", "watch:x", "watch:1:2"):
        with pytest.raises(ValueError, match="watch"):
            parse_poll_policy(bad)


def test_run_job_waits_on_the_watch_and_the_control_plane_on_aws_unless_told_otherwise() -> None:
    assert parse_poll_policy(JOB_DEFAULT_POLICY).name == "watch"
    assert parse_poll_policy(CONTROL_PLANE_DEFAULT_POLICY).name == "aws"
    ctx = context(poll_policy=None)
    assert policy_for(ctx, default=JOB_DEFAULT_POLICY).name == "watch"
    assert policy_for(context(poll_policy="fixed:1"), default=JOB_DEFAULT_POLICY).name == "fixed:1"


def _engine_machine(kube: KubeSimulator) -> dict[str, Any]:
    return {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:runJob.sync",
                "Parameters": {
                    "ClusterName": "demo",
                    "CertificateAuthority": kube.ca_b64,
                    "Endpoint": kube.url,
                    "Job.$": "$.job",
                },
                "ResultSelector": {"name.$": "$.metadata.name"},
                "End": True,
            }
        },
    }


async def test_executions_waiting_on_the_watch_park_and_are_woken_without_reading_their_jobs(
    kube: CountingKube, services: EksServices
) -> None:
    registry = ExecutorRegistry()
    register(registry, EksExecutor(services))
    async with Engine(load_plugins=False, registry=registry) as engine:
        machine = engine.compile(_engine_machine(kube))
        executions = [engine.start(machine, {"job": manifest(f"parked-{i}", seconds=1.0)}) for i in range(20)]
        await until(lambda: all(e.parked for e in executions))
        # Parked: no task of their own, only their subscriptions on the one shared watch.
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("execution ")]
        watches = services.job_watches()
        assert watches.waiters == 20
        reads_while_parked = len(kube.gets())
        results = [await e.wait() for e in executions]
    assert [r.status for r in results] == ["SUCCEEDED"] * 20
    assert [r.output for r in results] == [{"name": f"parked-{i}"} for i in range(20)]
    assert len(kube.gets()) == reads_while_parked
    assert len(kube.watches()) == 1
    assert all(r.history.types.count("TaskScheduled") == 1 for r in results)


async def test_stopping_a_parked_run_job_execution_deletes_its_job(kube: CountingKube, services: EksServices) -> None:
    registry = ExecutorRegistry()
    register(registry, EksExecutor(services))
    async with Engine(load_plugins=False, registry=registry) as engine:
        execution = engine.start(_engine_machine(kube), {"job": manifest("stopped-parked", seconds=3600)})
        await until(lambda: execution.parked)
        execution.stop("Stopped", "by the test")
        result = await execution.wait()
    assert result.status == "ABORTED"
    assert [p for m, p, q in kube.requests if m == "DELETE"] == [JOBS_PATH + "/stopped-parked"]
    assert services.job_watches().waiters == 0
