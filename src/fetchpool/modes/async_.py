"""``async``: a native asyncio client (aiohttp); thousands of connections on one thread."""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterable

from ..config import Config
from ..core.drive import AsyncDriver, Batches
from ..core.scheduler import Scheduler
from ..records import Record
from ..transports.aiohttp import AsyncFetcher
from ._loop import iterate

__all__ = ["batches", "run"]


def batches(urls: Iterable[str], config: Config) -> tuple[AsyncDriver, Batches]:
    """The engine itself, for use inside a running event loop."""
    fetcher = AsyncFetcher(config)
    driver = AsyncDriver(Scheduler(urls, config), fetcher.get)

    async def run() -> Batches:
        async with fetcher, contextlib.aclosing(driver.batches()) as records:
            async for batch in records:
                yield batch

    return driver, run()


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    return iterate(lambda: batches(urls, config))
