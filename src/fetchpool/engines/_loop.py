"""Running an asyncio engine from plain (synchronous) code."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator

from ..records import Record
from ._drive import AsyncDriver, Batches

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
        try:
            while True:
                try:
                    batch = runner.run(_next(batches))
                except StopAsyncIteration:
                    return
                yield from batch
        except KeyboardInterrupt:
            yield from driver.take_ready()
            raise
        finally:
            runner.run(_close(batches))


async def _next(batches: Batches) -> list[Record]:
    return await anext(batches)


async def _close(batches: Batches) -> None:
    aclose = getattr(batches, "aclose", None)
    if aclose is not None:
        await aclose()
