"""``threadpool``: the lesson's ``ThreadPoolExecutor``, with a bounded window of futures.

The lesson submits every URL up front; for a file of millions that is millions of
futures in memory. Here at most ``concurrency`` futures exist at once: each finished
one is handed over and replaced by the next URL. ``as_completed`` only walks a fixed
set, so the window waits with its sibling ``wait(..., FIRST_COMPLETED)``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from itertools import islice

from ..config import Config
from ..records import Record
from ._blocking import BlockingFetcher

__all__ = ["run"]


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    fetcher = BlockingFetcher(config)
    source = iter(urls)
    executor = ThreadPoolExecutor(config.concurrency, thread_name_prefix="fetchpool")
    pending: set[Future[Record]] = set()
    done: set[Future[Record]] = set()
    try:
        pending = {executor.submit(fetcher.fetch, u) for u in islice(source, config.concurrency)}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for url in islice(source, len(done)):
                pending.add(executor.submit(fetcher.fetch, url))
            while done:
                yield done.pop().result()
    except KeyboardInterrupt:
        # Hand over what already finished, then let the interrupt through.
        finished = done | {f for f in pending if f.done() and not f.cancelled()}
        yield from (f.result() for f in finished)
        raise
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        fetcher.close()
