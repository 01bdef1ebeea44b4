"""``cancel_scope``: a new anyio cancel scope of the running backend, made cheaply.

``anyio.CancelScope()`` looks the backend up on every call, which costs more
than the scope itself; every execution run makes one, so the class is looked
up once and reused.
"""

from __future__ import annotations

import anyio

_SCOPE_CLASS: type[anyio.CancelScope] | None = None


def cancel_scope() -> anyio.CancelScope:
    """A new cancel scope of the running backend (the same as ``anyio.CancelScope()``)."""
    global _SCOPE_CLASS
    if _SCOPE_CLASS is None:
        _SCOPE_CLASS = type(anyio.CancelScope())
    return _SCOPE_CLASS()
