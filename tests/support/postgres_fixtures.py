"""Real PostgreSQL for the tests: fixtures of a pytest plugin that ``tests/conftest.py`` loads.

``postgres_url`` gives each test a fresh, empty database on the server that
``STATEWRIGHT_TEST_POSTGRES`` names (``.ci/run`` starts one and sets it);
when the variable is unset and PostgreSQL's binaries are installed, the
session starts a throwaway cluster of its own. With neither, the tests skip —
except under ``CI``, where a missing PostgreSQL is a failure, never a skip.

``own_postgres`` is a cluster of the test session's own (TLS on, with a
certificate from a throwaway authority): the fault tests stop and start it,
which they must never do to a server that CI or a user handed in.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import trustme

from tests.support.postgres import Cluster, PostgresUnavailable, find_binaries

ENV: str = "STATEWRIGHT_TEST_POSTGRES"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _new_cluster(tls: tuple[Path, Path] | None = None) -> Cluster:
    if find_binaries() is None:
        _unavailable(f"no PostgreSQL: set {ENV} or install the server (apt install postgresql)")
    # Not under pytest's tmp_path: as root the cluster belongs to the postgres user, who must reach it.
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="statewright-pg-")))
    try:
        cluster.create(tls=tls)
        cluster.start()
    except (PostgresUnavailable, RuntimeError):
        shutil.rmtree(cluster.folder, ignore_errors=True)
        raise
    return cluster


def _drop(cluster: Cluster) -> None:
    try:
        if cluster.running():
            cluster.stop("immediate")
    finally:
        shutil.rmtree(cluster.folder, ignore_errors=True)


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database (superuser)."""
    url = os.environ.get(ENV)
    if url:
        yield url
        return
    cluster = _new_cluster()
    try:
        yield cluster.url
    finally:
        _drop(cluster)


def fresh_database(server: str) -> Iterator[str]:
    name = f"sw_{uuid.uuid4().hex[:16]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(server, name)
    finally:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped after it."""
    yield from fresh_database(postgres_server)


@dataclass
class OwnPostgres:
    """A cluster this module may stop and start; ``ca_file`` verifies its TLS certificate."""

    cluster: Cluster
    ca_file: Path

    @property
    def url(self) -> str:
        return self.cluster.url


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[OwnPostgres]:
    ca = trustme.CA()
    folder = Path(tempfile.mkdtemp(prefix="statewright-pg-tls-"))
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_pem.write_to_path(str(folder / "server.key"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "server.crt"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cluster = _new_cluster(tls=(folder / "server.crt", folder / "server.key"))
    try:
        yield OwnPostgres(cluster, folder / "ca.pem")
    finally:
        _drop(cluster)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def own_postgres_url(own_postgres: OwnPostgres) -> Iterator[str]:
    """A fresh database on the module's own cluster (started again if a test left it stopped)."""
    if not own_postgres.cluster.running():
        own_postgres.cluster.start()
    yield from fresh_database(own_postgres.url)
