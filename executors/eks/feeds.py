"""Feeds and subscriptions: many executions waiting on Jobs, one reader per (cluster, namespace).

A runJob.sync that polls alone costs one GET per execution per interval;
ten thousand of them on one cluster cost ten thousand. Here every execution
waiting on a Job in one (cluster, namespace) *subscribes* to one shared
``JobFeed`` and sleeps on its ``Subscription`` (an event, no task of its
own); the feed reads all their Jobs at once and wakes each waiter whose Job
reached a terminal condition (the rule of ``jobs.job_outcome``).

* ``JobFeed`` is the base: subscribers, dispatch of Job objects to them, and
  the loop. Its own round is one LIST every interval, narrowed where it helps
  (``metadata.name`` for a single waiter, ``batch.kubernetes.io/controller-uid
  in (…)`` for a few, the whole namespace beyond that): the ``batched:SECONDS``
  policy (``batching.JobLister``).
* ``watch.JobWatch`` extends it with a list-then-watch stream.
* ``FeedHub`` keeps the feeds by key, creates them on demand in the
  services' background task group, and forgets them when they close (idle,
  or failed for good). ``wait_on_feed`` is the waiter's side.

A feed never loses a waiter. When it cannot tell (the Job is missing from a
LIST, it was deleted, its uid changed) it flags the waiter to *check*: the
waiter reads its own Job once (``jobs.read_job``), which raises exactly what
the polling path raises (``EKS.404``, or ``States.TaskFailed`` for a
namesake). Where LIST is forbidden, the waiters are told to poll on their own.
After ``MAX_FEED_FAILURES`` failures in a row the feed hands its last error to
every waiter and closes. If the services close, waiters get
``States.TaskFailed``.

Feeds read time and sleep through the engine's clock (the first waiter's
``ExecutorContext.clock``), and jitter their backoff from a random source the
hub is given (seeded from the engine). The loops are guarded: an unexpected
exception is logged and counts as one failure; the loop goes on.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Final, Generic, TypeVar

import anyio

from engine.aio.background import BackgroundTasks
from engine.errors import StatesError, TaskFailed
from engine.executor import ExecutorContext, Parked, Wake, no_report
from engine.jsonvalue import JSON
from engine.runtime.clock import Clock
from executors.eks.errors import TransientEksError
from executors.eks.jobs import JobRef, job_outcome, job_pods, read_job
from executors.eks.kube import KubeClient
from executors.eks.polling import MAX_CONSECUTIVE_TRANSIENT, PollPolicy, poll_until

log = logging.getLogger(__name__)

Report = Callable[[Mapping[str, JSON]], None]

MAX_FEED_FAILURES: Final = 5
"""Failed rounds in a row (each already retried by ``KubeClient``) before a feed gives up."""
FEED_BACKOFF_BASE_SECONDS: Final = 0.5
FEED_BACKOFF_CAP_SECONDS: Final = 30.0
IDLE_SECONDS: Final = 10.0
"""How long a feed with no waiter lingers before it closes (a next Job often follows)."""
FORBIDDEN_RETRY_SECONDS: Final = 300.0
"""How long a namespace where listing is forbidden is left to per-execution polling."""
LABEL_SELECTOR_MAX: Final = 50
"""Up to this many waiters, a LIST names their Jobs' controller uids; beyond, it reads the namespace."""
CONTROLLER_UID_LABEL: Final = "batch.kubernetes.io/controller-uid"
CHECK_BACKOFF_SECONDS: Final = 1.0
CLOSED_CAUSE: Final = "The EKS services were closed while the task was waiting"
FINISHED_KEEP_SECONDS: Final = 120.0
"""How long a Job seen finished and then deleted is remembered for waiters that subscribe late."""
REPORT_SECONDS: Final = 30.0
"""How often a feed repeats, for people following progress, what each of its waiters waits for."""
FINISHED_KEEP_MAX: Final = 4096
"""At most this many such Jobs are remembered per feed (the oldest are forgotten first)."""

