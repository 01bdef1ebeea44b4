"""``nextToken`` for the List* and GetExecutionHistory operations.

A token is opaque to clients: URL-safe base64 of a small JSON object naming
the listing it continues (the operation and its filter) and where to go on
from. A token that does not decode, or that belongs to another listing, is
``InvalidToken`` as on AWS. Positions are stable keys (a sequence number or an
event id), not offsets, so a page boundary holds while new items arrive.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

import orjson

from statewright.api._errors import ApiError

DEFAULT_PAGE: Final = 100
MAX_PAGE: Final = 1000


def page_size(params: dict[str, Any]) -> int:
    """``maxResults``: 0 or absent means the default page of 100."""
    n = params.get("maxResults") or 0
    return int(n) if n > 0 else DEFAULT_PAGE


def make_token(listing: str, position: int) -> str:
    raw = orjson.dumps({"l": listing, "p": position})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_token(token: str | None, listing: str) -> int | None:
    """The position a token continues from, or None for the first page.

    Raises:
        ApiError: InvalidToken.
    """
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise ApiError("InvalidToken", f"Invalid Token: '{token}'") from None
    if not isinstance(data, dict) or data.get("l") != listing or not isinstance(data.get("p"), int):
        raise ApiError("InvalidToken", f"Invalid Token: '{token}'")
    return int(data["p"])


__all__ = ["DEFAULT_PAGE", "MAX_PAGE", "make_token", "page_size", "read_token"]
