"""The EKS client honours boto3's standard retry configuration, with the executor's defaults beneath it.

A loopback server answers every request with a 500 (a retryable error) and
counts them: the number of requests one DescribeCluster sends is the number of
attempts botocore made. ``AWS_MAX_ATTEMPTS`` and the config file's
``max_attempts`` / ``retry_mode`` must win over the executor's defaults
(standard mode, 5 attempts), which apply only where they say nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from engine.errors import StatesError
from executors.eks.services import EKS_RETRY_MODE, EKS_TOTAL_MAX_ATTEMPTS, EksServices


@pytest.fixture
async def failing_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[list[str]]:
    """A loopback EKS endpoint answering 500 to everything; yields the paths it was asked for."""
    seen: list[str] = []

    async def fail(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response(
            {"message": "boom"}, status=500, headers={"x-amzn-ErrorType": "ServerException"}
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fail)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    for name in ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # An empty config file: nothing of the machine's own ~/.aws/config applies; tests may write one.
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    yield seen
    await runner.cleanup()


async def describe_once() -> dict[str, object]:
    """One DescribeCluster through fresh services; returns the client's retry settings."""
    services = EksServices.default()
    try:
        client = await services.eks_client()
        with pytest.raises(Exception) as failure:
            await client.describe_cluster(name="c1")
        assert not isinstance(failure.value, StatesError)
        assert "500" in str(failure.value) or "ServerException" in str(failure.value), failure.value
        return dict(client.meta.config.retries)
    finally:
        await services.aclose()


async def test_aws_max_attempts_sets_the_number_of_tries(
    failing_endpoint: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    retries = await describe_once()
    assert len(failing_endpoint) == 2
    assert retries == {"mode": EKS_RETRY_MODE, "total_max_attempts": 2}


async def test_aws_max_attempts_of_one_makes_a_single_try(
    failing_endpoint: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    await describe_once()
    assert len(failing_endpoint) == 1


async def test_the_config_file_sets_mode_and_tries(failing_endpoint: list[str], tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[default]\nretry_mode = adaptive\nmax_attempts = 2\n")
    retries = await describe_once()
    assert len(failing_endpoint) == 2
    assert retries == {"mode": "adaptive", "total_max_attempts": 2}


async def test_aws_retry_mode_wins_over_the_default_mode(
    failing_endpoint: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    retries = await describe_once()
    assert len(failing_endpoint) == 1
    assert retries == {"mode": "legacy", "total_max_attempts": 1}


async def test_without_configuration_the_executor_defaults_apply(
    failing_endpoint: list[str],
) -> None:
    services = EksServices.default()
    try:
        client = await services.eks_client()
        # The settings only: waiting out five tries' backoff against the endpoint would take seconds.
        assert dict(client.meta.config.retries) == {
            "mode": "standard",
            "total_max_attempts": EKS_TOTAL_MAX_ATTEMPTS,
        }
    finally:
        await services.aclose()