def feed_backoff(failures: int, rng: random.Random) -> float:
    """Jittered exponential pause after ``failures`` failed rounds in a row."""
    ceiling = min(FEED_BACKOFF_CAP_SECONDS, FEED_BACKOFF_BASE_SECONDS * 2 ** max(0, failures - 1))
    return rng.uniform(ceiling / 2, ceiling)


class Subscription:
    """One execution waiting on one Job, as the feed sees it.

    The feed sets one of ``job`` (terminal), ``check`` (read the Job yourself),
    ``own_poll`` (poll on your own) or ``error`` (fail with it), then wakes it.

    Attributes:
        name: the Job's name.
        uid: the Job's uid, or None when unknown.
        epoch: the feed's LIST count when the waiter joined.
        job: the terminal Job, once seen.
        error: the error to fail with.
        check: the waiter should read its Job once.
        own_poll: the waiter should poll on its own from now on.
        unlisted: the Job exists but a label-selected LIST does not show it.
        suspect: a label-selected LIST missed the Job; the waiter's check tells why.
    """

    __slots__ = (
        "_on_wake",
        "_waiter",
        "check",
        "epoch",
        "error",
        "job",
        "name",
        "own_poll",
        "parked",
        "parked_by",
        "report",
        "status",
        "suspect",
        "uid",
        "unlisted",
    )

    def __init__(self, name: str, uid: str | None, epoch: int) -> None:
        self.name = name
        self.uid = uid
        self.epoch = epoch
        self.job: dict[str, JSON] | None = None
        self.error: StatesError | None = None
        self.check = False
        self.own_poll = False
        self.unlisted = False
        self.suspect = False
        self.parked = False
        self.parked_by: str | None = None
        self.report: Report | None = None
        """The waiting Task's progress report, when someone watches (``ctx.report``)."""
        self.status = "running"
        """The Job's pod counts as last delivered, for progress."""
        self._waiter: asyncio.Future[None] | None = None
        self._on_wake: Wake | None = None

    def __repr__(self) -> str:
        return f"Subscription({self.name!r}, uid={self.uid!r})"

    @property
    def ready(self) -> bool:
        """Whether something is there for the waiter to act on."""
        return self.job is not None or self.error is not None or self.check or self.own_poll

    @property
    def sleeping(self) -> bool:
        """Whether the waiter is asleep in ``wait``."""
        return self._waiter is not None

    def wake(self) -> None:
        """Wake the waiter (it reads the flags); a parked one through the engine's wake."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
            return
        on_wake, self._on_wake = self._on_wake, None
        if on_wake is not None:
            on_wake()

    def listen_off(self) -> None:
        """Forget the engine's wake (the execution runs again)."""
        self._on_wake = None

    def listen(self, wake: Wake) -> None:
        """The engine's ``Listen`` for a parked waiter: ``wake`` is called once something is ready."""
        if self.ready:
            wake()
        else:
            self._on_wake = wake

    async def wait(self) -> None:
        """Sleep until ``wake`` (returns at once when something is ready); a cancel point.

        A bare future rather than an ``anyio.Event``: an event keeps a deque of
        waiters, over a kilobyte, and ten thousand sleepers each need only one slot.
        """
        if self.ready:
            return
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None


