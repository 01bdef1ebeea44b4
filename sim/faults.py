"""Seeded fault injection shared by every simulator.

A :class:`FaultConfig` says, as fractions of requests, how often a server answers
429 (with ``Retry-After``), 500, 503 or drops the connection, how much latency it
adds, and after how long it cuts watch streams. A :class:`FaultInjector` draws
from one ``random.Random`` seeded by the config, so a benchmark or a test that
sends the same requests in the same order sees the same faults. The injector
only decides; each server shapes the answer (a Kubernetes ``Status`` object, an
AWS error document) because clients parse those differently.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass


class Fault(enum.Enum):
    """One injected failure of a single request."""

    THROTTLE = 429
    INTERNAL_ERROR = 500
    UNAVAILABLE = 503
    DROP = 0


@dataclass(frozen=True)
class FaultConfig:
    """What to inject, as fractions of requests (each between 0 and 1, summing to at most 1).

    Attributes:
        seed: seed of the random generator that decides which requests fail.
        throttle_rate: fraction answered 429 TooManyRequests with ``Retry-After``.
        error_rate: fraction answered 500 InternalError.
        unavailable_rate: fraction answered 503 ServiceUnavailable.
        drop_rate: fraction whose connection is closed without an answer.
        retry_after_seconds: the ``Retry-After`` value sent with 429.
        latency_seconds: fixed delay added before every answer.
        latency_jitter_seconds: extra uniformly random delay, 0 to this value.
        watch_cut_seconds: when set, watch streams end after this many seconds.
    """

    seed: int = 0
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    unavailable_rate: float = 0.0
    drop_rate: float = 0.0
    retry_after_seconds: int = 1
    latency_seconds: float = 0.0
    latency_jitter_seconds: float = 0.0
    watch_cut_seconds: float | None = None

    @classmethod
    def evenly(
        cls, rate: float, *, seed: int = 0, drop_rate: float = 0.0, watch_cut_seconds: float | None = None
    ) -> FaultConfig:
        """``rate`` of requests failed, split evenly between 429, 500 and 503 (``--fault-rate``)."""
        third = rate / 3
        return cls(
            seed=seed,
            throttle_rate=third,
            error_rate=third,
            unavailable_rate=rate - 2 * third,
            drop_rate=drop_rate,
            watch_cut_seconds=watch_cut_seconds,
        )

    def __post_init__(self) -> None:
        rates = (self.throttle_rate, self.error_rate, self.unavailable_rate, self.drop_rate)
        if any(rate < 0 or rate > 1 for rate in rates) or sum(rates) > 1:
            raise ValueError("fault rates must each lie in [0, 1] and sum to at most 1")
        if self.latency_seconds < 0 or self.latency_jitter_seconds < 0 or self.retry_after_seconds < 0:
            raise ValueError("latency and retry_after_seconds must not be negative")
        if self.watch_cut_seconds is not None and self.watch_cut_seconds <= 0:
            raise ValueError("watch_cut_seconds must be positive when set")


class FaultInjector:
    """Decides, request by request, which fault (if any) to inject.

    Args:
        config: the fault rates and delays.
    """

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._random = random.Random(config.seed)
        self._thresholds: tuple[tuple[float, Fault], ...] = self._cumulative(config)

    @staticmethod
    def _cumulative(config: FaultConfig) -> tuple[tuple[float, Fault], ...]:
        total = 0.0
        thresholds = []
        for rate, fault in (
            (config.throttle_rate, Fault.THROTTLE),
            (config.error_rate, Fault.INTERNAL_ERROR),
            (config.unavailable_rate, Fault.UNAVAILABLE),
            (config.drop_rate, Fault.DROP),
        ):
            if rate > 0:
                total += rate
                thresholds.append((total, fault))
        return tuple(thresholds)

    def next_fault(self) -> Fault | None:
        """Return the fault for the next request, or None to answer it normally."""
        if not self._thresholds:
            return None
        draw = self._random.random()
        for threshold, fault in self._thresholds:
            if draw < threshold:
                return fault
        return None

    def next_delay(self) -> float:
        """Return the latency to add to the next request, in seconds."""
        delay = self.config.latency_seconds
        if self.config.latency_jitter_seconds:
            delay += self._random.uniform(0.0, self.config.latency_jitter_seconds)
        return delay
