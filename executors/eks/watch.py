"""The ``watch`` policy: one list-then-watch per (cluster, namespace) for batch/v1 Jobs.

Shaped like kopf's ``queueing.py``: one stream per resource kind and place,
fanned out to per-object waiters, created on demand and dropped when idle.
Every runJob.sync of an engine waiting on Jobs in one namespace of one
cluster subscribes to the same ``JobWatch`` by Job name and uid, and sleeps
on its ``feeds.Subscription`` (no task of its own); the watch wakes it
when its Job reaches ``Complete`` or ``Failed``.

The stream follows the Kubernetes protocol:

1. LIST the namespace's Jobs: every waiter already subscribed gets its Job's
   state from it, and the list's resourceVersion is where watching starts.
2. WATCH from that resourceVersion with bookmarks; every event's
   resourceVersion (bookmarks included) is remembered.
3. When the stream ends (the server closed it: ``timeoutSeconds``, a cut),
   watch again from the last resourceVersion: nothing is listed again,
   nothing is missed.
4. When the server answers 410 Gone (the resourceVersion was compacted) or
   504 "Too large resource version" (a server that never issued it: one
   restarted without its state), go back to 1: the relist catches whatever
   changed in between.
5. When the connection broke or could not be made, go back to 1 as well, as
   client-go's reflector does: the server that answers next may not be the
   one that issued the resourceVersion (restarted, restored, failed over),
   and only a LIST tells which Jobs it still has. A Job missing from it makes
   its waiters read it, and a Job that is gone fails them with ``EKS.404``,
   as the polling path does.

Waiters who join while the stream runs read their Job once (the events
before they joined are not theirs to see); from then on the stream tells
them. A deleted Job, or a name taken by another Job, makes its waiters read
the Job themselves, which raises what the polling path raises — unless the
stream saw it ``Complete`` or ``Failed`` first: a Job seen finished is
finished, also when it is deleted right after (``ttlSecondsAfterFinished: 0``).
Such Jobs are remembered for ``feeds.FINISHED_KEEP_SECONDS`` so a waiter
that subscribes after the deletion gets them too.

Where watch is forbidden (403), the feed turns into the batched lister of
``feeds.JobFeed`` at the policy's fallback interval; where LIST is forbidden too,
each waiter polls its own Job. After ``feeds.MAX_FEED_FAILURES`` failed
rounds in a row the waiters fail with the last error. Without waiters, the
stream is closed after ``feeds.IDLE_SECONDS``.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Hashable
from typing import Final
from urllib.parse import quote

import anyio

from engine.errors import StatesError
from engine.jsonvalue import JSON, dumps_str
from engine.runtime.clock import Clock
from executors.eks.errors import TRANSPORT_ERRORS, kube_http_error
from executors.eks.feeds import FeedHub, JobFeed
from executors.eks.kube import KubeClient
from executors.eks.polling import WATCH_FALLBACK_SECONDS, PollPolicy, WatchPollPolicy

log = logging.getLogger(__name__)

CATCH_UP_SECONDS: Final = 3.0
"""How long a waiter whose Job is gone waits for the stream to reach the moment it looked (the
stream's position moves only with Job events and bookmarks, so this bounds the quiet case)."""
CATCH_UP_STEP_SECONDS: Final = 0.02
PREPARE_SECONDS: Final = 10.0
"""How long a runJob.sync waits for its namespace's watch to be listed before it creates its Job."""
WATCH_TIMEOUT_SECONDS: Final = 300
"""How long the server is asked to keep one stream open (kube-apiserver caps it at 30-60 min)."""
GONE: Final = 410
TOO_LARGE_RESOURCE_VERSION: Final = "ResourceVersionTooLarge"


def too_large_resource_version(exc: StatesError) -> bool:
    """Whether a Kubernetes error is apimachinery's "Too large resource version" (504 Timeout)."""
    cause = exc.cause or ""
    return exc.error == "EKS.504" and (TOO_LARGE_RESOURCE_VERSION in cause or "Too large resource version" in cause)


def broken_connection(exc: StatesError) -> bool:
    """Whether an error is a transport failure (no answer, or a stream that broke), not an answer."""
    return isinstance(exc.__cause__, TRANSPORT_ERRORS)


class JobWatch(JobFeed):
    """One namespace's Jobs, listed once and then watched (see the module docstring)."""

    def __init__(
        self,
        hub: FeedHub[JobWatch],
        key: Hashable,
        client: KubeClient,
        namespace: str,
        interval: float,
        idle_seconds: float,
        clock: Clock,
    ) -> None:
        super().__init__(hub, key, client, namespace, interval, idle_seconds, clock)
        self.resource_version: str | None = None
        self.listing_fallback = False
        self.watches = 0
        self.relists = 0
        self._scope: anyio.CancelScope | None = None

    @property
    def path(self) -> str:
        """The Jobs collection of the namespace."""
        return f"/apis/batch/v1/namespaces/{quote(self.namespace, safe='')}/jobs"

    def will_see(self, created_version: str | None) -> bool:
        """Whether the stream has not yet reached the Job's creation, so it will deliver all of it.

        resourceVersions are compared as numbers only when both are decimal
        integers (etcd's, and the simulator's); anything else means "read it".
        """
        current = self.resource_version
        if current is None or created_version is None:
            return False
        if not (current.isdecimal() and created_version.isdecimal()):
            return False
        return int(created_version) > int(current)

    async def confirm_gone(self, name: str, uid: str | None) -> dict[str, JSON] | None:
        """The Job was not found: let the stream reach the present, then say whether it saw the Job finish.

        A Job deleted as it finished (``ttlSecondsAfterFinished: 0``) may be gone
        before the stream delivers its last events; a LIST tells where "now"
        is, and the stream's events up to there tell whether it finished.
        """
        finished = self.finished_job(name, uid)
        if finished is not None or self.listing_fallback:
            return finished
        listing = await self.client.list_jobs(self.namespace, field_selector=f"metadata.name={name}")
        meta = listing.get("metadata")
        now = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if not isinstance(now, str) or not now.isdecimal():
            return None
        with anyio.move_on_after(CATCH_UP_SECONDS):
            while not self.closed and self.finished_job(name, uid) is None:
                current = self.resource_version
                if current is not None and current.isdecimal() and int(current) >= int(now):
                    break
                await self.clock.sleep(CATCH_UP_STEP_SECONDS)
        return self.finished_job(name, uid)

    def on_busy(self) -> None:
        if self._scope is not None:
            self._scope.deadline = math.inf

    def on_idle(self) -> None:
        if self._scope is not None:
            self._scope.deadline = self.clock.monotonic() + self.idle_seconds

    async def round(self) -> None:
        """List when the position is unknown, else watch until the stream ends."""
        if self.listing_fallback:
            await super().round()
            return
        if self.resource_version is None:
            await self.relist()
        await self.stream()

    async def relist(self) -> None:
        """LIST every Job of the namespace: deliver them, and start watching from the list's version."""
        self.synced = False
        self.epoch += 1
        epoch = self.epoch
        self.lists += 1
        self.relists += 1
        listing = await self.client.list_jobs(self.namespace)
        self.ok()
        meta = listing.get("metadata")
        version = meta.get("resourceVersion") if isinstance(meta, dict) else None
        # Waiters who joined while the LIST ran and are not in it have no later LIST
        # to wait for: they read their Job (it may have been created after the
        # snapshot, then the watch tells them the rest; or deleted before it).
        self.deliver_list(listing.get("items"), epoch, missing_means_check=True, covered_only=False)
        self.resource_version = version if isinstance(version, str) and version else None
        if self.resource_version is None:
            raise StatesError(None, "The Kubernetes API server listed Jobs without a resourceVersion")
        self.synced = True

    async def stream(self) -> None:
        """Watch from the last resourceVersion until the stream ends (or the feed is idle long enough)."""
        query = [("resourceVersion", str(self.resource_version)), ("allowWatchBookmarks", "true")]
        with anyio.CancelScope() as scope:
            self._scope = scope
            if self.count == 0:
                self.on_idle()
            try:
                self.watches += 1
                events = self.client.watch(
                    self.path, query=query, timeout_seconds=WATCH_TIMEOUT_SECONDS, on_open=self.opened
                )
                async with contextlib.aclosing(events):
                    async for event in events:
                        if not self.handle(event):
                            return
            except StatesError as exc:
                if exc.error == f"EKS.{GONE}" or too_large_resource_version(exc):
                    self.expired()
                    return
                if broken_connection(exc):
                    # Whoever answers next may not know this resourceVersion's Jobs: list again.
                    self.reconnecting()
                if exc.error == "EKS.403" and not self.listing_fallback:
                    log.warning("%r: watching Jobs is forbidden; listing them every %gs", self, self.interval)
                    self.listing_fallback = True
                    self.synced = False
                    return
                raise
            finally:
                self._scope = None
                self.streaming = False

    def opened(self) -> None:
        """The server accepted the watch."""
        self.ok()
        self.streaming = True

    def expired(self) -> None:
        """The position was compacted away (or never issued by this server): list again."""
        log.info("%r: resourceVersion %s expired; listing again", self, self.resource_version)
        self.resource_version = None
        self.synced = False

    def reconnecting(self) -> None:
        """The connection broke: the next round lists before it watches."""
        if self.resource_version is not None:
            log.info("%r: lost the connection; listing again once it is back", self)
        self.resource_version = None
        self.synced = False

    def handle(self, event: dict[str, JSON]) -> bool:
        """Act on one watch event; False when the stream must be left (expired)."""
        kind = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, dict):
            return True
        if kind == "ERROR":
            code = obj.get("code")
            if code == GONE:
                self.expired()
                return False
            status = code if isinstance(code, int) else 500
            if status == 504 and TOO_LARGE_RESOURCE_VERSION in dumps_str(obj):
                self.expired()
                return False
            raise kube_http_error(status, str(obj.get("reason") or ""), obj)
        meta = obj.get("metadata")
        version = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if isinstance(version, str) and version:
            self.resource_version = version
        if kind in ("ADDED", "MODIFIED"):
            self.deliver(obj)
        elif kind == "DELETED":
            self.deliver_gone(obj)
        elif kind != "BOOKMARK":
            log.debug("%r: ignoring a watch event of type %s", self, dumps_str(kind))
        return True


