"""The modes that run requests at once in this process: one module per ``--mode``, named
as the mode (``async`` is ``async_``, a keyword otherwise). Each only decides *how*
requests run at once — one after another, a thread pool, ``asyncio.to_thread``, plain
threads, an event loop, a libcurl multi handle — around the one scheduler of
:mod:`fetchpool.core` and a transport of :mod:`fetchpool.transports`. The ``processes``
mode and ``--cluster`` spread the work over processes; they live in
:mod:`fetchpool.distributed` and run one of these modes in each worker.

Every mode takes a lazy iterable of URLs and a :class:`~fetchpool.config.Config` and
yields one record per URL as it completes, with at most ``concurrency`` in flight.
Modes are imported on first use, so a run loads only the HTTP stack its mode needs.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Generator, Iterable
from typing import Final

from ..bodies.extract import with_extractor
from ..config import Config
from ..core.robots import KeepRobots
from ..records import Record

__all__ = ["MODULES", "run"]

#: ``--mode`` -> the module of this package that runs it.
MODULES: Final = {
    "sequential": "sequential",
    "threadpool": "threadpool",
    "to-thread": "to_thread",
    "threading": "threading",
    "async": "async_",
    "curl": "curl",
}


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    """Fetch ``urls`` in this process with the mode ``config.mode`` names.

    ``config.extract`` becomes a body sink here (:func:`~fetchpool.bodies.extract.
    with_extractor`), so the transports know only the one body hook."""
    module = importlib.import_module(f"{__name__}.{MODULES[config.mode]}")
    config = with_extractor(config)
    if config.robots:  # the body of each robots.txt goes back to the scheduler
        config = dataclasses.replace(config, body_sink=KeepRobots(config.body_sink))
    records: Generator[Record, None, None] = module.run(urls, config)
    return records
