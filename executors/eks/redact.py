"""Secrets out of the log records the EKS executors' clients write.

botocore logs every request at DEBUG ("Sending http request: <AWSPreparedRequest
… headers={'X-Amz-Security-Token': b'…', 'Authorization': b'AWS4-HMAC-SHA256
Credential=…, Signature=…'}>"), and its signer logs the canonical request of
the presigned STS call that is the EKS bearer token, session token included.
A user who turns on DEBUG logging must not find credentials in their logs.

``install()`` puts ``RedactingFilter`` on every logger of the libraries the
executors talk through (botocore, aiobotocore, boto3, urllib3, aiohttp,
kubernetes-asyncio, our own) that exists then, and on the handlers of the
root logger, so records of loggers created later are redacted where they are
written. It is idempotent and called whenever ``EksServices`` is built.

What is redacted: the values of ``X-Amz-Security-Token``, ``Authorization``,
``X-Amz-Signature`` / ``Signature``, bearer tokens and ``k8s-aws-v1.`` tokens,
``SecretAccessKey`` / ``SessionToken`` fields (JSON, XML, Python reprs), and the
exact values of ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN`` found in
the environment (or passed to ``add_secret``), wherever they appear.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Final

REDACTED: Final = "<redacted>"
LOGGER_PREFIXES: Final = (
    "botocore",
    "aiobotocore",
    "boto3",
    "aioboto3",
    "urllib3",
    "aiohttp",
    "kubernetes_asyncio",
    "executors",
)
SECRET_ENVIRONMENT: Final = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
_MIN_SECRET_LENGTH: Final = 8

_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # Header or query values: 'X-Amz-Security-Token': b'…' / X-Amz-Security-Token=… / "Authorization": "…".
    (
        re.compile(
            r"""(?i)((?:x-amz-security-token|authorization|x-amz-signature|x-amz-credential)"""
            r"""['"]?\s*[:=]\s*(?!b?['"]?<redacted>)b?['"]?)([^'"&\s,}>]+(?:[ ][^'"&,}>]+)*)"""
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)\b(signature=)([0-9a-f]{16,})"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(bearer\s+)(?!<redacted>)([A-Za-z0-9._~+/=-]+)"), r"\1" + REDACTED),
    (re.compile(r"k8s-aws-v1\.(?!<redacted>)[A-Za-z0-9_=-]+"), "k8s-aws-v1." + REDACTED),
    # Credential fields in JSON, XML or reprs (STS answers, botocore's parsed responses).
    (
        re.compile(
            r"""(?i)(['"]?(?:aws_)?(?:secret_?access_?key|session_?token|security_?token)['"]?\s*[:=]\s*"""
            r"""(?!b?['"]?<redacted>)b?['"]?)([^'"\s,}<]+)"""
        ),
        r"\1" + REDACTED,
    ),
    (
        re.compile(r"(?i)(<(SecretAccessKey|SessionToken)>)(?!<redacted>)([^<]+)(</\2>)"),
        r"\1" + REDACTED + r"\4",
    ),
)

_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Redact this exact value (a key or token) from every record from now on."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every secret replaced by ``<redacted>``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with its secrets redacted (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: leave it to the handler
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER: Final = RedactingFilter()


def _attach(target: logging.Filterer) -> None:
    if _FILTER not in target.filters:
        target.addFilter(_FILTER)


def install() -> None:
    """Attach the filter to the clients' loggers and the root logger's handlers (idempotent)."""
    for name in SECRET_ENVIRONMENT:
        add_secret(os.environ.get(name))
    for prefix in LOGGER_PREFIXES:
        _attach(logging.getLogger(prefix))
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.startswith(tuple(p + "." for p in LOGGER_PREFIXES)):
            _attach(logger)
    for handler in logging.getLogger().handlers:
        _attach(handler)


__all__ = ["REDACTED", "RedactingFilter", "add_secret", "install", "redact"]
