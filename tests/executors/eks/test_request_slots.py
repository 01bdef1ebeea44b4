"""KubeConnections keeps one set of request slots per API server, sized like its pool."""

from __future__ import annotations

import pytest

from executors.eks.auth import KubeConnections


@pytest.mark.parametrize("size", [1, 32])
def test_one_server_has_one_set_of_slots_sized_like_its_pool(size: int) -> None:
    connections = KubeConnections(limit_per_host=size)
    a = connections.request_slots("https://127.0.0.1:6443", "Q0E=")
    assert a is connections.request_slots("https://127.0.0.1:6443/", "Q0E=")
    assert a is not connections.request_slots("https://127.0.0.1:6444", "Q0E=")
    assert a.free == size