class JobFeed:
    """The Jobs of one (cluster, namespace), read on behalf of every subscribed waiter.

    Args:
        hub: the hub that keeps this feed.
        key: the hub's key for it.
        client: the client the feed reads with (the first waiter's).
        namespace: the namespace.
        interval: the LIST interval (the batched policy's, or the watch's fallback).
        idle_seconds: how long the feed lingers without waiters before closing.
        clock: the engine's clock (the first waiter's); the feed reads time and sleeps through it.
    """

    def __init__(
        self,
        hub: FeedHub[Any],
        key: Hashable,
        client: KubeClient,
        namespace: str,
        interval: float,
        idle_seconds: float,
        clock: Clock,
    ) -> None:
        self.hub = hub
        self.clock = clock
        self.key = key
        self.client = client
        self.namespace = namespace
        self.interval = interval
        self.idle_seconds = idle_seconds
        self.subscriptions: dict[str, list[Subscription]] = {}
        self.count = 0
        self.epoch = 0
        self.synced = False
        self.forbidden = False
        self.closed = False
        self.failures = 0
        self.last_ok: float | None = None
        self.streaming = False
        self.idle_since: float | None = self.clock.monotonic()
        self.lists = 0
        self.parked = 0
        """Subscriptions held by parked executions (a closed feed is kept until they are claimed)."""
        self.finished: dict[str, tuple[str | None, dict[str, JSON], float]] = {}
        """Jobs seen Complete or Failed and then deleted: name → (uid, final Job, when deleted)."""
        self.policy_name = ""
        self.how = ""
        """How the feed waits, in progress reports (set by the hub from its waiters' policy)."""
        self.reporting = False
        """Whether the periodic progress loop runs (only while some waiter's progress is followed)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client.endpoint}, {self.namespace!r}, waiters={self.count})"

    # -- subscribers -----------------------------------------------------------------------------

    def subscribe(self, name: str, uid: str | None, created_version: str | None = None) -> Subscription:
        """Add a waiter for the Job ``name`` (``uid`` when known).

        Args:
            name: the Job's name.
            uid: its uid, or None.
            created_version: its resourceVersion at creation, when known.
        """
        sub = Subscription(name, uid, self.epoch)
        finished = self.finished_job(name, uid)
        if finished is not None:
            # Seen finished and deleted before this waiter came: finished it is.
            sub.job = finished
        elif self.forbidden:
            sub.own_poll = True
        elif self.synced and not self.will_see(created_version):
            # The feed is past its LIST: what happened to this Job before now is
            # only known by reading it; later changes will reach the waiter.
            sub.check = True
        self.subscriptions.setdefault(name, []).append(sub)
        self.count += 1
        self.idle_since = None
        self.on_busy()
        return sub

    def claim_parked(self, name: str, uid: str | None, execution_arn: str) -> Subscription | None:
        """The subscription an execution parked on, taken back when it runs again.

        It kept receiving the feed while parked, so it needs no fresh read.
        """
        for sub in self.subscriptions.get(name, ()):
            if sub.parked and sub.parked_by == execution_arn and sub.uid == uid:
                sub.parked = False
                sub.parked_by = None
                sub.listen_off()
                self.parked -= 1
                return sub
        return None

    def park(self, sub: Subscription, execution_arn: str) -> None:
        """Mark ``sub`` as held by a parked execution (``claim_parked`` takes it back)."""
        if not sub.parked:
            self.parked += 1
        sub.parked = True
        sub.parked_by = execution_arn

    def unsubscribe(self, sub: Subscription) -> None:
        """Remove a waiter (it finished, failed or was cancelled)."""
        subs = self.subscriptions.get(sub.name)
        if subs is None or sub not in subs:
            return
        if sub.parked:
            sub.parked = False
            self.parked -= 1
        subs.remove(sub)
        if not subs:
            del self.subscriptions[sub.name]
        self.count -= 1
        if self.count == 0:
            self.idle_since = self.clock.monotonic()
            self.on_idle()

    def will_see(self, created_version: str | None) -> bool:
        """Whether every change of a Job created at ``created_version`` is still to come (subclasses)."""
        return False

    def on_busy(self) -> None:
        """Called when a waiter joins (subclasses cancel an idle countdown)."""

    def on_idle(self) -> None:
        """Called when the last waiter leaves (subclasses start an idle countdown)."""

    def all_subscriptions(self) -> list[Subscription]:
        """Every waiter (a snapshot)."""
        return [sub for subs in self.subscriptions.values() for sub in subs]

    def healthy(self, within: float) -> bool:
        """Whether a stream is open, or the feed heard from the API server in the last ``within`` seconds."""
        if self.streaming:
            return True
        return self.last_ok is not None and self.clock.monotonic() - self.last_ok <= within

    def ok(self) -> None:
        """Record a successful exchange with the API server."""
        self.failures = 0
        self.last_ok = self.clock.monotonic()

    # -- dispatch --------------------------------------------------------------------------------

    def deliver(self, job: Mapping[str, JSON]) -> None:
        """Hand one Job object to its waiters: terminal, or a uid that is not theirs, wakes them."""
        meta = job.get("metadata")
        if not isinstance(meta, dict):
            return
        name = meta.get("name")
        subs = self.subscriptions.get(name) if isinstance(name, str) else None
        if not subs:
            return
        uid = meta.get("uid")
        outcome = job_outcome(job)
        for sub in subs:
            if sub.uid is not None and isinstance(uid, str) and uid != sub.uid:
                sub.check = True
            elif outcome is not None and sub.job is None:
                sub.job = dict(job) if len(subs) == 1 else copy.deepcopy(dict(job))
            else:
                if sub.report is not None:
                    status = job_pods(job)
                    if status != sub.status:
                        sub.status = status
                        sub.report(self.progress_of(sub))
                continue
            sub.wake()

    def progress_of(self, sub: Subscription) -> dict[str, JSON]:
        """What ``sub``'s Task waits for and how, as ``ExecutorContext.report`` takes it."""
        return {
            "waitingFor": f"Job {self.namespace}/{sub.name}",
            "status": sub.status,
            "pollPolicy": self.policy_name,
            "how": self.how,
        }

    async def report_loop(self) -> None:
        """Every ``REPORT_SECONDS``, report each followed waiter's last status: a long wait stays visible.

        One loop per feed, not a timer per waiter; it ends when no followed waiter is left.
        """
        try:
            while not self.closed:
                await self.clock.sleep(REPORT_SECONDS)
                followed = [sub for sub in self.all_subscriptions() if sub.report is not None]
                if not followed:
                    return
                for sub in followed:
                    if sub.report is not None:
                        sub.report(self.progress_of(sub))
        finally:
            self.reporting = False

    def deliver_gone(self, job: Mapping[str, JSON]) -> None:
        """A Job was deleted: finished, its waiters get it; else they read it themselves.

        A deleted Job whose last state is ``Complete`` or ``Failed`` (or that was
        delivered so before) is finished, not lost: ``ttlSecondsAfterFinished: 0``
        deletes Jobs the moment they finish. Other waiters read the Job and get
        what the polling path gets (``EKS.404``, or a namesake's error).
        """
        meta = job.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        uid = meta.get("uid") if isinstance(meta, dict) else None
        if not isinstance(name, str):
            return
        terminal = job_outcome(job) is not None
        if terminal:
            self.remember_finished(name, uid if isinstance(uid, str) else None, job)
        subs = self.subscriptions.get(name, ())
        for sub in subs:
            if sub.uid is not None and isinstance(uid, str) and uid != sub.uid:
                continue
            if sub.job is not None:
                continue
            if terminal:
                sub.job = dict(job) if len(subs) == 1 else copy.deepcopy(dict(job))
            else:
                sub.check = True
            sub.wake()

    def remember_finished(self, name: str, uid: str | None, job: Mapping[str, JSON]) -> None:
        """Keep a finished, deleted Job for late waiters (bounded by time and count)."""
        now = self.clock.monotonic()
        finished = self.finished
        finished.pop(name, None)
        finished[name] = (uid, dict(job), now)
        while finished:
            oldest = next(iter(finished))
            if len(finished) <= FINISHED_KEEP_MAX and now - finished[oldest][2] <= FINISHED_KEEP_SECONDS:
                break
            del finished[oldest]

    async def confirm_gone(self, name: str, uid: str | None) -> dict[str, JSON] | None:
        """After a read found no Job ``name``: the finished Job the feed saw before its deletion, or None.

        A lister cannot know more than what it listed; the watch overrides this
        to let its stream catch up with the read first.
        """
        return self.finished_job(name, uid)

    def finished_job(self, name: str, uid: str | None) -> dict[str, JSON] | None:
        """A copy of the remembered finished Job ``name`` (with ``uid`` when known), or None."""
        entry = self.finished.get(name)
        if entry is None:
            return None
        known, job, when = entry
        if self.clock.monotonic() - when > FINISHED_KEEP_SECONDS:
            del self.finished[name]
            return None
        if uid is not None and known is not None and uid != known:
            return None
        return copy.deepcopy(job)

    def deliver_list(
        self,
        items: JSON,
        epoch: int,
        *,
        missing_means_check: bool,
        covered_only: bool = True,
        label_selected: bool = False,
    ) -> None:
        """Hand a LIST's items to the waiters.

        Args:
            items: the list's ``items``.
            epoch: the LIST's number; waiters who joined before it started are covered by it.
            missing_means_check: a waiter whose Job is not listed reads it itself.
            covered_only: ...only when it joined before the LIST started (the others
                wait for the next LIST); False checks every missing waiter.
            label_selected: the LIST was narrowed by label, so a Job with labels
                of its own may be missing while it exists.
        """
        seen: set[str] = set()
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict):
                meta = item.get("metadata")
                name = meta.get("name") if isinstance(meta, dict) else None
                if isinstance(name, str) and name in self.subscriptions:
                    seen.add(name)
                    self.deliver(item)
        if not missing_means_check:
            return
        for name, subs in self.subscriptions.items():
            if name in seen:
                continue
            for sub in subs:
                if sub.epoch < epoch or not covered_only:
                    sub.check = True
                    sub.suspect = label_selected
                    sub.wake()

    # -- listing ---------------------------------------------------------------------------------

    def selectors(self) -> tuple[str | None, str | None]:
        """``(label selector, field selector)`` for the next LIST: as narrow as cheap."""
        subs = self.all_subscriptions()
        names = {sub.name for sub in subs}
        if len(names) == 1:
            return None, f"metadata.name={next(iter(names))}"
        if len(subs) <= LABEL_SELECTOR_MAX and all(sub.uid is not None and not sub.unlisted for sub in subs):
            uids = sorted({str(sub.uid) for sub in subs})
            return f"{CONTROLLER_UID_LABEL} in ({','.join(uids)})", None
        return None, None

    async def list_once(self) -> None:
        """One LIST for the current waiters; their Jobs are delivered."""
        self.epoch += 1
        epoch = self.epoch
        labels, fields = self.selectors()
        self.lists += 1
        listing = await self.client.list_jobs(self.namespace, label_selector=labels, field_selector=fields)
        self.ok()
        self.deliver_list(listing.get("items"), epoch, missing_means_check=True, label_selected=labels is not None)

    # -- life cycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        """The feed's loop, until it is idle long enough, fails for good or is cancelled."""
        try:
            while not self.closed:
                if self.idle_expired():
                    self.close()
                    return
                try:
                    await self.round()
                except StatesError as exc:
                    await self.failed(exc)
                except anyio.get_cancelled_exc_class():
                    raise
                except Exception as exc:
                    log.exception("%r crashed; it starts again", self)
                    await self.failed(TaskFailed(None, f"Waiting on Jobs failed: {exc.__class__.__name__}"))
        finally:
            if not self.closed:
                self.close(TaskFailed(None, CLOSED_CAUSE))

    def idle_expired(self) -> bool:
        """No waiter for ``idle_seconds``."""
        return (
            self.count == 0
            and self.idle_since is not None
            and self.clock.monotonic() - self.idle_since >= self.idle_seconds
        )

    async def round(self) -> None:
        """One round of the loop: a LIST when someone waits, then the interval."""
        if self.count:
            await self.list_once()
        await self.clock.sleep(self.interval)

    async def failed(self, exc: StatesError) -> None:
        """Count a failed round; forbidden → per-waiter polling; too many → fail every waiter."""
        if exc.error == "EKS.403":
            log.warning("%r: listing Jobs is forbidden; the waiters poll their Jobs one by one", self)
            self.go_forbidden()
            await self.clock.sleep(FORBIDDEN_RETRY_SECONDS)
            self.close()
            return
        self.failures += 1
        log.info("%r: round failed (%d in a row): %s", self, self.failures, exc.error)
        if self.failures >= MAX_FEED_FAILURES:
            log.warning("%r: giving up after %d failures: %s", self, self.failures, exc.error)
            self.close(exc)
            return
        await self.clock.sleep(feed_backoff(self.failures, self.hub.rng))

    def go_forbidden(self) -> None:
        """Tell every waiter, present and future, to poll on its own."""
        self.forbidden = True
        for sub in self.all_subscriptions():
            sub.own_poll = True
            sub.wake()

    def close(self, error: StatesError | None = None) -> None:
        """Leave the hub; with ``error``, every remaining waiter fails with it."""
        self.closed = True
        self.hub.forget(self)
        if error is None:
            return
        for sub in self.all_subscriptions():
            sub.error = error
            sub.wake()


