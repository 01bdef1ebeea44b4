"""``UuidFactory``: version-4 UUID strings drawn from an injected random source.

Execution names and express ARNs are random UUIDs; drawing them from a
seeded ``random.Random`` (never ``uuid.uuid4``) keeps a seeded engine's runs
reproducible. The string is formatted directly: ``uuid.UUID``'s validation
costs more than the rest of starting an execution's record.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class UuidFactory:
    """Call it for the next UUID string (``xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx``).

    Attributes:
        rng: the random source (a new unseeded one by default).
    """

    rng: random.Random = field(default_factory=random.Random)

    def __call__(self) -> str:
        n = self.rng.getrandbits(128)
        n = (n & ~(0xF000 << 64)) | (4 << 76)  # version 4
        n = (n & ~(0xC000 << 48)) | (0x8000 << 48)  # the RFC 4122 variant
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
