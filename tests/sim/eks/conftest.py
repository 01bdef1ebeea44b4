"""Fixtures for the EKS/STS simulator tests: the ``simulators`` stack and aioboto3 clients bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aioboto3
import pytest
from botocore.config import Config

from sim.stack import Simulators
from sim.testing import simulators, simulators_options

__all__ = ["simulators", "simulators_options"]

ClientFactory = Callable[..., AbstractAsyncContextManager[Any]]


@pytest.fixture
def aws_client(simulators: Simulators) -> ClientFactory:
    """Make aioboto3 clients for the simulators' EKS or STS, verifying TLS with the simulators' CA.

    Call as ``async with aws_client("eks") as eks:``; keyword arguments override
    the default identity's keys (``access_key_id``, ``secret_access_key``) or
    pass a botocore ``config``.
    """

    def make(
        service: str,
        *,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        config: Config | None = None,
    ) -> AbstractAsyncContextManager[Any]:
        session = aioboto3.Session(
            aws_access_key_id=access_key_id or simulators.access_key_id,
            aws_secret_access_key=secret_access_key or simulators.secret_access_key,
            region_name=simulators.region,
        )
        url = simulators.eks_url if service == "eks" else simulators.sts_url
        client: AbstractAsyncContextManager[Any] = session.client(
            service,
            endpoint_url=url,
            verify=simulators.ca_bundle_path,
            config=config or Config(retries={"max_attempts": 1}),
        )
        return client

    return make


@pytest.fixture
async def eks(aws_client: ClientFactory) -> AsyncIterator[Any]:
    """An aioboto3 EKS client signed by the default identity."""
    async with aws_client("eks") as client:
        yield client