class JobWatches(FeedHub[JobWatch]):
    """The shared Job watches of one engine, by (cluster, namespace)."""

    def how(self, policy: PollPolicy) -> str:
        return "one shared watch per cluster and namespace"

    def make_feed(
        self, key: Hashable, client: KubeClient, namespace: str, policy: PollPolicy, clock: Clock
    ) -> JobWatch:
        fallback = policy.fallback_seconds if isinstance(policy, WatchPollPolicy) else WATCH_FALLBACK_SECONDS
        return JobWatch(self, key, client, namespace, fallback, self.idle_seconds, clock)

    async def prepare(self, client: KubeClient, namespace: str, policy: PollPolicy, clock: Clock) -> None:
        """Start the namespace's watch and let it list, before a Job is created there.

        Then the stream is behind the Job's creation and delivers all of it, also
        a Job that finishes and is deleted at once; a waiter that subscribed to a
        feed started only after its Job was gone could not tell it had finished.
        """
        feed = await self.feed(client, namespace, policy, clock)
        with anyio.move_on_after(PREPARE_SECONDS):
            # Polled: rare (only while the feed's first LIST runs), bounded, and the
            # flags change in several places that would each have to set an event.
            while not (feed.synced or feed.closed or feed.listing_fallback or feed.forbidden):
                await clock.sleep(CATCH_UP_STEP_SECONDS)

    @property
    def streams(self) -> int:
        """Open or reconnecting watch feeds."""
        return sum(1 for feed in self.feeds.values() if not feed.listing_fallback and not feed.forbidden)


__all__ = ["WATCH_TIMEOUT_SECONDS", "JobWatch", "JobWatches"]
