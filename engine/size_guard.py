"""The one place the 256 KiB payload limit is checked.

AWS limits execution input, state input and output, task parameters and
results, and Map/Parallel results to 262,144 bytes of UTF-8 JSON. Every such
check in the engine calls ``check``; the limit is configurable per engine.
Serializing is what costs, so the JSON bytes are returned for reuse.
"""

from __future__ import annotations

from typing import Final

from engine.errors import DataLimitExceeded
from engine.jsonvalue import JSON, dumps

DEFAULT_LIMIT_BYTES: Final = 262_144
RESULT_WHAT: Final = "The state/task '%s' returned a result"
"""What ``check`` names for a state's result or output (AWS's wording)."""
PARAMETERS_WHAT: Final = "The parameters of state/task '%s' are"
"""What ``check`` names for a Task's resolved parameters."""


def payload_size(value: JSON) -> int:
    """The UTF-8 size in bytes of ``value`` serialized as compact JSON."""
    return len(dumps(value))


def limit_cause(what: str, *args: object) -> str:
    """AWS's cause for a payload over the limit; ``what`` names the payload (see ``SizeGuard.check``)."""
    text = what % args if args else what
    return f"{text} with a size exceeding the maximum number of bytes service limit."


class SizeGuard:
    """Checks payload sizes against one configurable limit.

    Args:
        limit: the maximum size in bytes (inclusive); ``None`` disables the check.
    """

    __slots__ = ("limit",)

    def __init__(self, limit: int | None = DEFAULT_LIMIT_BYTES) -> None:
        self.limit = limit

    def check(self, value: JSON, what: str, *args: object) -> None:
        """Raise ``States.DataLimitExceeded`` when ``value`` is over the limit.

        Args:
            value: the payload.
            what: the start of the cause, naming what was too large, e.g.
                ``"The state/task '%s' returned a result"``; formatted with
                ``args`` only on failure (this runs on every transition).
            *args: values for ``what``'s ``%s`` placeholders.
        """
        limit = self.limit
        if limit is None:
            return
        # Serializing is the honest measure (UTF-8 bytes of compact JSON); orjson makes it cheap.
        size = len(dumps(value))
        if size > limit:
            # AWS's wording, exactly (conformance start_large_input); the size
            # itself goes in the exception's attributes and the history event.
            raise DataLimitExceeded(cause=limit_cause(what, *args), size=size, limit=limit)

    def over(self, value: JSON) -> int | None:
        """The size of ``value`` when it is over the limit, else None."""
        if self.limit is None:
            return None
        size = len(dumps(value))
        return size if size > self.limit else None
