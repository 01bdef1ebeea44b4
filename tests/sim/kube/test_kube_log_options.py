"""PodLogOptions' sinceTime is RFC 3339, read by the simulators' one parser."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from sim.kube.api.logs import log_options
from sim.kube.errors import KubeError


def test_since_time_is_read_as_rfc3339_with_its_offset_and_fraction() -> None:
    utc = log_options(MultiDict(sinceTime="2026-11-25T05:14:29Z"), "p")
    offset = log_options(MultiDict(sinceTime="2026-11-25T07:14:29.000000000+02:00"), "p")

    assert utc.since_time == offset.since_time == 1795583669.0


def test_a_since_time_without_a_zone_is_a_bad_request() -> None:
    with pytest.raises(KubeError, match="invalid sinceTime"):
        log_options(MultiDict(sinceTime="2026-11-25T05:14:29"), "p")
