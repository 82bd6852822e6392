"""The engines: one module per ``--mode``. Each only decides how requests run at once;
the policy is shared, in small pieces any engine (a future one too) calls:

- ``_scheduler``: which request starts next and what a finished one leads to — every
  limit (concurrency, per host, rate, host rate), retries, redirects, the 429 slow-down;
- ``_retry``, ``_limits``: the pure decisions and arithmetic behind it;
- ``_drive``: the loop around the scheduler, blocking and asyncio;
- ``_attempt``: the one-method fetcher interface (``get(url, timeout) -> Outcome``);
- ``_deadline``: the whole-request deadline and the watchdog for blocking sockets;
- ``_decode``: gzip/deflate in bounded steps; ``_policy``: URL checks, redirect rules;
- ``_blocking`` (urllib3) and ``_aiohttp``: the fetchers, one request at a time;
- ``_curl``: the libcurl transport of the ``curl`` mode (many requests on one multi handle);
- ``cluster``: not a mode but a place: batches of URLs on a Dask cluster (``--cluster``),
  each run there by the engine ``mode`` names.

Every engine takes a lazy iterable of URLs and a :class:`~fetchpool.config.Config` and
yields one record per URL as it completes, with at most ``concurrency`` in flight.
Engines are imported on first use, so a run loads only the HTTP stack its mode needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Generator, Iterable

from ..config import Config
from ..extract import with_extractor
from ..records import Record

__all__ = ["ENGINE_MODULES", "run"]

ENGINE_MODULES = {
    "sequential": "sequential",
    "threadpool": "threadpool",
    "to-thread": "to_thread",
    "threading": "threads",
    "async": "aio",
    "curl": "curl",
    "processes": "processes",
}


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    """Fetch ``urls`` with the engine ``config.mode`` names, or on the Dask cluster
    ``config.cluster`` names (the ``cluster`` engine, whose workers run ``config.mode``).

    ``config.extract`` becomes a body sink here (:func:`fetchpool.extract.with_extractor`),
    so the fetchers know only the one body hook; the ``processes`` and ``cluster`` engines
    do this in their workers, where the bodies are read."""
    name = "cluster" if config.cluster is not None else ENGINE_MODULES[config.mode]
    if name not in ("processes", "cluster"):
        config = with_extractor(config)
    module = importlib.import_module(f"{__name__}.{name}")
    records: Generator[Record, None, None] = module.run(urls, config)
    return records
