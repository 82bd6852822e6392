"""``sequential``: one URL after another; the baseline every speedup is measured against."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Generator, Iterable

from ..config import Config
from ..core.drive import Finished, drive
from ..core.outcome import safe_get
from ..core.scheduler import Job, Scheduler
from ..records import Record
from ..transports.urllib3 import BlockingFetcher

__all__ = ["run"]


class _Inline:
    """Runs each attempt as it is submitted, on the calling thread; waits by sleeping."""

    def __init__(self, fetcher: BlockingFetcher) -> None:
        self._fetcher = fetcher
        self._done: list[Finished] = []

    def submit(self, job: Job) -> None:
        self._done.append(
            (job, safe_get(self._fetcher.get, job.target, job.time_left, job.foreign, job.url))
        )

    def collect(self, timeout: float | None) -> list[Finished]:
        if not self._done and timeout:
            time.sleep(timeout)  # a backoff or a rate limit: nothing else to do
        return self.drain()

    def drain(self) -> list[Finished]:
        done, self._done = self._done, []
        return done


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    config = dataclasses.replace(config, concurrency=1)  # one at a time, whatever -c says
    fetcher = BlockingFetcher(config)
    try:
        yield from drive(Scheduler(urls, config), _Inline(fetcher))
    finally:
        fetcher.close()
