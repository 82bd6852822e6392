"""The streaming library API: ``fetch`` for plain code, ``fetch_async`` for asyncio programs.
(The whole pipeline — outputs, resume, save-dir, the summary — is :func:`fetchpool.run`.)"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
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

    Called where an event loop runs (a Jupyter cell, a coroutine), the ``async`` and
    ``to-thread`` engines, which need a loop of their own, run in a worker thread, and the
    records come to this thread as usual (in ``async def`` code, prefer :func:`fetch_async`).

    >>> for rec in fetch(["https://example.com"], mode="threadpool"):  # doctest: +SKIP
    ...     print(rec.status, rec.length)
    """
    cfg = config_of(config, settings)
    source = _unique(urls)
    if cfg.cluster is None and cfg.mode in ("async", "to-thread") and _loop_running():
        return _in_thread(lambda: engine.run(source, cfg))
    return engine.run(source, cfg)


async def fetch_async(
    urls: Iterable[str] | str, *, config: Config | None = None, **settings: Unpack[Settings]
) -> AsyncIterator[Record]:
    """The async twin of :func:`fetch`, for use inside a running event loop.

    ``async`` and ``to-thread`` run on the caller's loop (``to-thread`` on a private
    executor of ``concurrency`` threads, leaving the loop's default executor alone);
    the other modes, and any mode on a ``cluster``, run in a worker thread and hand
    records over to the loop.

    Cancelling the task that iterates, or ``aclose()``, returns at once (well under half a
    second) in every mode, and never blocks the loop: requests in flight are cancelled
    (``async``), or left to end on their own threads within their timeout, their results
    dropped (the other modes; a ``to-thread`` thread or the worker thread ends by itself).
    """
    # Imported here, not at the top: a command-line run that never uses them starts faster.
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    cfg = config_of(config, settings)
    source = _unique(urls)
    if cfg.mode == "async" and cfg.cluster is None:
        from .modes import async_

        _, batches = async_.batches(source, with_extractor(cfg))
        async with contextlib.aclosing(batches):
            async for batch in batches:
                for rec in batch:
                    yield rec
    elif cfg.mode == "to-thread" and cfg.cluster is None:
        from .modes import to_thread

        pool = ThreadPoolExecutor(cfg.most_in_flight, thread_name_prefix="fetchpool")
        try:
            _, batches = to_thread.batches(source, with_extractor(cfg), executor=pool)
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    for rec in batch:
                        yield rec
        finally:
            # Not `with pool`: its exit would wait, blocking the loop, for every request
            # still in flight on its threads. They end on their own within their timeout.
            pool.shutdown(wait=False, cancel_futures=True)
    else:
        records = engine.run(source, cfg)
        # One thread steps the generator, so it never runs on two threads at once.
        stepper = ThreadPoolExecutor(1, thread_name_prefix="fetchpool-sync")
        loop = asyncio.get_running_loop()
        try:
            while True:
                got: Record | None = await loop.run_in_executor(stepper, partial(_step, records))
                if got is None:
                    break
                yield got
        finally:
            # Never wait here for the step under way (it may wait for a slow request): the
            # stepper closes the engine as soon as that step ends, on its own thread.
            stepper.submit(records.close)
            stepper.shutdown(wait=False)


def _loop_running() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _in_thread(make: Callable[[], Generator[Record, None, None]]) -> Generator[Record, None, None]:
    """The records of the generator ``make()`` gives, run to its end in a worker thread
    (an engine that runs its own event loop, called where one runs already). Closing this
    generator stops that one, from its own thread, and does not wait for it."""
    import queue
    import threading

    handoff: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            with contextlib.closing(make()) as records:
                for rec in records:
                    if not put(("record", rec)):
                        return
        except BaseException as exc:  # handed to the caller's thread, raised there
            put(("error", exc))
            return
        put(("end", None))

    threading.Thread(target=work, name="fetchpool-engine", daemon=True).start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            assert isinstance(value, Record)
            yield value
    finally:
        stop.set()


def _unique(urls: Iterable[str] | str) -> Iterator[str]:
    """Each URL once, trimmed: a repeated URL is fetched once and yields one record."""
    return Skip()(as_urls(urls))


def _step(records: Iterator[Record]) -> Record | None:
    return next(records, None)
