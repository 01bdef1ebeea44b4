"""``UuidFactory``: version-4 UUIDs, reproducible from a seed."""

from __future__ import annotations

import random
import uuid

from engine.aio.ids import UuidFactory


def test_ids_are_version_4_uuids_of_the_rfc_4122_variant() -> None:
    ids = UuidFactory(random.Random(1))
    for _ in range(200):
        text = ids()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_the_same_seed_gives_the_same_ids_and_another_seed_others() -> None:
    first = [UuidFactory(random.Random(7))() for _ in range(1)] + [UuidFactory(random.Random(7))()]
    assert first[0] == first[1]
    a, b = UuidFactory(random.Random(7)), UuidFactory(random.Random(8))
    assert [a() for _ in range(5)] != [b() for _ in range(5)]


def test_ids_from_one_factory_differ() -> None:
    ids = UuidFactory(random.Random(3))
    assert len({ids() for _ in range(1000)}) == 1000
