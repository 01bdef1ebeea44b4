"""Per-cluster token buckets, Retry-After and the retry rule of Kubernetes requests."""

from __future__ import annotations

import itertools
import random
import time

import anyio
import pytest
from aiohttp import web

from engine.errors import StatesError
from engine.executor import ExecutorCall, IntegrationPattern
from engine.runtime.clock import ImmediateClock
from executors.eks.create import CREATE_MAX_ATTEMPTS, create_job
from executors.eks.options import EksOptions
from executors.eks.ratelimit import (
    BURST_OPTION,
    DEFAULT_BURST,
    DEFAULT_QPS,
    QPS_OPTION,
    RateLimits,
    RetryRule,
    TokenBucket,
    retry_after_seconds,
)
from executors.eks.run_job import run_job
from executors.eks.services import EksServices
from tests.executors.eks.test_watch import (
    client_for,
    context,
    create,
    manifest,
)
from tests.support.eks import JOBS_PATH, CountingKube, status_response


@pytest.mark.looptime
async def test_a_bucket_lets_a_burst_through_then_paces_at_its_rate() -> None:
    bucket = TokenBucket(qps=5, burst=2)
    start = anyio.current_time()
    stamps = []
    for _ in range(12):
        await bucket.acquire()
        stamps.append(anyio.current_time() - start)
    assert stamps[:2] == [0, 0]
    assert stamps[-1] == pytest.approx(10 / 5)
    assert [round(b - a, 6) for a, b in itertools.pairwise(stamps[2:])] == [0.2] * 9


@pytest.mark.looptime
async def test_concurrent_callers_share_one_bucket_in_arrival_order() -> None:
    bucket = TokenBucket(qps=10, burst=1)
    done: list[tuple[int, float]] = []
    start = anyio.current_time()

    async def take(i: int) -> None:
        await bucket.acquire()
        done.append((i, round(anyio.current_time() - start, 6)))

    async with anyio.create_task_group() as tg:
        for i in range(5):
            tg.start_soon(take, i)
    assert done == [(0, 0.0), (1, 0.1), (2, 0.2), (3, 0.3), (4, 0.4)]


@pytest.mark.looptime
async def test_a_cancelled_wait_gives_its_token_back() -> None:
    bucket = TokenBucket(qps=1, burst=1)
    await bucket.acquire()
    with anyio.move_on_after(0.5):
        await bucket.acquire()
    assert bucket.reserve() == pytest.approx(0.5)


@pytest.mark.looptime
async def test_tokens_saved_during_a_quiet_spell_never_exceed_the_burst() -> None:
    bucket = TokenBucket(qps=100, burst=3)
    await anyio.sleep(60)
    assert [bucket.reserve() for _ in range(4)] == [0, 0, 0, pytest.approx(0.01)]


def test_rate_limit_options_are_checked_with_their_names() -> None:
    assert EksOptions.parse({}).rate_limits is None
    assert EksOptions.parse({QPS_OPTION: 5}).rate_limits == (5.0, DEFAULT_BURST)
    assert EksOptions.parse({BURST_OPTION: 7}).rate_limits == (DEFAULT_QPS, 7)
    for options, name in (
        ({QPS_OPTION: 0}, QPS_OPTION),
        ({QPS_OPTION: "fast"}, QPS_OPTION),
        ({QPS_OPTION: True}, QPS_OPTION),
        ({BURST_OPTION: 0}, BURST_OPTION),
        ({BURST_OPTION: 2.5}, BURST_OPTION),
    ):
        with pytest.raises(ValueError, match=name):
            EksOptions.parse(options)


def test_rate_limits_are_per_cluster_and_reconfigured_together() -> None:
    limits = RateLimits()
    a, b = limits.bucket("https://a"), limits.bucket("https://b")
    assert a is limits.bucket("https://a") and a is not b
    assert (a.qps, a.burst) == (DEFAULT_QPS, DEFAULT_BURST)
    limits.configure(2, 3)
    assert (a.qps, a.burst, b.qps, limits.bucket("https://c").burst) == (2.0, 3, 2.0, 3)


def test_retry_after_is_read_in_seconds_and_capped() -> None:
    assert retry_after_seconds({"Retry-After": "2"}) == 2
    assert retry_after_seconds({"Retry-After": "3600"}) == 60
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after_seconds({}) is None


def test_reads_are_retried_on_server_errors_and_writes_only_on_429() -> None:
    rule = RetryRule()
    assert rule.retryable("GET", 503) and rule.retryable("GET", None) and rule.retryable("POST", 429)
    assert not rule.retryable("POST", 503) and not rule.retryable("POST", None)
    backoffs = [rule.backoff(n, random.Random(1)) for n in range(10)]
    assert all(0 <= b <= min(rule.cap_seconds, rule.base_seconds * 2**n) for n, b in enumerate(backoffs))


# -- through KubeClient, against the simulator -------------------------------------------------


async def test_the_cluster_bucket_limits_the_rate_of_requests(kube: CountingKube, services: EksServices) -> None:
    services.rate_limits.configure(qps=20, burst=1)
    client = client_for(kube, services)
    start = time.monotonic()
    for _ in range(11):
        await client.request("GET", "/api/v1/namespaces/default/configmaps")
    assert time.monotonic() - start >= 10 / 20 * 0.95


async def test_a_429_is_tried_again_after_its_retry_after(kube: CountingKube, services: EksServices) -> None:
    client = client_for(kube, services)
    ref = await create(client, "job", seconds=0.05)
    stamps: list[float] = []

    def throttle_once(request: web.Request) -> web.Response | None:
        if request.path != f"{JOBS_PATH}/job":
            return None
        stamps.append(time.monotonic())
        if len(stamps) > 1:
            return None
        response = status_response(429, "TooManyRequests", "Too many requests, please try again later.")
        response.headers["Retry-After"] = "0.5"
        return response

    kube.answers.append(throttle_once)
    job = await client.get_job("default", "job")
    assert job["metadata"]["uid"] == ref.uid
    assert len(stamps) == 2
    assert stamps[1] - stamps[0] >= 0.5


