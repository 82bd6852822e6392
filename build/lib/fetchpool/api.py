"""The library API: ``fetch`` for plain code, ``fetch_async`` for asyncio programs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from . import engines
from .config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_MODE,
    DEFAULT_TIMEOUT,
    Config,
)
from .errors import UsageError
from .extract import parse_extract
from .records import Record

__all__ = ["fetch", "fetch_async"]


def _config(
    config: Config | None,
    mode: str,
    concurrency: int,
    timeout: float,
    max_redirects: int,
    max_bytes: int | None,
    headers: Mapping[str, str] | None,
    extract: Iterable[str] | str = (),
) -> Config:
    if config is not None:
        return config
    return Config(
        mode=mode,
        concurrency=concurrency,
        timeout=timeout,
        max_redirects=max_redirects,
        max_bytes=max_bytes,
        headers=dict(headers or {}),
        extract=parse_extract(extract),
    )


def _trimmed(urls: Iterable[str] | str) -> Iterator[str]:
    if isinstance(urls, str):  # one URL, not an iterable of characters
        urls = [urls]
    for url in urls:
        if not isinstance(url, str):
            raise UsageError(f"URLs must be strings, not {type(url).__name__}")
        yield url.strip()


def fetch(
    urls: Iterable[str] | str,
    *,
    mode: str = DEFAULT_MODE,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    max_bytes: int | None = None,
    headers: Mapping[str, str] | None = None,
    extract: Iterable[str] | str = (),
    config: Config | None = None,
) -> Generator[Record, None, None]:
    """Fetch every URL; yield one :class:`Record` per URL as each completes.

    ``urls`` is read lazily, so it may be a generator over a huge file. A URL that fails
    yields a record with ``error`` set; only bad arguments raise (:class:`UsageError`).
    ``extract`` names fields to compute from each body (``"title,sha256,links"`` or a list;
    see :mod:`fetchpool.extract`). ``config``, when given, replaces every other keyword.
    Closing the iterator early stops the run.

    >>> for rec in fetch(["https://example.com"], mode="threadpool"):  # doctest: +SKIP
    ...     print(rec.status, rec.length)
    """
    cfg = _config(config, mode, concurrency, timeout, max_redirects, max_bytes, headers, extract)
    return engines.run(_trimmed(urls), cfg)


async def fetch_async(
    urls: Iterable[str] | str,
    *,
    mode: str = DEFAULT_MODE,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    max_bytes: int | None = None,
    headers: Mapping[str, str] | None = None,
    extract: Iterable[str] | str = (),
    config: Config | None = None,
) -> AsyncIterator[Record]:
    """The async twin of :func:`fetch`, for use inside a running event loop.

    ``async`` and ``to-thread`` run on the caller's loop (``to-thread`` on a private
    executor of ``concurrency`` threads, leaving the loop's default executor alone);
    the other modes run in a worker thread and hand records over to the loop.
    """
    cfg = _config(config, mode, concurrency, timeout, max_redirects, max_bytes, headers, extract)
    source = _trimmed(urls)
    if cfg.mode == "async":
        from .engines import aio

        _, batches = aio.batches(source, cfg)
        async for batch in batches:
            for rec in batch:
                yield rec
    elif cfg.mode == "to-thread":
        from .engines import to_thread

        with ThreadPoolExecutor(cfg.concurrency, thread_name_prefix="fetchpool") as pool:
            _, batches = to_thread.batches(source, cfg, executor=pool)
            async for batch in batches:
                for rec in batch:
                    yield rec
    else:
        records = engines.run(source, cfg)
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


def _step(records: Iterator[Record]) -> Record | None:
    return next(records, None)
