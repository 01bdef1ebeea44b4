"""The test PostgreSQL itself: a fresh database per test, a password that is checked, TLS on request."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.support.postgres_fixtures import OwnPostgres


async def test_each_test_gets_an_empty_database_of_its_own(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url)
    try:
        name = await conn.fetchval("SELECT current_database()")
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        await conn.execute("CREATE TABLE mine (x int)")
    finally:
        await conn.close()
    assert name.startswith("sw_")
    assert tables == 0


async def test_the_server_checks_the_password(postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    wrong = urlunsplit(parts._replace(netloc=f"{parts.username}:not-the-password@{parts.hostname}:{parts.port}"))
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(wrong)


async def test_the_own_cluster_speaks_tls_with_a_verified_certificate(own_postgres: OwnPostgres) -> None:
    context = ssl.create_default_context(cafile=str(own_postgres.ca_file))
    conn = await asyncpg.connect(own_postgres.url, ssl=context)
    try:
        used = await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()
    assert used is True
    # A certificate from an authority nobody trusts is refused.
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncpg.connect(own_postgres.url, ssl=ssl.create_default_context())
