"""``LazyRandom``: a seeded random source that costs nothing until something draws.

A ``random.Random`` carries ~2.5 KB of Mersenne Twister state and seeding it
costs tens of microseconds; most executions never draw. The proxy keeps only
the seed until the first draw, then delegates every call to a
``random.Random(seed)``, so the draws are exactly those of a seeded Random.
"""

from __future__ import annotations

import random
from typing import Any


class LazyRandom:
    """An execution's random source, created on first use.

    Args:
        seed: the seed of the ``random.Random`` made on the first draw (anything it takes).
    """

    __slots__ = ("_rng", "_seed")

    def __init__(self, seed: int | str | bytes) -> None:
        self._seed = seed
        self._rng: random.Random | None = None

    def _real(self) -> random.Random:
        rng = self._rng
        if rng is None:
            rng = self._rng = random.Random(self._seed)
        return rng

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)
