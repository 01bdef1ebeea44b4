"""Polling policies and the one loop every ``.sync`` wait runs.

A ``.sync`` task waits for something outside (a cluster to become ACTIVE, a
Job to finish). How often it looks is a *policy*: a named object that yields
successive delays. Policies are chosen per engine, per resource or per state
through ``ExecutorContext.options["poll_policy"]`` (a policy object or a spec
string such as ``fixed:5``) and are registered by name, so the watch-based
policy can be added later without touching this module's callers:

* ``aws`` — AWS's documented cadence for runJob.sync, "about once a minute at
  first, slowing to about once every five minutes" (spec §4.3). Where it slows
  is UNCONFIRMED (spec §14 item 14); we poll every 60 s for the first 10
  minutes, then add 60 s per poll up to a 300 s ceiling:
  ``60 (ten times), 120, 180, 240, 300, 300, …``.
* ``fixed:SECONDS`` — the same delay every time (tests, simulators).
* ``exponential:FIRST:MAX`` — doubling from FIRST up to MAX.
* ``watch`` (or ``watch:SECONDS``) — runJob.sync waits on one shared
  list-then-watch per (cluster, namespace) (``executors.eks.watch``) and is
  woken when its Job finishes; SECONDS (default 5) is the interval of the
  fallback polling used where watch is forbidden, and of control-plane
  ``.sync`` waits, which have no watch. The default for runJob.sync.
* ``batched:SECONDS`` — every runJob.sync waiting on one (cluster, namespace)
  is served by one LIST every SECONDS (``executors.eks.batching``); control-plane
  waits describe each resource at most once every SECONDS, however many wait.

Control-plane ``.sync`` waits coalesce their Describe calls under every
policy (``executors.eks.describe.DescribeCoalescer``): waiters on one resource
share an in-flight call and reuse an answer younger than ``describe_max_age``.

``poll_until`` is deliberately a plain loop in the calling coroutine: one
coroutine per waiting execution, no task per poll, and every sleep goes
through the engine's clock, so it is a cancel point and runs in virtual time
under test.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar, runtime_checkable

from engine.errors import TaskFailed
from engine.executor import ExecutorContext
from engine.jsonvalue import JSON
from executors.eks.errors import TransientEksError

T = TypeVar("T")

POLL_POLICY_OPTION: Final = "poll_policy"
AWS_FIRST_DELAY: Final = 60.0
AWS_STEADY_POLLS: Final = 10
AWS_STEP: Final = 60.0
AWS_MAX_DELAY: Final = 300.0
MAX_CONSECUTIVE_TRANSIENT: Final = 5
"""Transient probe failures (throttling, 5xx, dropped connections) tolerated in a row."""


@runtime_checkable
class PollPolicy(Protocol):
    """How long to wait between polls.

    ``name`` is the spec string that recreates the policy, e.g. ``fixed:5``.
    """

    @property
    def name(self) -> str:
        """The spec string that recreates the policy."""
        ...

    def delays(self) -> Iterator[float]:
        """Successive waits in seconds; a fresh iterator for every wait."""
        ...


@dataclass(frozen=True, slots=True)
class AwsPollPolicy:
    """AWS's cadence: 60 s for ten polls, then +60 s per poll up to 300 s."""

    name: str = "aws"

    def delays(self) -> Iterator[float]:
        yield from itertools.repeat(AWS_FIRST_DELAY, AWS_STEADY_POLLS)
        delay = AWS_FIRST_DELAY
        while delay < AWS_MAX_DELAY:
            delay = min(AWS_MAX_DELAY, delay + AWS_STEP)
            yield delay
        yield from itertools.repeat(AWS_MAX_DELAY)


@dataclass(frozen=True, slots=True)
class FixedPollPolicy:
    """The same delay every time.

    Attributes:
        seconds: the delay, ≥ 0.
    """

    seconds: float

    @property
    def name(self) -> str:
        return f"fixed:{self.seconds:g}"

    def delays(self) -> Iterator[float]:
        return itertools.repeat(self.seconds)


