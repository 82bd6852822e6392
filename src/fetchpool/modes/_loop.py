"""Running an asyncio engine from plain (synchronous) code."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Generator

from ..core.drive import AsyncDriver, Batches
from ..records import Record

__all__ = ["iterate"]


def iterate(
    make: Callable[[], tuple[AsyncDriver, Batches]],
    setup: Callable[[asyncio.AbstractEventLoop], None] | None = None,
) -> Generator[Record, None, None]:
    """Drive an asyncio engine on a private event loop in this thread, yielding records.

    The loop runs only while the caller waits for the next batch; Ctrl-C cancels the
    waiting step (asyncio.Runner), and the records already finished are still handed over.
    """
    with asyncio.Runner() as runner:
        if setup is not None:
            setup(runner.get_loop())
        driver, batches = make()
        # A step's records, until each is handed over: kept even if Ctrl-C ends the step.
        got: deque[Record] = deque()
        try:
            while True:
                try:
                    runner.run(_next(batches, got))
                except StopAsyncIteration:
                    return
                while got:
                    yield got.popleft()
        except KeyboardInterrupt:
            while got:
                yield got.popleft()
            yield from driver.take_ready()
            raise
        finally:
            _run_to_end(runner.get_loop(), _close(batches))


async def _next(batches: Batches, into: deque[Record]) -> None:
    into.extend(await anext(batches))


async def _close(batches: Batches) -> None:
    aclose = getattr(batches, "aclose", None)
    if aclose is not None:
        await aclose()


def _run_to_end(loop: asyncio.AbstractEventLoop, coro: Coroutine[object, object, None]) -> None:
    """Run ``coro`` to its end, even when Ctrl-C came just as the previous step ended: asyncio
    then leaves that step's stop request behind, and the loop would stop before ``coro`` is done
    ('Event loop stopped before Future completed')."""
    task = loop.create_task(coro)
    try:
        loop.run_until_complete(task)
    except RuntimeError:
        if task.done():
            raise
        loop.run_until_complete(task)  # the stop request is used up: run on
