"""Fixtures shared by the executor tests.

* ``aws_env`` — fake static credentials and a Region in the environment, and
  nothing else from the machine's AWS configuration (no profile, no config file).
* ``simulators`` / ``simulators_options`` — the EKS + STS + Kubernetes
  simulators (from ``sim.testing``), fresh per test.
* ``sim_env`` — the environment ``simulators.env()`` gives, so the executors
  reach the simulators through boto3's standard configuration
  (``AWS_ENDPOINT_URL_EKS`` / ``_STS``, ``AWS_CA_BUNDLE``), exactly as they reach AWS.
* ``eks_executor`` — an ``EksExecutor`` built under ``sim_env``, closed afterwards.
* ``make_ctx`` — builds an ``ExecutorContext`` with a fast poll policy and
  records heartbeats, emitted events and saved handles.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from engine.executor import ExecutorContext
from engine.jsonvalue import JSON
from executors.eks import EksExecutor
from executors.eks.services import EksServices
from sim.stack import Simulators
from sim.testing import simulators, simulators_options

__all__ = ["Recorder", "simulators", "simulators_options"]

FAKE_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-west-2"

_AWS_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_EKS",
    "AWS_ENDPOINT_URL_STS",
    "AWS_CA_BUNDLE",
)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Mapping[str, str]:
    """Fake credentials and a Region, isolated from the machine's AWS setup."""
    for name in _AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    env = {
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def sim_env(
    aws_env: Mapping[str, str], simulators: Simulators, monkeypatch: pytest.MonkeyPatch
) -> Mapping[str, str]:
    """``aws_env`` replaced by what ``simulators.env()`` says (EKS, STS, CA bundle, identity)."""
    env = simulators.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
async def eks_executor(sim_env: Mapping[str, str]) -> AsyncIterator[EksExecutor]:
    """An ``EksExecutor`` on boto3's standard configuration, pointed at the simulators by ``sim_env``."""
    executor = EksExecutor(EksServices.default())
    try:
        yield executor
    finally:
        await executor.aclose()


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Names that do not collide on a shared server: ``unique_name("c")`` → ``c-1a2b3c4d``."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Recorder:
    """What an executor reported through its context."""

    heartbeats: int = 0
    events: list[tuple[str, Mapping[str, JSON]]] = field(default_factory=list)
    handles: list[JSON] = field(default_factory=list)

    def heartbeat(self) -> None:
        self.heartbeats += 1

    def emit(self, event_type: str, details: Mapping[str, JSON]) -> None:
        self.events.append((event_type, details))

    def save_handle(self, handle: JSON) -> None:
        self.handles.append(handle)


@pytest.fixture
def recorder() -> Recorder:
    """Records heartbeats, events and handles of contexts built by ``make_ctx``."""
    return Recorder()


@pytest.fixture
def make_ctx(recorder: Recorder) -> Callable[..., ExecutorContext]:
    """``make_ctx(poll_policy="fixed:0", **fields)`` → an ExecutorContext wired to ``recorder``."""

    def make(
        poll_policy: object = "fixed:0", options: Mapping[str, object] | None = None, **kw: Any
    ) -> ExecutorContext:
        merged: dict[str, object] = {"poll_policy": poll_policy}
        merged.update(options or {})
        fields: dict[str, Any] = {
            "execution_arn": "arn:aws:states:us-west-2:123456789012:execution:sm:run",
            "execution_name": "run",
            "state_machine_arn": "arn:aws:states:us-west-2:123456789012:stateMachine:sm",
            "state_name": "Task",
            "heartbeat": recorder.heartbeat,
            "emit": recorder.emit,
            "save_handle": recorder.save_handle,
            "options": merged,
        }
        fields.update(kw)
        return ExecutorContext(**fields)

    return make
