"""``to-thread``: ``asyncio.to_thread`` over the blocking fetcher — with ``-c`` honoured.

``asyncio.to_thread`` runs on the loop's default executor, which has
``min(32, cpus + 4)`` threads: 6 on a 2-core machine, whatever concurrency the code
asks for. This engine gives its loop a default executor of exactly ``concurrency``
threads, so ``-c 50`` really means 50 requests in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator, Iterable
from concurrent.futures import ThreadPoolExecutor

from ..config import Config
from ..core.drive import AsyncDriver, Batches
from ..core.outcome import Outcome
from ..core.scheduler import Scheduler
from ..records import Record
from ..transports.urllib3 import BlockingFetcher
from ._loop import iterate

__all__ = ["batches", "run", "sized_executor"]


def batches(
    urls: Iterable[str], config: Config, executor: ThreadPoolExecutor | None = None
) -> tuple[AsyncDriver, Batches]:
    """The engine, for a loop whose default executor has ``concurrency`` threads
    (see :func:`sized_executor`) or, inside someone else's loop, with an ``executor`` of its own.
    """
    fetcher = BlockingFetcher(config)

    async def get(
        url: str, timeout: float, foreign: bool = False, origin: str | None = None
    ) -> Outcome:
        if executor is None:
            return await asyncio.to_thread(fetcher.get, url, timeout, foreign, origin)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, fetcher.get, url, timeout, foreign, origin)

    driver = AsyncDriver(Scheduler(urls, config), get)

    async def run() -> Batches:
        try:
            async with contextlib.aclosing(driver.batches()) as records:
                async for batch in records:
                    yield batch
        finally:
            fetcher.close()

    return driver, run()


def sized_executor(loop: asyncio.AbstractEventLoop, concurrency: int) -> None:
    """Give ``loop`` a default executor of ``concurrency`` threads (see the module doc)."""
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fetchpool")
    )


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    return iterate(
        lambda: batches(urls, config),
        setup=lambda loop: sized_executor(loop, config.most_in_flight),
    )
