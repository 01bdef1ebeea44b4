"""The EKS executors' options: one frozen, documented object, validated once.

Options reach an executor as ``ExecutorContext.options``: the engine's
``executor_options``, with ``resource_options`` and ``state_options`` merged
over them (``engine.Engine``). Every name the EKS executors read is a field of
``EksOptions`` (the table ``OPTIONS`` maps names to fields):

=============================  ===========================================================
``poll_policy``                how ``.sync`` waits poll (``polling``): a ``PollPolicy`` or a
                               spec string; runJob.sync waits by ``watch``, control-plane
                               waits by ``aws`` when none is set
``eks_kube_qps``               requests a second to one cluster's API server (default 50)
``eks_kube_burst``             the burst of that rate (default 100)
``cleanup``                    ``never``, ``aborted-task`` (default) or ``execution`` (``cleanup``)
``cleanup_timeout_seconds``    how long an execution's cleanup may wait (default 3600)
``eks_cancel_on_abort``        false: an aborted Task leaves what it was creating
                               (the ``never`` policy, kept for older configurations)
``eks_sdk_metadata``           control-plane results carry ``SdkHttpMetadata`` /
                               ``SdkResponseMetadata`` (default true)
``eks_timestamp_format``       ``epoch_millis`` (default), ``epoch_seconds`` or ``iso8601``
``durable_store``              set by the engine when its store is durable (``recovery``)
=============================  ===========================================================

``EksOptions.parse`` checks a mapping once and says what is wrong with the
option's name: an unknown ``eks_`` name (a misspelling) or a bad value is a
``ValueError``. The engine asks for that check when it is built
(``EksExecutor.check_options``, the executor protocol's ``OptionsChecker``), so
a bad option stops the engine before anything runs; executors then resolve the
merged options once per (resource, state) — the engine shares one merged
mapping per pair — and never look at a string key again.

The per-cluster rate limit (``eks_kube_qps`` / ``eks_kube_burst``) is
engine-wide by nature (one bucket per API server, shared by every execution):
it is taken from the engine-wide options once, not from each state's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from executors.eks.params import TIMESTAMP_FORMATS, TimestampFormat
from executors.eks.polling import POLL_POLICY_OPTION, PollPolicy, parse_poll_policy
from executors.eks.ratelimit import BURST_OPTION, DEFAULT_BURST, DEFAULT_QPS, QPS_OPTION

Policy = Literal["never", "aborted-task", "execution"]
"""A cleanup policy (``cleanup``)."""

NEVER: Final = "never"
ABORTED_TASK: Final = "aborted-task"
EXECUTION: Final = "execution"
POLICIES: Final[tuple[Policy, ...]] = (NEVER, ABORTED_TASK, EXECUTION)

CLEANUP_OPTION: Final = "cleanup"
CLEANUP_TIMEOUT_OPTION: Final = "cleanup_timeout_seconds"
CANCEL_ON_ABORT_OPTION: Final = "eks_cancel_on_abort"
SDK_METADATA_OPTION: Final = "eks_sdk_metadata"
TIMESTAMP_FORMAT_OPTION: Final = "eks_timestamp_format"
DURABLE_OPTION: Final = "durable_store"
DEFAULT_CLEANUP_TIMEOUT_SECONDS: Final = 3600.0

OPTIONS: Final[Mapping[str, str]] = {
    POLL_POLICY_OPTION: "poll_policy",
    QPS_OPTION: "kube_qps",
    BURST_OPTION: "kube_burst",
    CLEANUP_OPTION: "cleanup",
    CLEANUP_TIMEOUT_OPTION: "cleanup_timeout_seconds",
    CANCEL_ON_ABORT_OPTION: "cancel_on_abort",
    SDK_METADATA_OPTION: "sdk_metadata",
    TIMESTAMP_FORMAT_OPTION: "timestamp_format",
    DURABLE_OPTION: "durable_store",
}
"""Every option name the EKS executors read, and the ``EksOptions`` field it fills."""
ENGINE_WIDE_OPTIONS: Final = frozenset({QPS_OPTION, BURST_OPTION})
"""Options that hold for the whole engine (one rate limit per API server), never per resource or state."""
OWN_PREFIX: Final = "eks_"
"""Names with this prefix belong to the EKS executors: one they do not know is a misspelling."""


@dataclass(frozen=True, slots=True)
class EksOptions:
    """The executor options of one (resource, state), checked (see the module docstring).

    Attributes:
        poll_policy: the ``poll_policy`` option, parsed; None when not set (each
            resource then waits by its own default).
        kube_qps: ``eks_kube_qps``, or None when not set.
        kube_burst: ``eks_kube_burst``, or None when not set.
        cleanup: the cleanup policy (``cleanup``; ``never`` when ``eks_cancel_on_abort``
            is false and ``cleanup`` is not set).
        cleanup_timeout_seconds: ``cleanup_timeout_seconds``.
        cancel_on_abort: ``eks_cancel_on_abort``.
        sdk_metadata: ``eks_sdk_metadata``.
        timestamp_format: ``eks_timestamp_format``.
        durable_store: ``durable_store`` (the engine's store is durable).
    """

    poll_policy: PollPolicy | None = None
    kube_qps: float | None = None
    kube_burst: int | None = None
    cleanup: Policy = ABORTED_TASK
    cleanup_timeout_seconds: float = DEFAULT_CLEANUP_TIMEOUT_SECONDS
    cancel_on_abort: bool = True
    sdk_metadata: bool = True
    timestamp_format: TimestampFormat = "epoch_millis"
    durable_store: bool = False

    @classmethod
    def parse(cls, options: Mapping[str, object]) -> EksOptions:
        """Check ``options`` and build the object.

        Names the EKS executors do not read are left to other executors, except
        those starting with ``eks_``, which are theirs: an unknown one is refused.

        Raises:
            ValueError: an unknown ``eks_`` option or a bad value, naming the option.
        """
        for name in options:
            if name.startswith(OWN_PREFIX) and name not in OPTIONS:
                known = ", ".join(sorted(n for n in OPTIONS if n.startswith(OWN_PREFIX)))
                raise ValueError(f"unknown executor option {name!r}: the EKS options are {known}")
        cancel = _boolean(options, CANCEL_ON_ABORT_OPTION, True)
        return cls(
            poll_policy=_poll_policy(options.get(POLL_POLICY_OPTION)),
            kube_qps=_qps(options.get(QPS_OPTION)),
            kube_burst=_burst(options.get(BURST_OPTION)),
            cleanup=_cleanup(options.get(CLEANUP_OPTION), cancel),
            cleanup_timeout_seconds=_timeout(options.get(CLEANUP_TIMEOUT_OPTION, DEFAULT_CLEANUP_TIMEOUT_SECONDS)),
            cancel_on_abort=cancel,
            sdk_metadata=_boolean(options, SDK_METADATA_OPTION, True),
            timestamp_format=_timestamp_format(options.get(TIMESTAMP_FORMAT_OPTION, "epoch_millis")),
            durable_store=options.get(DURABLE_OPTION) is True,
        )

    @property
    def rate_limits(self) -> tuple[float, int] | None:
        """``(qps, burst)`` when either option is set (the other at its default), else None."""
        if self.kube_qps is None and self.kube_burst is None:
            return None
        qps = DEFAULT_QPS if self.kube_qps is None else self.kube_qps
        burst = DEFAULT_BURST if self.kube_burst is None else self.kube_burst
        return qps, burst

    def poll_policy_or(self, default: PollPolicy) -> PollPolicy:
        """The chosen poll policy, or ``default`` when none is."""
        return self.poll_policy if self.poll_policy is not None else default


DEFAULTS: Final = EksOptions()
"""The options when none is set."""
RESOLVED_MAX: Final = 1024
"""Merged option mappings whose ``EksOptions`` are kept (one per resource and state in practice)."""


class ResolvedOptions:
    """``EksOptions`` per merged options mapping, parsed once.

    The engine merges the options of a (resource, state) once and hands every
    call the same mapping, so keying by the mapping's identity resolves each
    pair once; the mapping is held alongside, so its identity is not reused.
    """

    __slots__ = ("_by_id",)

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Mapping[str, object], EksOptions]] = {}

    def __repr__(self) -> str:
        return f"ResolvedOptions(resolved={len(self._by_id)})"

    def get(self, options: Mapping[str, object]) -> EksOptions:
        """The checked options of ``options`` (parsed on first sight).

        Raises:
            ValueError: as ``EksOptions.parse``.
        """
        found = self._by_id.get(id(options))
        if found is not None and found[0] is options:
            return found[1]
        resolved = EksOptions.parse(options) if options else DEFAULTS
        if len(self._by_id) >= RESOLVED_MAX:
            self._by_id.clear()
        self._by_id[id(options)] = (options, resolved)
        return resolved


def _poll_policy(value: object) -> PollPolicy | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_poll_policy(value)
    if isinstance(value, PollPolicy):
        return value
    raise ValueError(f"the {POLL_POLICY_OPTION!r} option must be a PollPolicy or a spec string")


def _qps(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"the executor option {QPS_OPTION!r} must be a positive number, not {value!r}")
    return float(value)


def _burst(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"the executor option {BURST_OPTION!r} must be a positive integer, not {value!r}")
    return value


def _cleanup(value: object, cancel_on_abort: bool) -> Policy:
    if value is None:
        return ABORTED_TASK if cancel_on_abort else NEVER
    for policy in POLICIES:
        if value == policy:
            return policy
    raise ValueError(f"The executor option {CLEANUP_OPTION!r} must be one of {', '.join(POLICIES)}")


def _timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"The executor option {CLEANUP_TIMEOUT_OPTION!r} must be a positive number")
    return float(value)


def _boolean(options: Mapping[str, object], name: str, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"The executor option {name!r} must be true or false")
    return value


def _timestamp_format(value: object) -> TimestampFormat:
    for known in TIMESTAMP_FORMATS:
        if value == known:
            return known
    allowed = ", ".join(TIMESTAMP_FORMATS)
    raise ValueError(f"The executor option {TIMESTAMP_FORMAT_OPTION!r} must be one of {allowed}")


__all__ = [
    "ABORTED_TASK",
    "CANCEL_ON_ABORT_OPTION",
    "CLEANUP_OPTION",
    "CLEANUP_TIMEOUT_OPTION",
    "DEFAULTS",
    "DURABLE_OPTION",
    "ENGINE_WIDE_OPTIONS",
    "EXECUTION",
    "NEVER",
    "OPTIONS",
    "POLICIES",
    "SDK_METADATA_OPTION",
    "TIMESTAMP_FORMAT_OPTION",
    "EksOptions",
    "Policy",
    "ResolvedOptions",
]
