"""What an execution whose Task waits keeps on its stack: each frame is paid by every waiter.

Thousands of executions wait in their Task at once in a burst of starts (each
create queues for a connection), every one with its whole coroutine chain;
the interpreter hands the Task's own coroutine through rather than awaiting
it in a wrapper of its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from engine import ExecutorCall, ExecutorContext
from tests.engine.conftest import CUSTOM

pytestmark = pytest.mark.looptime


def _coroutine_chain(task: asyncio.Task[Any]) -> list[str]:
    """The qualified names of the coroutines a task is suspended in, outermost first."""
    names: list[str] = []
    coro: Any = task.get_coro()
    while coro is not None and hasattr(coro, "cr_code"):
        names.append(coro.cr_code.co_qualname)
        coro = coro.cr_await
    return names


async def test_a_waiting_task_has_one_invoke_frame_on_its_stack(harness: Any) -> None:
    release = anyio.Event()

    async def wait(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        await release.wait()
        return {"ok": True}

    harness.handle(CUSTOM, wait)
    machine = {"StartAt": "Job", "States": {"Job": {"Type": "Task", "Resource": CUSTOM, "End": True}}}
    async with harness.engine() as engine:
        execution = engine.start(machine, {})
        for _ in range(5):
            await asyncio.sleep(0)
        (task,) = [t for t in asyncio.all_tasks() if t.get_name() == f"execution {execution.name}"]
        chain = _coroutine_chain(task)
        assert chain[-1].endswith("wait")  # the executor's own wait, reached through the chain
        assert [name for name in chain if name.endswith("invoke")] == ["invoke"]  # task.invoke alone
        release.set()
        assert (await execution.wait()).status == "SUCCEEDED"
