"""The streaming library API: ``fetch`` for plain code, ``fetch_async`` for asyncio programs.
(The whole pipeline — outputs, resume, save-dir, the summary — is :func:`fetchpool.run`.)"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from functools import partial
from typing import Unpack

from . import engine
from .bodies.extract import with_extractor
from .config import Config, Settings, config_of
from .input.skip import Skip
from .input.sources import as_urls
from .records import Record

__all__ = ["fetch", "fetch_async"]


def fetch(
    urls: Iterable[str] | str, *, config: Config | None = None, **settings: Unpack[Settings]
) -> Generator[Record, None, None]:
    """Fetch every URL; yield one :class:`Record` per URL as each completes.

    ``urls`` is read lazily, so it may be a generator over a huge file. A URL repeated
    (after trimming) is fetched once and yields one record. A URL that fails yields a
    record with ``error`` set; only bad arguments raise (:class:`UsageError`).
    The keywords are the fields of :class:`Config` (``mode``, ``concurrency``, timeouts,
    retries with backoff, per-host and rate limits, size cap, headers, ``extract``
    (``"title,sha256,links"`` or a list; see :mod:`fetchpool.bodies.extract`), ``cluster``
    (a Dask scheduler's address, or ``"local:N"``; needs ``fetchpool[dask]``), ...);
    or pass a whole ``config`` instead. Closing the iterator early stops the run.

    >>> for rec in fetch(["https://example.com"], mode="threadpool"):  # doctest: +SKIP
    ...     print(rec.status, rec.length)
    """
    return engine.run(_unique(urls), config_of(config, settings))


async def fetch_async(
    urls: Iterable[str] | str, *, config: Config | None = None, **settings: Unpack[Settings]
) -> AsyncIterator[Record]:
    """The async twin of :func:`fetch`, for use inside a running event loop.

    ``async`` and ``to-thread`` run on the caller's loop (``to-thread`` on a private
    executor of ``concurrency`` threads, leaving the loop's default executor alone);
    the other modes run in a worker thread and hand records over to the loop.
    """
    # Imported here, not at the top: a command-line run that never uses them starts faster.
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    cfg = config_of(config, settings)
    source = _unique(urls)
    if cfg.mode == "async":
        from .modes import async_

        _, batches = async_.batches(source, with_extractor(cfg))
        async with contextlib.aclosing(batches):
            async for batch in batches:
                for rec in batch:
                    yield rec
    elif cfg.mode == "to-thread":
        from .modes import to_thread

        with ThreadPoolExecutor(cfg.concurrency, thread_name_prefix="fetchpool") as pool:
            _, batches = to_thread.batches(source, with_extractor(cfg), executor=pool)
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    for rec in batch:
                        yield rec
    else:
        records = engine.run(source, cfg)
        # One thread steps the generator, so it never runs on two threads at once.
        with ThreadPoolExecutor(1, thread_name_prefix="fetchpool-sync") as stepper:
            loop = asyncio.get_running_loop()
            try:
                while True:
                    got: Record | None = await loop.run_in_executor(
                        stepper, partial(_step, records)
                    )
                    if got is None:
                        break
                    yield got
            finally:
                await loop.run_in_executor(stepper, records.close)


def _unique(urls: Iterable[str] | str) -> Iterator[str]:
    """Each URL once, trimmed: a repeated URL is fetched once and yields one record."""
    return Skip()(as_urls(urls))


def _step(records: Iterator[Record]) -> Record | None:
    return next(records, None)