@dataclass(frozen=True, slots=True)
class ExponentialPollPolicy:
    """Delays doubling from ``first`` up to ``maximum``.

    Attributes:
        first: the first delay, > 0.
        maximum: the ceiling, ≥ ``first``.
        factor: the growth per poll, > 1.
    """

    first: float
    maximum: float
    factor: float = 2.0

    @property
    def name(self) -> str:
        return f"exponential:{self.first:g}:{self.maximum:g}"

    def delays(self) -> Iterator[float]:
        delay = self.first
        while delay < self.maximum:
            yield delay
            delay = min(self.maximum, delay * self.factor)
        yield from itertools.repeat(self.maximum)


WATCH_FALLBACK_SECONDS: Final = 5.0
"""``watch``'s polling interval where watch is forbidden, and for control-plane waits."""
JOB_DEFAULT_POLICY: Final = "watch"
"""The policy of runJob.sync when none is chosen."""
CONTROL_PLANE_DEFAULT_POLICY: Final = "aws"
"""The policy of control-plane ``.sync`` waits when none is chosen."""


@dataclass(frozen=True, slots=True)
class WatchPollPolicy:
    """Wait on a shared watch; poll every ``fallback_seconds`` only where watching is impossible.

    Attributes:
        fallback_seconds: the polling interval where watch (or list) is
            forbidden, and of waits that have no watch (the control plane).
    """

    fallback_seconds: float = WATCH_FALLBACK_SECONDS

    @property
    def name(self) -> str:
        if self.fallback_seconds == WATCH_FALLBACK_SECONDS:
            return "watch"
        return f"watch:{self.fallback_seconds:g}"

    def delays(self) -> Iterator[float]:
        return itertools.repeat(self.fallback_seconds)


@dataclass(frozen=True, slots=True)
class BatchedPollPolicy:
    """One shared LIST (or Describe) per target every ``seconds``, however many executions wait.

    Attributes:
        seconds: the interval, > 0.
    """

    seconds: float

    @property
    def name(self) -> str:
        return f"batched:{self.seconds:g}"

    def delays(self) -> Iterator[float]:
        return itertools.repeat(self.seconds)


def describe_max_age(policy: PollPolicy) -> float:
    """How old a shared Describe answer may be and still serve a waiter of ``policy``.

    ``batched:S`` shares answers for S seconds (one call per resource per
    interval); other policies for half their first delay, so sharing never
    more than halves how fresh a waiter's view is.
    """
    if isinstance(policy, BatchedPollPolicy):
        return policy.seconds
    first = next(iter(policy.delays()), 0.0)
    return max(0.0, first / 2)


PolicyFactory = Callable[[list[str]], PollPolicy]
"""Builds a policy from the spec's arguments (the parts after the name, split on ``:``)."""