async def test_a_throttled_create_is_tried_again(kube: CountingKube, services: EksServices) -> None:
    client = client_for(kube, services)
    refused: list[str] = []

    def throttle_first_post(request: web.Request) -> web.Response | None:
        if request.method != "POST" or refused:
            return None
        refused.append(request.path)
        response = status_response(429, "TooManyRequests", "Too many requests")
        response.headers["Retry-After"] = "0"
        return response

    kube.answers.append(throttle_first_post)
    created = await client.create_job("default", manifest("made"))
    assert created["metadata"]["name"] == "made"
    assert len(refused) == 1


async def test_server_errors_on_reads_are_retried_with_backoff(kube: CountingKube, services: EksServices) -> None:
    client = client_for(kube, services)
    failures = iter([503, 500])

    def fail_twice(request: web.Request) -> web.Response | None:
        code = next(failures, None)
        return None if code is None else status_response(code, "InternalError", "injected")

    kube.answers.append(fail_twice)
    response = await client.request("GET", "/api/v1/namespaces/default/configmaps")
    assert response.status == 200
    assert len(kube.requests) == 3


async def test_a_server_error_on_a_write_is_not_retried(kube: CountingKube, services: EksServices) -> None:
    client = client_for(kube, services)
    kube.answers.append(lambda request: status_response(503, "ServiceUnavailable", "injected"))
    with pytest.raises(StatesError) as caught:
        await client.create_job("default", manifest("once"))
    assert caught.value.error == "EKS.503"
    assert [m for m, _, _ in kube.requests] == ["POST"]


async def test_a_dropped_connection_on_a_read_is_retried(kube: CountingKube, services: EksServices) -> None:
    client = client_for(kube, services)
    dropped: list[bool] = []

    def drop_once(request: web.Request) -> web.Response | None:
        if dropped:
            return None
        dropped.append(True)
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=499)

    kube.answers.append(drop_once)
    response = await client.request("GET", "/api/v1/namespaces/default/configmaps")
    assert response.status == 200 and dropped == [True]


async def test_a_read_that_keeps_failing_gives_up_with_the_last_answer(
    kube: CountingKube, services: EksServices
) -> None:
    client = client_for(kube, services, retry=RetryRule(max_attempts=3, base_seconds=0.01))
    kube.answers.append(lambda request: status_response(500, "InternalError", "injected"))
    with pytest.raises(StatesError) as caught:
        await client.request("GET", "/api/v1/namespaces/default/configmaps")
    assert caught.value.error == "EKS.500"
    assert len(kube.requests) == 3


async def test_run_job_puts_the_rate_limit_options_in_force_before_its_first_request(
    kube: CountingKube, services: EksServices
) -> None:
    parameters = {"ClusterName": "demo", "CertificateAuthority": kube.ca_b64, "Endpoint": kube.url,
                  "Job": manifest("limited", seconds=0.05)}  # fmt: skip
    call = ExecutorCall(
        resource="arn:aws:states:::eks:runJob",
        service="eks",
        action="runJob",
        pattern=IntegrationPattern.REQUEST_RESPONSE,
        parameters=parameters,
    )
    await run_job(call, context(None, options={QPS_OPTION: 7, BURST_OPTION: 3}), services)
    assert services.rate_limits.settings == (7.0, 3)
    assert services.rate_limits.bucket(kube.url).qps == 7.0


async def test_an_invalid_rate_limit_option_fails_the_task_naming_the_option(
    kube: CountingKube, services: EksServices
) -> None:
    parameters = {"ClusterName": "demo", "CertificateAuthority": kube.ca_b64, "Endpoint": kube.url,
                  "Job": manifest("never")}  # fmt: skip
    call = ExecutorCall(
        resource="arn:aws:states:::eks:runJob.sync",
        service="eks",
        action="runJob",
        pattern=IntegrationPattern.SYNC,
        parameters=parameters,
    )
    with pytest.raises(StatesError) as caught:
        await run_job(call, context(options={QPS_OPTION: -1}), services)
    assert caught.value.error == "States.TaskFailed"
    assert caught.value.cause is not None and QPS_OPTION in caught.value.cause
    assert [m for m, _, _ in kube.requests] == []


async def test_a_create_reads_its_job_back_with_one_get_per_attempt(
    kube: CountingKube, services: EksServices
) -> None:
    """The create's own loop is what retries: a read-back is one GET, not a retried request of its own.

    Nested, a server that answers nothing useful cost five paced GETs per create attempt (a dead
    one, five connection attempts with backoff each), which kept such a create going ~40 s.
    """
    ctx = context(clock=ImmediateClock())
    services.bind(ctx)
    client = client_for(kube, services)

    def fail(request: web.Request) -> web.Response | None:
        if request.method == "POST":  # ambiguous: the Job may have been made
            return status_response(500, "InternalError", "injected")
        if request.path == f"{JOBS_PATH}/unsure":
            return status_response(503, "ServiceUnavailable", "injected")
        return None

    kube.answers.append(fail)
    with pytest.raises(StatesError) as caught:
        await create_job(ctx, client, "default", manifest("unsure"), durable=False)
    assert caught.value.error == "EKS.503"
    methods = [m for m, p, _ in kube.requests if p.startswith(JOBS_PATH)]
    assert methods == ["POST"] + ["GET"] * (CREATE_MAX_ATTEMPTS - 1)
