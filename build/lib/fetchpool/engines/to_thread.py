"""``to-thread``: ``asyncio.to_thread`` over the blocking fetcher, gathered — with ``-c`` honoured.

``asyncio.to_thread`` runs on the loop's default executor, which has
``min(32, cpus + 4)`` threads: 6 on a 2-core machine, whatever concurrency the code
asks for. This engine gives its loop a default executor of exactly ``concurrency``
threads, so ``-c 50`` really means 50 requests in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from ..config import Config
from ..records import Record
from ._blocking import BlockingFetcher
from ._loop import Pump, iterate

__all__ = ["batches", "run"]


def batches(
    urls: Iterable[str], config: Config, executor: ThreadPoolExecutor | None = None
) -> tuple[Pump, AsyncIterator[list[Record]]]:
    """The engine, for a loop whose default executor has ``concurrency`` threads
    (see :func:`sized_executor`) or, inside someone else's loop, with an ``executor`` of its own.
    """
    pump = Pump(urls, config.concurrency)
    fetcher = BlockingFetcher(config)

    async def fetch(url: str) -> Record:
        if executor is None:
            return await asyncio.to_thread(fetcher.fetch, url)
        return await asyncio.get_running_loop().run_in_executor(executor, fetcher.fetch, url)

    return pump, pump.batches(fetch, _closing(fetcher))


@asynccontextmanager
async def _closing(fetcher: BlockingFetcher) -> AsyncIterator[None]:
    try:
        yield
    finally:
        fetcher.close()


def sized_executor(loop: asyncio.AbstractEventLoop, concurrency: int) -> None:
    """Give ``loop`` a default executor of ``concurrency`` threads (see the module doc)."""
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fetchpool")
    )


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    return iterate(
        lambda: batches(urls, config),
        setup=lambda loop: sized_executor(loop, config.concurrency),
    )
