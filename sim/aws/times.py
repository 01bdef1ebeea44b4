"""The two timestamp formats on the simulators' wires, each parsed in one place; the default clock.

* ``X-Amz-Date`` (``20261125T051429Z``): the ISO 8601 basic form SigV4 signs and
  presigned URLs carry. Parsed strictly, digit by digit, as Go's
  ``time.Parse("20060102T150405Z", …)`` in aws-iam-authenticator does: a short
  field or a missing ``Z`` is refused, never guessed.
* RFC 3339 at second precision (``2026-11-25T05:14:29Z``): what Kubernetes puts
  in ``creationTimestamp``, Job conditions and ``sinceTime``. Fractional
  seconds and a numeric offset are accepted, as Kubernetes' ``metav1.Time``
  does. (The Kubernetes simulator formats its own stamps in ``sim.kube.store``,
  cached per second.)

:func:`utc_now` is the simulators' default clock (an aware UTC datetime).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

AMZ_DATE_FORMAT: Final = "%Y%m%dT%H%M%SZ"

_AMZ_DATE_RE: Final = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$", re.ASCII)
_RFC3339_RE: Final = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$",
    re.ASCII,
)


class TimestampError(ValueError):
    """A timestamp does not have the form its protocol requires."""


def utc_now() -> dt.datetime:
    """The current time as an aware UTC datetime (the simulators' default clock)."""
    return dt.datetime.now(dt.UTC)


def parse_amz_date(value: str) -> dt.datetime:
    """Parse an ``X-Amz-Date`` value (``YYYYMMDDTHHMMSSZ``) into an aware UTC datetime.

    Raises:
        TimestampError: the value does not have that form or names no real moment.
    """
    # A regular expression and int(): strptime costs more than the whole signature check.
    match = _AMZ_DATE_RE.match(value)
    if match is None:
        raise TimestampError("X-Amz-Date must have the form YYYYMMDDTHHMMSSZ.")
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:
        raise TimestampError("X-Amz-Date must have the form YYYYMMDDTHHMMSSZ.") from None


def format_amz_date(moment: dt.datetime) -> str:
    """Format an aware datetime as ``X-Amz-Date``."""
    return moment.astimezone(dt.UTC).strftime(AMZ_DATE_FORMAT)


def parse_rfc3339(value: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime.

    Raises:
        TimestampError: the value is not RFC 3339 or names no real moment.
    """
    match = _RFC3339_RE.match(value)
    if match is None:
        raise TimestampError(f"{value!r} is not an RFC 3339 timestamp")
    year, month, day, hour, minute, second, fraction, _zulu, sign, off_hours, off_minutes = match.groups()
    offset = dt.timedelta(0)
    if sign is not None:
        offset = dt.timedelta(hours=int(off_hours), minutes=int(off_minutes))
        if sign == "-":
            offset = -offset
    try:
        moment = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0").ljust(6, "0")[:6]),
            tzinfo=dt.timezone(offset),
        )
    except ValueError:
        raise TimestampError(f"{value!r} is not an RFC 3339 timestamp") from None
    return moment.astimezone(dt.UTC)


def rfc3339_epoch(value: str) -> float:
    """Epoch seconds of an RFC 3339 timestamp.

    Raises:
        TimestampError: the value is not RFC 3339.
    """
    return parse_rfc3339(value).timestamp()