FeedT = TypeVar("FeedT", bound=JobFeed)


class FeedHub(Generic[FeedT]):
    """Feeds by key, created on demand and started in the services' task group.

    Args:
        background: the services' task group.
        rng: the random source of the feeds' backoff jitter (seeded from the engine).
        idle_seconds: how long a feed without waiters lingers.
    """

    def __init__(
        self, background: BackgroundTasks, rng: random.Random, *, idle_seconds: float = IDLE_SECONDS
    ) -> None:
        self._background = background
        self.rng = rng
        self.idle_seconds = idle_seconds
        self.feeds: dict[Hashable, FeedT] = {}
        self.closed: dict[Hashable, list[FeedT]] = {}
        """Closed feeds that parked executions still hold subscriptions of (their error is theirs)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(feeds={len(self.feeds)})"

    def make_feed(
        self, key: Hashable, client: KubeClient, namespace: str, policy: PollPolicy, clock: Clock
    ) -> FeedT:
        """Build the feed for ``key`` (subclasses)."""
        raise NotImplementedError

    def key_for(self, client: KubeClient, namespace: str, policy: PollPolicy) -> Hashable:
        """The feed key of a waiter."""
        return (*client.key, namespace)

    def how(self, policy: PollPolicy) -> str:
        """How this hub's feeds wait, in words for progress (subclasses)."""
        return "one shared reader per cluster and namespace"

    def forget(self, feed: FeedT) -> None:
        """Drop a closed feed (a newer one under the same key stays).

        While parked executions hold subscriptions of it, it is kept in ``closed``:
        each is woken with the feed's verdict and must find its subscription when it runs again.
        """
        if self.feeds.get(feed.key) is feed:
            del self.feeds[feed.key]
        if feed.parked:
            self.closed.setdefault(feed.key, []).append(feed)

    def claim_parked(self, key: Hashable, ctx: ExecutorContext, ref: JobRef) -> tuple[FeedT, Subscription] | None:
        """The feed and subscription an execution parked on, from the running feed or a closed one."""
        feed = self.feeds.get(key)
        sub = feed.claim_parked(ref.name, ref.uid, ctx.execution_arn) if feed is not None else None
        if feed is not None and sub is not None:
            return feed, sub
        old = self.closed.get(key)
        if old is None:
            return None
        for closed in old:
            sub = closed.claim_parked(ref.name, ref.uid, ctx.execution_arn)
            if sub is not None:
                if not closed.parked:
                    old.remove(closed)
                    if not old:
                        del self.closed[key]
                return closed, sub
        return None

    @property
    def waiters(self) -> int:
        """Waiters subscribed to every feed."""
        return sum(feed.count for feed in self.feeds.values())

    async def feed(self, client: KubeClient, namespace: str, policy: PollPolicy, clock: Clock) -> FeedT:
        """The running feed for a waiter, started when there is none."""
        key = self.key_for(client, namespace, policy)
        feed = self.feeds.get(key)
        if feed is None or feed.closed:
            feed = self.feeds[key] = self.make_feed(key, client, namespace, policy, clock)
            try:
                await self._background.start_soon(feed.run, name=repr(feed))
            except RuntimeError as exc:
                # Waiters who joined while it was starting fail with it.
                feed.close(TaskFailed(None, CLOSED_CAUSE))
                raise TaskFailed(None, CLOSED_CAUSE) from exc
        return feed

    async def wait(
        self, ctx: ExecutorContext, client: KubeClient, ref: JobRef, policy: PollPolicy
    ) -> dict[str, JSON]:
        """Wait for ``ref``'s Job to be ``Complete`` or ``Failed`` and return it.

        Args:
            ctx: the executor context (heartbeat, clock).
            client: the waiter's client.
            ref: the Job.
            policy: the waiter's policy (its delays pace per-waiter polling, where needed).

        Raises:
            StatesError: what the polling path raises (``EKS.404`` once deleted,
                ``States.TaskFailed`` for a namesake or an unreachable API server).
        """
        held = self.claim_parked(self.key_for(client, ref.namespace, policy), ctx, ref)
        if held is not None:
            feed, sub = held
        else:
            feed = await self.feed(client, ref.namespace, policy, ctx.clock)
            sub = feed.subscribe(ref.name, ref.uid, ref.resource_version)
        if ctx.report is not no_report:
            # Progress is followed (the command line): status changes and a periodic line, from the feed.
            sub.report = ctx.report
            if not feed.policy_name:
                feed.policy_name, feed.how = policy.name, self.how(policy)
            if not feed.reporting and not feed.closed:
                feed.reporting = True
                try:
                    await self._background.start_soon(feed.report_loop, name=f"{feed!r} progress")
                except RuntimeError:
                    feed.reporting = False
        keep = False
        try:
            return await wait_on_feed(ctx, client, ref, policy, feed, sub)
        except Parked:
            # The execution's task ends; the subscription stays, and wakes it through the engine.
            keep = True
            raise
        finally:
            if not keep:
                feed.unsubscribe(sub)


