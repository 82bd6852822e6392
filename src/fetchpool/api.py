"""The library API: ``fetch`` for plain code, ``fetch_async`` for asyncio programs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Mapping
from functools import partial
from typing import Any

from . import engine
from .bodies.extract import parse_extract, with_extractor
from .config import (
    DEFAULT_BACKOFF,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_MAX_WAIT,
    DEFAULT_MODE,
    DEFAULT_PER_HOST,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    Config,
)
from .errors import UsageError
from .input.skip import Skip
from .records import Record

__all__ = ["fetch", "fetch_async"]


def _config(config: Config | None, headers: Mapping[str, str] | None, **settings: Any) -> Config:
    if config is not None:
        return config
    return Config(headers=dict(headers or {}), **settings)


def _trimmed(urls: Iterable[str] | str) -> Iterator[str]:
    if isinstance(urls, str):  # one URL, not an iterable of characters
        urls = [urls]
    for url in urls:
        if not isinstance(url, str):
            raise UsageError(f"URLs must be strings, not {type(url).__name__}")
        yield url.strip()


def _unique(urls: Iterable[str] | str) -> Iterator[str]:
    """Each URL once, trimmed: a repeated URL is fetched once and yields one record."""
    return Skip()(_trimmed(urls))


def fetch(
    urls: Iterable[str] | str,
    *,
    mode: str = DEFAULT_MODE,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    max_bytes: int | None = None,
    headers: Mapping[str, str] | None = None,
    connect_timeout: float | None = None,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    max_wait: float = DEFAULT_MAX_WAIT,
    per_host: int = DEFAULT_PER_HOST,
    rate: float | None = None,
    host_rate: float | None = None,
    extract: Iterable[str] | str = (),
    cluster: str | None = None,
    config: Config | None = None,
) -> Generator[Record, None, None]:
    """Fetch every URL; yield one :class:`Record` per URL as each completes.

    ``urls`` is read lazily, so it may be a generator over a huge file. A URL repeated
    (after trimming) is fetched once and yields one record. A URL that fails
    yields a record with ``error`` set; only bad arguments raise (:class:`UsageError`).
    The keywords are those of :class:`Config` (timeouts, retries with backoff, per-host and
    rate limits, size cap, headers); ``extract`` names fields to compute from each body
    (``"title,sha256,links"`` or a list; see :mod:`fetchpool.bodies.extract`). ``cluster`` runs
    the fetches on a Dask cluster: a scheduler's address (``"tcp://host:8786"``) or
    ``"local:N"`` (N worker processes on this machine, started and ended with the run),
    each worker running ``mode`` (needs ``fetchpool[dask]``). ``config``, when
    given, replaces every other keyword.
    Closing the iterator early stops the run.

    >>> for rec in fetch(["https://example.com"], mode="threadpool"):  # doctest: +SKIP
    ...     print(rec.status, rec.length)
    """
    cfg = _config(
        config,
        headers,
        mode=mode,
        concurrency=concurrency,
        timeout=timeout,
        max_redirects=max_redirects,
        max_bytes=max_bytes,
        connect_timeout=connect_timeout,
        retries=retries,
        backoff=backoff,
        max_wait=max_wait,
        per_host=per_host,
        rate=rate,
        host_rate=host_rate,
        extract=parse_extract(extract),
        cluster=cluster,
    )
    return engine.run(_unique(urls), cfg)


async def fetch_async(
    urls: Iterable[str] | str,
    *,
    mode: str = DEFAULT_MODE,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    max_bytes: int | None = None,
    headers: Mapping[str, str] | None = None,
    connect_timeout: float | None = None,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    max_wait: float = DEFAULT_MAX_WAIT,
    per_host: int = DEFAULT_PER_HOST,
    rate: float | None = None,
    host_rate: float | None = None,
    extract: Iterable[str] | str = (),
    cluster: str | None = None,
    config: Config | None = None,
) -> AsyncIterator[Record]:
    """The async twin of :func:`fetch`, for use inside a running event loop.

    ``async`` and ``to-thread`` run on the caller's loop (``to-thread`` on a private
    executor of ``concurrency`` threads, leaving the loop's default executor alone);
    the other modes run in a worker thread and hand records over to the loop.
    """
    # Imported here, not at the top: a command-line run that never uses them starts faster.
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    cfg = _config(
        config,
        headers,
        mode=mode,
        concurrency=concurrency,
        timeout=timeout,
        max_redirects=max_redirects,
        max_bytes=max_bytes,
        connect_timeout=connect_timeout,
        retries=retries,
        backoff=backoff,
        max_wait=max_wait,
        per_host=per_host,
        rate=rate,
        host_rate=host_rate,
        extract=parse_extract(extract),
        cluster=cluster,
    )
    source = _unique(urls)
    if cfg.mode == "async":
        from .modes import async_ as aio

        _, batches = aio.batches(source, with_extractor(cfg))
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


def _step(records: Iterator[Record]) -> Record | None:
    return next(records, None)
