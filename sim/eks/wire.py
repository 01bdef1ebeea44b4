"""What crosses the EKS wire: request members checked one by one, list pages, document copies and ids.

botocore validates requests against the service model before it sends them,
but other clients do not, so every member is checked again here with EKS's
wording (``InvalidParameterException``, the resource names beside the
message). :class:`Members` is that typed access to a JSON body; :func:`paginate`
is the ``maxResults``/``nextToken`` scheme of the List operations; :func:`wire`
copies a stored document into what a response carries, so a client never holds
a reference the lifecycle tasks still change.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

from sim.eks.errors import EksError, invalid_parameter

JsonObject = dict[str, Any]

MAX_TAGS: Final = 50
MAX_PAGE: Final = 100


def now_epoch() -> float:
    """The current time as EKS's documents carry it: epoch seconds, to the millisecond."""
    return round(time.time(), 3)


def short_id(length: int = 17) -> str:
    """A random lower-case hex id, such as the ones after ``vpc-`` and ``sg-``."""
    return secrets.token_hex(length)[:length]


def wire(doc: JsonObject) -> JsonObject:
    """A deep copy of a document, made of JSON types only."""
    copied: object = json.loads(json.dumps(doc))
    if not isinstance(copied, dict):
        raise TypeError("an EKS document is a JSON object")
    return copied


class Members:
    """Typed access to a request's JSON members; every violation is an InvalidParameterException."""

    def __init__(self, body: JsonObject, **fields: str) -> None:
        self._body = body
        self._fields = fields

    @property
    def body(self) -> JsonObject:
        """The members as sent."""
        return self._body

    def _bad(self, message: str) -> EksError:
        return invalid_parameter(message, **self._fields)

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self._body.get(key)
        if value is None:
            if required:
                raise self._bad(f"{key} is required and cannot be null or empty.")
            return None
        if not isinstance(value, str):
            raise self._bad(f"{key} must be a string.")
        if required and not value:
            raise self._bad(f"{key} is required and cannot be null or empty.")
        return value

    def required_string(self, key: str) -> str:
        value = self.string(key, required=True)
        assert value is not None
        return value

    def enum(self, key: str, allowed: Iterable[str]) -> str | None:
        value = self.string(key)
        if value is not None and value not in allowed:
            raise self._bad(f"{key} {value!r} is not one of {sorted(allowed)}.")
        return value

    def boolean(self, key: str) -> bool | None:
        value = self._body.get(key)
        if value is not None and not isinstance(value, bool):
            raise self._bad(f"{key} must be a boolean.")
        return value

    def integer(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
        value = self._body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(f"{key} must be an integer.")
        if minimum is not None and value < minimum:
            raise self._bad(f"{key} must be greater than or equal to {minimum}.")
        if maximum is not None and value > maximum:
            raise self._bad(f"{key} must be less than or equal to {maximum}.")
        return value

    def strings(self, key: str, *, required: bool = False, non_empty: bool = False) -> list[str] | None:
        value = self._body.get(key)
        if value is None:
            if required:
                raise self._bad(f"{key} is required and cannot be null or empty.")
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._bad(f"{key} must be a list of strings.")
        if non_empty and not value:
            raise self._bad(f"{key} is required and cannot be null or empty.")
        return list(value)

    def obj(self, key: str, *, required: bool = False) -> Members | None:
        value = self._body.get(key)
        if value is None:
            if required:
                raise self._bad(f"{key} is required and cannot be null or empty.")
            return None
        if not isinstance(value, dict):
            raise self._bad(f"{key} must be an object.")
        return Members(value, **self._fields)

    def raw(self, key: str) -> Any:
        return self._body.get(key)

    def string_map(
        self, key: str, *, min_entries: int = 0, max_entries: int | None = None, max_length: int | None = None
    ) -> dict[str, str] | None:
        value = self._body.get(key)
        if value is None:
            return None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self._bad(f"{key} must be a map of strings to strings.")
        if len(value) < min_entries or (max_entries is not None and len(value) > max_entries):
            raise self._bad(f"{key} must have between {min_entries} and {max_entries} entries.")
        if max_length is not None and any(
            len(k) > max_length or len(v) > max_length for k, v in value.items()
        ):
            raise self._bad(f"{key} keys and values must be at most {max_length} characters.")
        return dict(value)

    def tags(self) -> dict[str, str]:
        return self.string_map("tags", min_entries=1, max_entries=MAX_TAGS) or {}


def paginate(names: list[str], query: Mapping[str, str]) -> tuple[list[str], str | None]:
    """One page of ``names`` for a List operation's ``maxResults`` and ``nextToken``, and the next token."""
    raw_max = query.get("maxResults")
    max_results = MAX_PAGE
    if raw_max is not None:
        try:
            max_results = int(raw_max)
        except ValueError:
            raise invalid_parameter("maxResults must be an integer between 1 and 100.") from None
        if not 1 <= max_results <= MAX_PAGE:
            raise invalid_parameter("maxResults must be an integer between 1 and 100.")
    start = 0
    token = query.get("nextToken")
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError:
            raise invalid_parameter("The nextToken is not valid.") from None
        if start < 0:
            raise invalid_parameter("The nextToken is not valid.")
    page = names[start : start + max_results]
    end = start + len(page)
    next_token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(names) else None
    return page, next_token
