"""Where the PostgreSQL store connects: its URL, TLS, and what a connection failure means.

``Target.parse`` splits a ``postgresql://`` URL into the DSN handed to asyncpg
(password included) and the name every log line and error uses (password
never included). TLS is verified whenever it is asked for; ``TRANSIENT`` lists
the failures that are retried rather than reported, and ``describe_failure``
words the others for a user.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import asyncpg

from engine.store.base import StoreError

SCHEMES: Final = ("postgresql", "postgres")

#: What a lost or refused connection looks like: retried, never a store failure.
TRANSIENT: Final = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now (starting up)
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections
    asyncpg.exceptions.TransactionRollbackError,  # deadlock or serialization failure: run it again
)

#: What asyncpg raises on a connection the server ended between two statements (a shutdown,
#: ``pg_terminate_backend``): the server's FATAL arrived while asyncpg expected no message, and
#: the connection refuses every later statement ("cannot switch to state ...; another operation
#: is in progress") until asyncpg reads the end of the stream. Such a connection is never used
#: again; what ran on it is run again on another.
ENDED_BETWEEN_STATEMENTS: Final = asyncpg.InternalClientError


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed ``postgresql://`` URL: what to connect to, and how to name it without its password."""

    dsn: str  # for asyncpg only: password included, TLS options removed
    display: str  # postgresql://USER@HOST:PORT/DB
    where: str  # HOST:PORT
    user: str
    database: str
    tls: ssl.SSLContext | bool

    @classmethod
    def parse(cls, url: str) -> Target:
        """Raises StoreError (naming no password) for a URL that is not a usable PostgreSQL URL."""
        try:
            parts = urlsplit(url)
            port = parts.port or 5432
        except ValueError as exc:
            raise StoreError(
                f"not a PostgreSQL URL ({exc}): expected postgresql://USER@HOST:PORT/DB"
            ) from None
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise StoreError("not a PostgreSQL URL: expected postgresql://USER@HOST:PORT/DB")
        user = unquote(parts.username or "") or os.environ.get("PGUSER", "") or "postgres"
        database = unquote(parts.path.lstrip("/")) or user
        host = parts.hostname
        where = f"{host}:{port}"
        display = f"postgresql://{user}@{where}/{database}"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        tls = _tls_context(query, display)
        rest = urlencode({k: v for k, v in query.items() if not k.startswith("ssl")})
        dsn = urlunsplit(parts._replace(scheme="postgresql", query=rest))
        return cls(dsn, display, where, user, database, tls)


def _tls_context(query: dict[str, str], display: str) -> ssl.SSLContext | bool:
    mode = query.get("sslmode", "disable")
    if mode == "disable":
        for key in ("sslrootcert", "sslcert", "sslkey"):
            if key in query:
                raise StoreError(f"{display}: {key} given without sslmode=require/verify-ca/verify-full")
        return False
    if mode in ("prefer", "allow"):
        raise StoreError(
            f"{display}: sslmode={mode} may fall back to an unverified or plain connection; "
            "use sslmode=verify-full (or require) with sslrootcert, or sslmode=disable"
        )
    if mode not in ("require", "verify-ca", "verify-full"):
        raise StoreError(f"{display}: unknown sslmode {mode!r}")
    root = query.get("sslrootcert")
    try:
        context = ssl.create_default_context(cafile=root) if root else ssl.create_default_context()
        # verify-ca checks the chain, not the name; require is verified fully (TLS is never unverified).
        context.check_hostname = mode != "verify-ca"
        if "sslcert" in query:
            context.load_cert_chain(query["sslcert"], query.get("sslkey"))
    except (OSError, ssl.SSLError) as exc:
        raise StoreError(f"{display}: cannot load the TLS files ({exc})") from None
    return context


def describe_failure(exc: BaseException) -> str:
    """What went wrong, in words a user can act on (asyncpg's messages never hold the password)."""
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return "password authentication failed"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the server's TLS certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is PostgreSQL running there?)"
    if isinstance(exc, OSError) and "Connect call failed" in str(exc):
        return "connection refused (is PostgreSQL running there?)"
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, ENDED_BETWEEN_STATEMENTS):
        return "the server ended the connection"
    if isinstance(exc, asyncpg.PostgresError):
        return exc.args[0] if exc.args else type(exc).__name__
    return str(exc) or type(exc).__name__
