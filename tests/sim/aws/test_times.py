"""The simulators' two wire timestamp formats: X-Amz-Date and RFC 3339."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.aws.times import (
    TimestampError,
    format_amz_date,
    parse_amz_date,
    parse_rfc3339,
    rfc3339_epoch,
)

MOMENTS = st.datetimes(
    min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9998, 12, 31), timezones=st.just(dt.UTC)
).map(lambda moment: moment.replace(microsecond=0))


@given(moment=MOMENTS)
def test_both_formats_parse_back_what_they_format(moment: dt.datetime) -> None:
    assert parse_amz_date(format_amz_date(moment)) == moment
    assert parse_rfc3339(moment.strftime("%Y-%m-%dT%H:%M:%SZ")) == moment
    assert rfc3339_epoch(moment.strftime("%Y-%m-%dT%H:%M:%SZ")) == moment.timestamp()


def test_x_amz_date_is_parsed_strictly_as_go_time_parse_does() -> None:
    assert parse_amz_date("20261125T051429Z") == dt.datetime(2026, 11, 25, 5, 14, 29, tzinfo=dt.UTC)
    for bad in (
        "2026112T051429Z",
        "20261125T051429",
        "20261125 051429Z",
        "20261325T051429Z",
        "\uff12\uff10261125T051429Z",
    ):
        with pytest.raises(TimestampError, match="YYYYMMDDTHHMMSSZ"):
            parse_amz_date(bad)


def test_rfc3339_takes_fractions_and_offsets_as_kubernetes_does() -> None:
    assert rfc3339_epoch("1970-01-01T00:00:10Z") == 10.0
    assert parse_rfc3339("2026-11-25T05:14:29.5Z") == dt.datetime(
        2026, 11, 25, 5, 14, 29, 500000, tzinfo=dt.UTC
    )
    assert parse_rfc3339("2026-11-25T07:14:29+02:00") == dt.datetime(2026, 11, 25, 5, 14, 29, tzinfo=dt.UTC)
    for bad in ("2026-11-25", "2026-11-25T05:14:29", "2026-13-25T05:14:29Z", "yesterday"):
        with pytest.raises(TimestampError):
            parse_rfc3339(bad)
