"""Running an asyncio engine from plain (synchronous) code, and the worker pattern both
asyncio modes share: ``concurrency`` worker tasks pulling URLs from one lazy iterator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from contextlib import AbstractAsyncContextManager

from ..records import Record

__all__ = ["Pump", "iterate"]

FetchOne = Callable[[str], Awaitable[Record]]


class Pump:
    """``concurrency`` workers fetching URLs from ``urls``; finished records wait in a list
    until :meth:`batches` hands them over. At most ``concurrency`` URLs are in flight, and at
    most ``concurrency`` finished records wait, so memory does not grow with the input."""

    def __init__(self, urls: Iterable[str], concurrency: int) -> None:
        self._source = iter(urls)
        self._concurrency = concurrency
        self._ready: list[Record] = []
        self._arrived = asyncio.Event()
        self._taken = asyncio.Event()
        self._running = 0

    async def _worker(self, fetch: FetchOne) -> None:
        try:
            # Reading the next line is a short blocking call; it happens one URL at a time.
            while (url := next(self._source, None)) is not None:
                record = await fetch(url)
                # Append after the await: `_ready` may be a new list by then.
                self._ready.append(record)
                self._arrived.set()
                # Back-pressure: a consumer that is slow to take records stops new fetches.
                while len(self._ready) >= self._concurrency:
                    self._taken.clear()
                    await self._taken.wait()
        finally:
            self._running -= 1
            self._arrived.set()

    async def batches(
        self, fetch: FetchOne, context: AbstractAsyncContextManager[object] | None = None
    ) -> AsyncIterator[list[Record]]:
        """Run the workers; yield finished records in batches as they complete."""
        tasks: list[asyncio.Task[None]] = []
        try:
            if context is not None:
                await context.__aenter__()
            self._running = self._concurrency
            tasks = [asyncio.create_task(self._worker(fetch)) for _ in range(self._concurrency)]
            while self._running or self._ready:
                if not self._ready:
                    self._arrived.clear()
                    await self._arrived.wait()
                if self._ready:
                    batch, self._ready = self._ready, []
                    self._taken.set()
                    yield batch
            await asyncio.gather(
                *tasks
            )  # raises if a worker failed (a bug: fetchers return records)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if context is not None:
                await context.__aexit__(None, None, None)

    def take_ready(self) -> list[Record]:
        """Records finished but not yet handed over (used after an interrupt)."""
        batch, self._ready = self._ready, []
        return batch


def iterate(
    make: Callable[[], tuple[Pump, AsyncIterator[list[Record]]]],
    setup: Callable[[asyncio.AbstractEventLoop], None] | None = None,
) -> Generator[Record, None, None]:
    """Drive an asyncio engine on a private event loop in this thread, yielding records.

    The loop runs only while the caller waits for the next batch; Ctrl-C cancels the
    waiting step (asyncio.Runner), and the records already finished are still handed over.
    """
    with asyncio.Runner() as runner:
        if setup is not None:
            setup(runner.get_loop())
        pump, batches = make()
        try:
            while True:
                try:
                    batch = runner.run(_next(batches))
                except StopAsyncIteration:
                    return
                yield from batch
        except KeyboardInterrupt:
            yield from pump.take_ready()
            raise
        finally:
            runner.run(_close(batches))


async def _next(batches: AsyncIterator[list[Record]]) -> list[Record]:
    return await anext(batches)


async def _close(batches: AsyncIterator[list[Record]]) -> None:
    aclose = getattr(batches, "aclose", None)
    if aclose is not None:
        await aclose()
