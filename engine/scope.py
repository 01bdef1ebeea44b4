"""What an expression sees when it is evaluated.

Paths, intrinsic functions, templates and Choice rules all evaluate against a
``Scope``: the current value (``$``), the context object (``$$``), the
workflow variables (``$name``) and the execution's random source. It is a
plain slotted object built once per state step, so evaluation stays a cheap
function call (no awaits, no dict lookups by string for the basics).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.jsonvalue import JSON


@dataclass(slots=True)
class Scope:
    """The values an expression may read.

    Attributes:
        input: the value ``$`` refers to (state input, effective input, or a result).
        context: the context object ``$$`` (Execution, State, StateMachine, Task, Map).
        variables: workflow variables visible here, by name without ``$``.
        rng: the execution's random source; ``States.MathRandom`` and
            ``States.UUID`` draw from it so a replay can reproduce them.
    """

    input: JSON
    context: JSON = None
    variables: Mapping[str, JSON] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)
