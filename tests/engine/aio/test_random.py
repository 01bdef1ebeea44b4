"""LazyRandom: the draws of a seeded Random, without its cost until the first draw."""

from __future__ import annotations

import random

from engine.aio.random import LazyRandom


def test_draws_are_exactly_those_of_a_random_with_the_same_seed() -> None:
    lazy, real = LazyRandom(1234), random.Random(1234)
    assert [lazy.random() for _ in range(5)] == [real.random() for _ in range(5)]
    assert lazy.getrandbits(64) == real.getrandbits(64)
    assert lazy.uniform(0.0, 3.0) == real.uniform(0.0, 3.0)


def test_nothing_is_seeded_until_something_draws() -> None:
    lazy = LazyRandom(7)
    assert lazy._rng is None
    lazy.random()
    assert isinstance(lazy._rng, random.Random)


def test_different_seeds_give_different_draws() -> None:
    assert LazyRandom(1).getrandbits(64) != LazyRandom(2).getrandbits(64)
