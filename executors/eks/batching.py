"""The ``batched:SECONDS`` policy: one LIST per (cluster, namespace) every SECONDS, for every waiter.

``JobLister`` is the base ``feeds.JobFeed`` as it is: each round lists the
Jobs of the waiters (narrowed by name or controller uid where that is cheap)
and delivers them; ``JobBatches`` keeps one lister per (cluster, namespace,
interval), so the cost is one request per interval whatever the number of
waiters.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from engine.errors import TaskFailed
from engine.runtime.clock import Clock
from executors.eks.feeds import FeedHub, JobFeed
from executors.eks.kube import KubeClient
from executors.eks.polling import PollPolicy


class JobLister(JobFeed):
    """The ``batched:SECONDS`` feed: one LIST per interval (see the module docstring)."""


class JobBatches(FeedHub[JobLister]):
    """Batched listers, one per (cluster, namespace, interval)."""

    def key_for(self, client: KubeClient, namespace: str, policy: PollPolicy) -> Hashable:
        return (*client.key, namespace, _interval(policy))

    def how(self, policy: PollPolicy) -> str:
        return f"one shared list per cluster and namespace every {_interval(policy):g} s"

    def make_feed(
        self, key: Hashable, client: KubeClient, namespace: str, policy: PollPolicy, clock: Clock
    ) -> JobLister:
        interval = _interval(policy)
        return JobLister(self, key, client, namespace, interval, max(self.idle_seconds, 2 * interval), clock)


def _interval(policy: PollPolicy) -> float:
    first = next(iter(policy.delays()), None)
    if first is None or not math.isfinite(first) or first <= 0:
        raise TaskFailed(None, f"the poll policy {policy.name} has no positive interval for shared waiting")
    return first


__all__ = ["JobBatches", "JobLister"]
