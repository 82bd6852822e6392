"""``threadpool``: the lesson's ``ThreadPoolExecutor``, with a bounded window of futures.

The lesson submits every URL up front; for a file of millions that is millions of
futures in memory. Here at most ``concurrency`` futures exist at once, one per attempt the
scheduler starts; each finished one is handed back and its place given to the next.
``as_completed`` only walks a fixed set, so the window waits with its sibling
``wait(..., FIRST_COMPLETED)``.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from ..config import Config
from ..core.drive import Finished, drive
from ..core.outcome import Outcome, safe_get
from ..core.scheduler import Job, Scheduler
from ..records import Record
from ..transports.urllib3 import BlockingFetcher

__all__ = ["run"]


class _Window:
    """The futures in flight, each with its job."""

    def __init__(self, fetcher: BlockingFetcher, executor: ThreadPoolExecutor) -> None:
        self._fetcher = fetcher
        self._executor = executor
        self._futures: dict[Future[Outcome], Job] = {}

    def submit(self, job: Job) -> None:
        get = self._fetcher.get
        future = self._executor.submit(
            safe_get, get, job.target, job.time_left, job.foreign, job.url
        )
        self._futures[future] = job

    def collect(self, timeout: float | None) -> list[Finished]:
        if not self._futures:
            if timeout:
                time.sleep(timeout)  # nothing in flight: a backoff or a rate limit
            return []
        done, _ = wait(self._futures, timeout=timeout, return_when=FIRST_COMPLETED)
        return [(self._futures.pop(f), f.result()) for f in done]

    def drain(self) -> list[Finished]:
        done = [f for f in self._futures if f.done() and not f.cancelled()]
        return [(self._futures.pop(f), f.result()) for f in done]


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    fetcher = BlockingFetcher(config)
    # Threads start as requests need them, up to the most a knob may turn -c to.
    executor = ThreadPoolExecutor(config.most_in_flight, thread_name_prefix="fetchpool")
    try:
        yield from drive(Scheduler(urls, config), _Window(fetcher, executor))
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        fetcher.close()