def _seconds(text: str, what: str, *, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        sign = "positive" if positive else "non-negative"
        raise ValueError(f"{what} must be a {sign} number, not {text!r}")
    return value


def _aws(args: list[str]) -> PollPolicy:
    if args:
        raise ValueError("the 'aws' poll policy takes no arguments")
    return AwsPollPolicy()


def _fixed(args: list[str]) -> PollPolicy:
    if len(args) != 1:
        raise ValueError("the 'fixed' poll policy is written fixed:SECONDS")
    return FixedPollPolicy(_seconds(args[0], "fixed:SECONDS", positive=False))


def _exponential(args: list[str]) -> PollPolicy:
    if len(args) != 2:
        raise ValueError("the 'exponential' poll policy is written exponential:FIRST:MAX")
    first = _seconds(args[0], "FIRST", positive=True)
    maximum = _seconds(args[1], "MAX", positive=True)
    if maximum < first:
        raise ValueError(f"exponential:FIRST:MAX needs MAX ≥ FIRST, got {args[0]}:{args[1]}")
    return ExponentialPollPolicy(first, maximum)


def _watch(args: list[str]) -> PollPolicy:
    if not args:
        return WatchPollPolicy()
    if len(args) != 1:
        raise ValueError("the 'watch' poll policy is written watch or watch:FALLBACK_SECONDS")
    return WatchPollPolicy(_seconds(args[0], "watch:FALLBACK_SECONDS", positive=True))


def _batched(args: list[str]) -> PollPolicy:
    if len(args) != 1:
        raise ValueError("the 'batched' poll policy is written batched:SECONDS")
    return BatchedPollPolicy(_seconds(args[0], "batched:SECONDS", positive=True))


_FACTORIES: dict[str, PolicyFactory] = {
    "aws": _aws,
    "fixed": _fixed,
    "exponential": _exponential,
    "watch": _watch,
    "batched": _batched,
}


def register_poll_policy(name: str, factory: PolicyFactory) -> None:
    """Make ``name[:ARGS…]`` a valid poll-policy spec.

    Args:
        name: the policy's name, e.g. ``watch``; replaces an earlier registration.
        factory: called with the ``:``-separated arguments; raises ``ValueError``
            with a clear message when they are wrong.
    """
    if not name or ":" in name:
        raise ValueError(f"invalid poll policy name {name!r}")
    _FACTORIES[name] = factory


def poll_policy_names() -> list[str]:
    """The registered policy names, sorted."""
    return sorted(_FACTORIES)


def parse_poll_policy(spec: str) -> PollPolicy:
    """Build a policy from its spec string.

    Args:
        spec: ``aws``, ``fixed:SECONDS``, ``exponential:FIRST:MAX`` or any
            registered name with its arguments.

    Raises:
        ValueError: an unknown name or bad arguments, with a message that
            lists the valid forms.
    """
    name, *args = spec.strip().split(":")
    factory = _FACTORIES.get(name)
    if factory is None:
        known = ", ".join(poll_policy_names())
        raise ValueError(f"unknown poll policy {spec!r}: expected one of {known} (e.g. fixed:5)")
    return factory(args)


def policy_for(ctx: ExecutorContext, default: str = "aws") -> PollPolicy:
    """The policy a wait should use: ``ctx.options["poll_policy"]`` or ``default``.

    Raises:
        ValueError: the option is neither a ``PollPolicy`` nor a valid spec string.
    """
    option = ctx.options.get(POLL_POLICY_OPTION)
    if option is None:
        return parse_poll_policy(default)
    if isinstance(option, str):
        return parse_poll_policy(option)
    if isinstance(option, PollPolicy):
        return option
    raise ValueError(f"the {POLL_POLICY_OPTION!r} option must be a PollPolicy or a spec string")


async def poll_until(
    ctx: ExecutorContext,
    policy: PollPolicy,
    probe: Callable[[], Awaitable[T | None]],
    progress: Callable[[], Mapping[str, JSON]] | None = None,
) -> T:
    """Call ``probe`` until it returns something other than None.

    After each probe that does not raise, ``ctx.heartbeat()`` is called, so a
    ``.sync`` task with HeartbeatSeconds stays alive while its target answers.
    When the task has HeartbeatSeconds, no sleep is longer than half of it.
    A ``TransientEksError`` from the probe counts as "not yet" up to
    ``MAX_CONSECUTIVE_TRANSIENT`` times in a row; any other error propagates.

    Args:
        ctx: the executor context (clock, heartbeat, HeartbeatSeconds).
        policy: the delays between probes.
        probe: returns the final result, or None to keep waiting.
        progress: what is waited for and its last status (``waitingFor``,
            ``status``); reported through ``ctx.report`` before each sleep with
            the policy's name and the next delay.

    Returns:
        The first non-None probe result.

    Raises:
        StatesError: from the probe, or ``States.TaskFailed`` when a finite
            policy runs out of delays.
    """
    delays = policy.delays()
    transient = 0
    polls = 0
    while True:
        try:
            result = await probe()
        except TransientEksError:
            transient += 1
            if transient > MAX_CONSECUTIVE_TRANSIENT:
                raise
        else:
            transient = 0
            ctx.heartbeat()
            if result is not None:
                return result
        polls += 1
        delay = next(delays, None)
        if delay is None:
            raise TaskFailed(None, f"gave up waiting after {polls} polls (poll policy {policy.name})")
        if ctx.heartbeat_seconds:
            delay = min(delay, ctx.heartbeat_seconds / 2)
        if progress is not None:
            ctx.report({**progress(), "pollPolicy": policy.name, "nextPollSeconds": delay})
        await ctx.clock.sleep(delay)
