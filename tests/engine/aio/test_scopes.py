"""``cancel_scope``: a working cancel scope of the running backend."""

from __future__ import annotations

import anyio
import pytest

from engine.aio.scopes import cancel_scope


@pytest.mark.anyio
async def test_the_scope_cancels_what_runs_under_it() -> None:
    scope = cancel_scope()
    with scope:
        scope.cancel()
        await anyio.sleep(3600)
    assert scope.cancelled_caught


@pytest.mark.anyio
async def test_each_call_makes_a_new_scope_of_anyios_class() -> None:
    a, b = cancel_scope(), cancel_scope()
    assert a is not b
    assert isinstance(a, anyio.CancelScope)
    assert type(a) is type(anyio.CancelScope())
