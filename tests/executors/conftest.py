"""Fixtures shared by the executor tests.

* ``aws_env`` — fake static credentials and a Region in the environment, and
  nothing else from the machine's AWS configuration (no profile, no config file).
* ``moto_endpoint`` — a moto server on 127.0.0.1 (port 0) serving EKS and STS
  for the whole session; moto makes resources ACTIVE immediately. aiobotocore
  cannot use moto's in-process mock, so the executors reach it over HTTP
  through ``AWS_ENDPOINT_URL_EKS`` / ``_STS``, exactly as they reach AWS.
* ``moto_env`` — ``aws_env`` pointed at the moto server.
* ``make_ctx`` — builds an ``ExecutorContext`` with a fast poll policy and
  records heartbeats, emitted events and saved handles.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from engine.executor import ExecutorContext
from engine.jsonvalue import JSON

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


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server for EKS and STS, shared by the session (use unique names)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_env(
    aws_env: Mapping[str, str], moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Mapping[str, str]:
    """``aws_env`` with EKS and STS served by the moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_endpoint)
    return {**aws_env, "AWS_ENDPOINT_URL_EKS": moto_endpoint, "AWS_ENDPOINT_URL_STS": moto_endpoint}


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
