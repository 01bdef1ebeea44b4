"""Resource ARN → executor.

A Task's ``Resource`` names a service integration
(``arn:aws:states:::SERVICE:ACTION`` plus an optional pattern suffix) or a
plain ARN (a Lambda function, an activity). The registry maps the ARN without
its suffix to an executor and the patterns it supports. Third-party packages
register through the entry-point group ``statewright.executors``: each entry
point is a callable taking the registry, so ``Engine()`` finds the EKS
executors without the engine importing them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Final

import anyio

from engine.executor import ExecutionCleaner, Executor, IntegrationPattern

ENTRY_POINT_GROUP: Final = "statewright.executors"
SERVICE_ARN_PREFIX: Final = "arn:aws:states:::"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ParsedResource:
    """A Resource ARN split into its parts."""

    resource: str
    base: str
    service: str
    action: str
    pattern: IntegrationPattern


@functools.lru_cache(maxsize=1024)
def parse_resource(resource: str) -> ParsedResource:
    """Split a Resource ARN into base, service, action and pattern.

    ``arn:aws:states:::eks:runJob.sync`` → base ``arn:aws:states:::eks:runJob``,
    service ``eks``, action ``runJob``, pattern SYNC. Other ARNs
    (``arn:aws:lambda:…:function:f``) keep the whole ARN as base, the ARN's
    service as service and request-response as pattern.
    """
    pattern = IntegrationPattern.REQUEST_RESPONSE
    base = resource
    for p in (IntegrationPattern.SYNC, IntegrationPattern.WAIT_FOR_TASK_TOKEN):
        if resource.endswith(p.suffix):
            pattern = p
            base = resource[: -len(p.suffix)]
            break
    if base.startswith(SERVICE_ARN_PREFIX):
        rest = base[len(SERVICE_ARN_PREFIX) :]
        service, _, action = rest.partition(":")
        return ParsedResource(resource, base, service, action, pattern)
    parts = base.split(":")
    service = parts[2] if len(parts) > 2 else ""
    action = parts[5] if len(parts) > 5 else ""
    return ParsedResource(resource, base, service, action, pattern)


@dataclass(frozen=True, slots=True)
class Registration:
    """An executor registered for one resource base."""

    base: str
    executor: Executor
    patterns: frozenset[IntegrationPattern]


class UnknownResource(LookupError):
    """No executor serves a Resource, or not with that pattern."""


class ExecutorRegistry:
    """Maps Resource ARNs to executors.

    Exact bases (``arn:aws:states:::eks:runJob``) are looked up first, then
    prefixes (``arn:aws:lambda:``), longest first.
    """

    def __init__(self) -> None:
        self._exact: dict[str, Registration] = {}
        self._prefixes: list[Registration] = []
        self.version = 0
        """Changes with every registration, so users of the registry can cache what they derive from it."""
        self._cleaners: tuple[int, list[ExecutionCleaner]] | None = None

    def register(
        self,
        resource: str,
        executor: Executor,
        *,
        patterns: Iterable[IntegrationPattern] = (IntegrationPattern.REQUEST_RESPONSE,),
    ) -> None:
        """Serve ``resource`` (an ARN without pattern suffix) with ``executor``.

        A later registration for the same resource replaces the earlier one,
        so applications can override built-in executors.
        """
        self._exact[resource] = Registration(resource, executor, frozenset(patterns))
        self.version += 1

    def register_prefix(
        self,
        prefix: str,
        executor: Executor,
        *,
        patterns: Iterable[IntegrationPattern] = (IntegrationPattern.REQUEST_RESPONSE,),
    ) -> None:
        """Serve every resource whose base starts with ``prefix``."""
        self._prefixes = [r for r in self._prefixes if r.base != prefix]
        self._prefixes.append(Registration(prefix, executor, frozenset(patterns)))
        self._prefixes.sort(key=lambda r: -len(r.base))
        self.version += 1

    def unregister(self, resource: str) -> None:
        """Forget an exact registration (no error when absent)."""
        self._exact.pop(resource, None)
        self.version += 1

    def lookup(self, resource: str) -> tuple[ParsedResource, Registration]:
        """Find the executor for a Resource ARN.

        Raises:
            UnknownResource: nothing serves it, or not with its pattern; the
                message says which, for the validator to report.
        """
        parsed = parse_resource(resource)
        reg = self._exact.get(parsed.base)
        if reg is None:
            for candidate in self._prefixes:
                if parsed.base.startswith(candidate.base):
                    reg = candidate
                    break
        if reg is None:
            raise UnknownResource(f"no executor is registered for resource {resource!r}")
        if parsed.pattern not in reg.patterns:
            name = parsed.pattern.suffix or "request-response"
            raise UnknownResource(f"resource {parsed.base!r} does not support the {name} integration pattern")
        return parsed, reg

    def __iter__(self) -> Iterator[Registration]:
        yield from self._exact.values()
        yield from self._prefixes

    async def aclose(self, *, each_seconds: float = 5.0) -> None:
        """Close every registered executor that has an ``aclose`` (its clients, pools, watches).

        Shielded and bounded per executor: a stuck close cannot hold the engine's exit.
        """
        for reg in self:
            close = getattr(reg.executor, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True), anyio.move_on_after(each_seconds):
                    await close()

    def cleaners(self) -> list[ExecutionCleaner]:
        """The registered executors that clean up after executions, each once (cached per version)."""
        cached = self._cleaners
        if cached is not None and cached[0] == self.version:
            return cached[1]
        found: dict[int, ExecutionCleaner] = {}
        for reg in self:
            if isinstance(reg.executor, ExecutionCleaner):
                found.setdefault(id(reg.executor), reg.executor)
        self._cleaners = (self.version, list(found.values()))
        return self._cleaners[1]

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Let every installed plugin in ``group`` register its executors.

        A plugin that fails to load is logged and skipped: one broken package
        must not stop the engine.
        """
        for ep in entry_points(group=group):
            try:
                hook: Callable[[ExecutorRegistry], None] = ep.load()
                hook(self)
            except Exception:
                log.exception("executor plugin %r failed to load", ep.name)
