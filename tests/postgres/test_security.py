"""The database URL's password stays secret; TLS is used, and verified, when the URL asks for it."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from engine import Engine, ExecutorRegistry
from engine.store import StoreError, open_store
from engine.store.postgres import PostgresStore
from tests.support.postgres_fixtures import OwnPostgres, with_database

PASS_CHAIN = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Result": {"ok": True}, "Next": "B"},
        "B": {"Type": "Fail", "Error": "Planned", "Cause": "to see the error path too"},
    },
}


def password_of(url: str) -> str:
    password = urlsplit(url).password
    assert password
    return password


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{quote(password)}@{parts.hostname}:{parts.port}"))


async def test_the_password_appears_nowhere_a_user_sees(postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    secret = password_of(postgres_url)
    caplog.set_level(logging.DEBUG)
    store = open_store(postgres_url)
    async with Engine(load_plugins=False, registry=ExecutorRegistry(), store=store) as engine:
        result = await engine.run(PASS_CHAIN, {"in": 1})
        await store.flush()
        described = await store.get_execution(result.execution_arn)
        history = await store.history(result.execution_arn)
    assert result.status == "FAILED"
    assert described is not None
    seen = [
        store.url,
        repr(store),
        str(described.describe()),
        str([e.to_aws() for e in history]),
        caplog.text,
    ]
    assert all(secret not in text for text in seen)
    assert store.url == f"postgresql://statewright@{urlsplit(postgres_url).netloc.split('@')[1]}/{urlsplit(postgres_url).path[1:]}"


async def test_a_wrong_password_is_one_line_naming_the_host_and_the_cause(postgres_url: str) -> None:
    wrong = with_password(postgres_url, "not-it-$ecret")
    store = PostgresStore(wrong)
    with pytest.raises(StoreError) as caught:
        await store.open()
    message = str(caught.value)
    host = f"{urlsplit(postgres_url).hostname}:{urlsplit(postgres_url).port}"
    assert message == f"cannot connect to PostgreSQL at {host}: password authentication failed"
    assert "not-it" not in message and password_of(postgres_url) not in message


async def test_nobody_listening_is_a_clear_error(postgres_url: str) -> None:
    from tests.support.postgres import free_port

    port = free_port()
    store = PostgresStore(f"postgresql://someone:hunter2@127.0.0.1:{port}/db")
    with pytest.raises(StoreError, match=rf"^cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused"):
        await store.open()


async def test_a_missing_database_is_named(postgres_url: str) -> None:
    store = PostgresStore(with_database(postgres_url, "no_such_db"))
    with pytest.raises(StoreError, match="the database 'no_such_db' does not exist"):
        await store.open()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sslmode=prefer", "sslmode=prefer may fall back"),
        ("sslmode=allow", "sslmode=allow may fall back"),
        ("sslmode=sometimes", "unknown sslmode"),
        ("sslrootcert=/ca.pem", "sslrootcert given without sslmode"),
        ("sslmode=verify-full&sslrootcert=/no/such/ca.pem", "cannot load the TLS files"),
    ],
)
def test_tls_options_that_would_not_verify_are_refused(query: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as caught:
        PostgresStore(f"postgresql://u:topsecret@db.example:5432/d?{query}")
    assert "topsecret" not in str(caught.value)


async def test_the_store_speaks_verified_tls_when_the_url_asks(own_postgres_url: str, own_postgres: OwnPostgres) -> None:
    url = f"{own_postgres_url}?sslmode=verify-full&sslrootcert={own_postgres.ca_file}"
    store = PostgresStore(url)
    async with Engine(load_plugins=False, registry=ExecutorRegistry(), store=store) as engine:
        result = await engine.run({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {})
        encrypted = await store._query(
            lambda conn: conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        )
    assert result.status == "SUCCEEDED"
    assert encrypted is True


async def test_a_server_certificate_nobody_trusts_is_refused(own_postgres_url: str) -> None:
    store = PostgresStore(f"{own_postgres_url}?sslmode=require")
    with pytest.raises(StoreError, match="the server's TLS certificate is not trusted"):
        await store.open()
