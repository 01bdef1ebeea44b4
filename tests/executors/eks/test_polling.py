"""Polling policies (schedules and parsing) and poll_until in virtual time."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import anyio
import pytest

from engine.errors import StatesError, TaskFailed
from engine.executor import ExecutorContext
from engine.runtime.clock import LoopClock
from executors.eks.errors import TransientEksError
from executors.eks.polling import (
    MAX_CONSECUTIVE_TRANSIENT,
    AwsPollPolicy,
    ExponentialPollPolicy,
    FixedPollPolicy,
    PollPolicy,
    parse_poll_policy,
    policy_for,
    poll_policy_names,
    poll_until,
    register_poll_policy,
)
from tests.executors.conftest import Recorder


def first(policy: PollPolicy, n: int) -> list[float]:
    return list(itertools.islice(policy.delays(), n))


def test_aws_policy_polls_every_minute_for_ten_minutes_then_slows_to_five_minutes() -> None:
    delays = first(AwsPollPolicy(), 20)
    assert delays[:10] == [60.0] * 10
    assert delays[10:14] == [120.0, 180.0, 240.0, 300.0]
    assert delays[14:] == [300.0] * 6


def test_aws_policy_never_exceeds_five_minutes_and_never_ends() -> None:
    delays = first(AwsPollPolicy(), 1000)
    assert len(delays) == 1000
    assert max(delays) == 300.0 and min(delays) == 60.0


def test_fixed_policy_repeats_its_delay() -> None:
    assert first(parse_poll_policy("fixed:2.5"), 4) == [2.5] * 4
    assert parse_poll_policy("fixed:0").name == "fixed:0"


def test_exponential_policy_doubles_up_to_its_maximum() -> None:
    policy = parse_poll_policy("exponential:1:10")
    assert first(policy, 7) == [1, 2, 4, 8, 10, 10, 10]
    assert policy.name == "exponential:1:10"


def test_each_call_to_delays_starts_the_schedule_afresh() -> None:
    policy = ExponentialPollPolicy(1, 8)
    first(policy, 5)
    assert first(policy, 2) == [1, 2]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sometimes", "unknown poll policy 'sometimes'"),
        ("fixed", "fixed:SECONDS"),
        ("fixed:soon", "must be a number"),
        ("fixed:-1", "non-negative"),
        ("fixed:nan", "non-negative"),
        ("exponential:5", "exponential:FIRST:MAX"),
        ("exponential:0:5", "positive"),
        ("exponential:10:5", "MAX ≥ FIRST"),
        ("aws:1", "takes no arguments"),
    ],
)
def test_a_bad_policy_spec_is_a_value_error_that_says_what_is_expected(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_poll_policy(spec)


def test_unknown_policy_error_lists_the_registered_names() -> None:
    with pytest.raises(ValueError) as info:
        parse_poll_policy("nope")
    for name in ("aws", "fixed", "exponential"):
        assert name in str(info.value)


def test_a_registered_policy_name_parses_with_its_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    import executors.eks.polling as polling

    monkeypatch.setattr(polling, "_FACTORIES", dict(polling._FACTORIES))
    seen: list[list[str]] = []

    def factory(args: list[str]) -> PollPolicy:
        seen.append(args)
        return FixedPollPolicy(float(args[0]))

    register_poll_policy("watch", factory)
    assert "watch" in poll_policy_names()
    assert first(parse_poll_policy("watch:3"), 2) == [3.0, 3.0]
    assert seen == [["3"]]


def test_policy_names_with_a_colon_cannot_be_registered() -> None:
    with pytest.raises(ValueError):
        register_poll_policy("a:b", lambda args: AwsPollPolicy())


def test_policy_for_reads_the_option_as_a_spec_or_an_object(make_ctx: Callable[..., ExecutorContext]) -> None:
    assert policy_for(make_ctx(poll_policy="fixed:3")) == FixedPollPolicy(3.0)
    custom = ExponentialPollPolicy(2, 4)
    assert policy_for(make_ctx(poll_policy=custom)) is custom
    assert policy_for(make_ctx(poll_policy=None)) == AwsPollPolicy()
    assert policy_for(make_ctx(poll_policy=None), default="fixed:1") == FixedPollPolicy(1.0)
    with pytest.raises(ValueError):
        policy_for(make_ctx(poll_policy=42))


class Probe:
    """Answers None until the n-th call, recording the loop time of every call."""

    def __init__(self, ready_at_call: int, result: str = "done") -> None:
        self.ready_at_call = ready_at_call
        self.result = result
        self.times: list[float] = []

    async def __call__(self) -> str | None:
        self.times.append(anyio.current_time())
        return self.result if len(self.times) >= self.ready_at_call else None


@pytest.mark.looptime
async def test_poll_until_follows_the_aws_schedule_in_virtual_time(
    make_ctx: Callable[..., ExecutorContext], recorder: Recorder
) -> None:
    ctx = make_ctx(clock=LoopClock())
    probe = Probe(ready_at_call=13)
    start = anyio.current_time()
    assert await poll_until(ctx, AwsPollPolicy(), probe) == "done"
    gaps = [round(b - a, 3) for a, b in itertools.pairwise([start, *probe.times])]
    assert gaps == [0.0] + [60.0] * 10 + [120.0, 180.0]
    assert recorder.heartbeats == 13


@pytest.mark.looptime
async def test_poll_until_returns_at_once_when_the_first_probe_is_final(
    make_ctx: Callable[..., ExecutorContext],
) -> None:
    probe = Probe(ready_at_call=1)
    start = anyio.current_time()
    assert await poll_until(make_ctx(), AwsPollPolicy(), probe) == "done"
    assert anyio.current_time() == start


@pytest.mark.looptime
async def test_poll_until_is_cancelled_at_a_sleep_and_leaves_no_task_behind(
    make_ctx: Callable[..., ExecutorContext],
) -> None:
    probe = Probe(ready_at_call=10**9)
    before = len(anyio.get_running_tasks())
    with anyio.move_on_after(150) as scope:
        await poll_until(make_ctx(), AwsPollPolicy(), probe)
    assert scope.cancelled_caught
    assert len(probe.times) == 3  # t=0, 60, 120; cancelled while sleeping towards 180
    assert len(anyio.get_running_tasks()) == before


@pytest.mark.looptime
async def test_heartbeat_seconds_caps_each_sleep_at_half_of_it(
    make_ctx: Callable[..., ExecutorContext],
) -> None:
    probe = Probe(ready_at_call=3)
    await poll_until(make_ctx(heartbeat_seconds=20), AwsPollPolicy(), probe)
    assert [round(b - a) for a, b in itertools.pairwise(probe.times)] == [10, 10]


@pytest.mark.looptime
async def test_transient_errors_are_polled_through_but_not_forever(
    make_ctx: Callable[..., ExecutorContext], recorder: Recorder
) -> None:
    calls = 0

    async def flaky() -> str | None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise TransientEksError("EKS.ServiceUnavailableException", "try later")
        return "ok"

    assert await poll_until(make_ctx(), FixedPollPolicy(5), flaky) == "ok"
    assert recorder.heartbeats == 1

    async def down() -> str | None:
        raise TransientEksError("EKS.ServiceUnavailableException", "down")

    with pytest.raises(TransientEksError):
        await poll_until(make_ctx(), FixedPollPolicy(5), down)


@pytest.mark.looptime
async def test_a_transient_streak_longer_than_the_limit_fails_with_the_aws_error_name(
    make_ctx: Callable[..., ExecutorContext],
) -> None:
    calls = 0

    async def down() -> str | None:
        nonlocal calls
        calls += 1
        raise TransientEksError("EKS.ServerException", "boom")

    with pytest.raises(StatesError) as info:
        await poll_until(make_ctx(), FixedPollPolicy(1), down)
    assert info.value.error == "EKS.ServerException"
    assert calls == MAX_CONSECUTIVE_TRANSIENT + 1


async def test_a_permanent_probe_error_propagates_at_once(make_ctx: Callable[..., ExecutorContext]) -> None:
    async def broken() -> str | None:
        raise StatesError("EKS.ResourceNotFoundException", "gone")

    with pytest.raises(StatesError, match="ResourceNotFound"):
        await poll_until(make_ctx(), FixedPollPolicy(0), broken)


async def test_a_finite_policy_that_runs_out_fails_the_task(make_ctx: Callable[..., ExecutorContext]) -> None:
    class Twice:
        name = "twice"

        def delays(self) -> Iterator[float]:
            return iter([0.0, 0.0])

    with pytest.raises(TaskFailed, match="gave up waiting after 3 polls"):
        await poll_until(make_ctx(), Twice(), Probe(ready_at_call=100))
