"""The engines: one module per ``--mode``. Each only decides how requests run at once;
the fetchers (``_blocking``, ``_aiohttp``) and ``_policy`` decide what a result is.

Every engine takes a lazy iterable of URLs and a :class:`~fetchpool.config.Config` and
yields one record per URL as it completes, with at most ``concurrency`` in flight.
Engines are imported on first use, so a run loads only the HTTP stack its mode needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Generator, Iterable

from ..config import Config
from ..records import Record

__all__ = ["ENGINE_MODULES", "run"]

ENGINE_MODULES = {
    "sequential": "sequential",
    "threadpool": "threadpool",
    "to-thread": "to_thread",
    "threading": "threads",
    "async": "aio",
    "processes": "processes",
}


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    """Fetch ``urls`` with the engine ``config.mode`` names."""
    module = importlib.import_module(f"{__name__}.{ENGINE_MODULES[config.mode]}")
    records: Generator[Record, None, None] = module.run(urls, config)
    return records
