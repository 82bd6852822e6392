"""``async``: a native asyncio client (aiohttp); thousands of connections on one thread."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable

from ..config import Config
from ..records import Record
from ._aiohttp import AsyncFetcher
from ._loop import Pump, iterate

__all__ = ["batches", "run"]


def batches(urls: Iterable[str], config: Config) -> tuple[Pump, AsyncIterator[list[Record]]]:
    """The engine itself, for use inside a running event loop."""
    pump = Pump(urls, config.concurrency)
    fetcher = AsyncFetcher(config)
    return pump, pump.batches(fetcher.fetch, fetcher)


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    return iterate(lambda: batches(urls, config))