async def wait_on_feed(
    ctx: ExecutorContext,
    client: KubeClient,
    ref: JobRef,
    policy: PollPolicy,
    feed: JobFeed,
    sub: Subscription,
) -> dict[str, JSON]:
    """The waiter's side of a feed: sleep on ``sub`` and act on what the feed says.

    With HeartbeatSeconds, the waiter wakes every half of it and heartbeats
    while the feed is in touch with the API server.
    """
    transient = 0
    while True:
        if sub.error is not None:
            raise type(sub.error)(sub.error.error, sub.error.cause) from sub.error
        if sub.job is not None:
            ctx.heartbeat()
            return sub.job
        if sub.own_poll:
            return await _poll_alone(ctx, client, ref, policy)
        if sub.check:
            sub.check = False
            try:
                job = await read_job(client, ref)
            except StatesError as exc:
                finished = await feed.confirm_gone(ref.name, ref.uid) if exc.error == "EKS.404" else None
                if finished is not None:
                    return finished  # seen finished, then deleted before this read
                if not isinstance(exc, TransientEksError):
                    raise
                transient += 1
                if transient > MAX_CONSECUTIVE_TRANSIENT:
                    raise
                sub.check = True
                await ctx.clock.sleep(CHECK_BACKOFF_SECONDS * transient)
                continue
            transient = 0
            ctx.heartbeat()
            if job_outcome(job) is not None:
                return job
            # Still running: the stream reports the rest, so the waiter keeps no copy.
            del job
            if sub.suspect:
                # It exists but a label-selected LIST did not show it (its own labels replace the defaults).
                sub.unlisted = True
                sub.suspect = False
            continue
        beat = ctx.heartbeat_seconds
        if not beat:
            if ctx.park is not None:
                # Nothing to do until the feed speaks: release the execution's task.
                feed.park(sub, ctx.execution_arn)
                ctx.park(sub.listen)
            await sub.wait()
            continue
        with anyio.move_on_after(beat / 2):
            await sub.wait()
        if not sub.ready and feed.healthy(beat):
            ctx.heartbeat()


async def _poll_alone(ctx: ExecutorContext, client: KubeClient, ref: JobRef, policy: PollPolicy) -> dict[str, JSON]:
    async def probe() -> dict[str, JSON] | None:
        job = await read_job(client, ref)
        return job if job_outcome(job) is not None else None

    return await poll_until(ctx, policy, probe)


__all__ = [
    "CLOSED_CAUSE",
    "CONTROLLER_UID_LABEL",
    "FINISHED_KEEP_SECONDS",
    "IDLE_SECONDS",
    "LABEL_SELECTOR_MAX",
    "MAX_FEED_FAILURES",
    "FeedHub",
    "JobFeed",
    "Subscription",
    "feed_backoff",
    "wait_on_feed",
]
