"""Per-cluster client-side rate limiting and the retry rule of Kubernetes requests.

Every request to a cluster's API server goes through ``KubeClient``, and
``KubeClient`` takes a token from the cluster's ``TokenBucket`` before each
attempt, so one engine never sends a cluster more than its QPS (with bursts up
to ``burst``) however many executions wait on it. The bucket is shared per API
server origin by ``RateLimits``, one per ``EksServices``.

The bucket *reserves* instead of queueing: ``acquire`` takes a token at once,
letting the balance go negative, and sleeps for the debt. That needs no lock,
no background task and no queue, keeps arrival order (each caller's debt is
computed when it arrives), and costs one float update per request.

The retry rule (``RetryRule``) is client-go's: a 429 is retried after the
server's ``Retry-After`` (the request was refused before being processed, so
every method may be retried); 5xx answers and broken connections are retried
with full-jitter exponential backoff, but only for idempotent reads (GET,
HEAD), because a POST whose connection broke may have been applied.

The rate is set by the engine-wide executor options ``eks_kube_qps`` (default
50) and ``eks_kube_burst`` (default 100), read once (``options.EksOptions``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from engine.runtime.clock import Clock, SystemClock

QPS_OPTION: Final = "eks_kube_qps"
BURST_OPTION: Final = "eks_kube_burst"
DEFAULT_QPS: Final = 50.0
DEFAULT_BURST: Final = 100
MAX_RETRY_AFTER_SECONDS: Final = 60.0
"""A server asking for a longer pause gets this one; the request is then tried again."""
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD"})


class TokenBucket:
    """A token bucket: ``qps`` tokens a second, at most ``burst`` saved up.

    Args:
        qps: the sustained rate, > 0.
        burst: how many requests may go at once after a quiet spell, ≥ 1.
        clock: the engine's clock: time is read and waited out through it (virtual time works).
    """

    __slots__ = ("_burst", "_clock", "_qps", "_stamp", "_tokens")

    def __init__(self, qps: float, burst: int, clock: Clock | None = None) -> None:
        _check(qps, burst)
        self._qps = float(qps)
        self._burst = float(burst)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._tokens = float(burst)
        self._stamp: float | None = None

    def __repr__(self) -> str:
        return f"TokenBucket(qps={self._qps:g}, burst={self._burst:g})"

    @property
    def qps(self) -> float:
        """The sustained rate."""
        return self._qps

    @property
    def burst(self) -> int:
        """The bucket's size."""
        return int(self._burst)

    def configure(self, qps: float, burst: int) -> None:
        """Change rate and size; tokens saved so far are kept (up to the new size)."""
        _check(qps, burst)
        if self._stamp is not None:
            self._refill()
        self._qps, self._burst = float(qps), float(burst)
        self._tokens = min(self._tokens, self._burst)

    def _refill(self) -> None:
        now = self._clock.monotonic()
        if self._stamp is not None:
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._qps)
        self._stamp = now

    def reserve(self) -> float:
        """Take one token now and return how long to wait before using it (0 when one was saved)."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self._qps

    async def acquire(self) -> None:
        """Take one token, sleeping until it is due (a cancel point only when it must wait)."""
        delay = self.reserve()
        if delay > 0:
            await self.wait_reserved(delay)

    async def wait_reserved(self, delay: float) -> None:
        """Sleep ``delay`` (from ``reserve``); a cancelled wait gives its token back."""
        try:
            await self._clock.sleep(delay)
        except BaseException:
            # Cancelled while waiting: the token was not used, give it back.
            self._tokens = min(self._burst, self._tokens + 1.0)
            raise


def _check(qps: float, burst: int) -> None:
    if not math.isfinite(qps) or qps <= 0:
        raise ValueError(f"the Kubernetes request rate must be a positive number of requests a second, not {qps!r}")
    if burst < 1:
        raise ValueError(f"the Kubernetes request burst must be at least 1, not {burst!r}")


class RateLimits:
    """One ``TokenBucket`` per API server origin, all with the same settings.

    Args:
        qps: requests a second per cluster.
        burst: the bucket size per cluster.
        clock: the engine's clock, for every bucket.
    """

    def __init__(self, qps: float = DEFAULT_QPS, burst: int = DEFAULT_BURST, clock: Clock | None = None) -> None:
        _check(qps, burst)
        self._qps, self._burst = float(qps), burst
        self.clock: Clock = clock if clock is not None else SystemClock()
        """The clock of buckets created from now on (the engine's, once an executor runs)."""
        self._buckets: dict[str, TokenBucket] = {}

    def __repr__(self) -> str:
        return f"RateLimits(qps={self._qps:g}, burst={self._burst}, clusters={len(self._buckets)})"

    @property
    def settings(self) -> tuple[float, int]:
        """``(qps, burst)`` in force."""
        return self._qps, self._burst

    def bucket(self, origin: str) -> TokenBucket:
        """The bucket of one API server (created on first use)."""
        bucket = self._buckets.get(origin)
        if bucket is None:
            bucket = self._buckets[origin] = TokenBucket(self._qps, self._burst, self.clock)
        return bucket

    def configure(self, qps: float, burst: int) -> None:
        """Change the settings of every cluster's bucket, present and future."""
        if (float(qps), burst) == (self._qps, self._burst):
            return
        _check(qps, burst)
        self._qps, self._burst = float(qps), burst
        for bucket in self._buckets.values():
            bucket.configure(qps, burst)


@dataclass(frozen=True, slots=True)
class RetryRule:
    """When and how long to wait before trying a Kubernetes request again.

    Attributes:
        max_attempts: tries in all, the first included.
        base_seconds: the first backoff's ceiling; doubles per attempt.
        cap_seconds: the largest backoff ceiling.
    """

    max_attempts: int = 5
    base_seconds: float = 0.2
    cap_seconds: float = 5.0

    def retryable(self, method: str, status: int | None) -> bool:
        """Whether an answer (``status``) or a broken connection (None) may be tried again."""
        if status == 429:
            return True
        return method in IDEMPOTENT_METHODS

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff before try ``attempt + 1`` (``attempt`` counts from 0)."""
        ceiling = min(self.cap_seconds, self.base_seconds * (2**attempt))
        return rng.uniform(0.0, ceiling)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The ``Retry-After`` delay in seconds (the delta form Kubernetes sends), capped; None when absent."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER_SECONDS)


DEFAULT_RETRY: Final = RetryRule()

__all__ = [
    "BURST_OPTION",
    "DEFAULT_BURST",
    "DEFAULT_QPS",
    "DEFAULT_RETRY",
    "QPS_OPTION",
    "RateLimits",
    "RetryRule",
    "TokenBucket",
    "retry_after_seconds",
]
