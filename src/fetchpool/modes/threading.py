"""``threading``: plain ``threading.Thread`` workers fed by a queue — the low-level way, done right.

Workers append finished attempts to one shared list. The lesson guards it with
``with threading.Lock():``, which makes a new lock on every call and so excludes
nobody; here ONE lock, created once, guards the list, and a condition on that same
lock wakes the reader when attempts finish. Only the reader touches the scheduler.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable

from ..config import Config
from ..core.drive import Finished, drive
from ..core.outcome import safe_get
from ..core.scheduler import Job, Scheduler
from ..records import Record
from ..transports.urllib3 import BlockingFetcher

__all__ = ["run"]

_STOP = None


class _Workers:
    """``concurrency`` threads taking jobs from a queue and posting what they got; more
    start when a knob turns the concurrency up, up to ``most``."""

    def __init__(self, fetcher: BlockingFetcher, count: int, most: int) -> None:
        self._fetcher = fetcher
        self._most = most
        self._busy = 0  # jobs submitted and not yet collected
        self._todo: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._results: list[Finished] = []
        self._lock = threading.Lock()  # the one lock every worker shares
        self._arrived = threading.Condition(self._lock)
        self._threads = [
            threading.Thread(target=self._work, name=f"fetchpool-{i}", daemon=True)
            for i in range(count)
        ]
        for t in self._threads:
            t.start()

    def _grow(self) -> None:
        t = threading.Thread(target=self._work, name=f"fetchpool-{len(self._threads)}", daemon=True)
        self._threads.append(t)
        t.start()

    def _work(self) -> None:
        while (job := self._todo.get()) is not _STOP:
            outcome = safe_get(self._fetcher.get, job.target, job.time_left, job.foreign, job.url)
            with self._arrived:
                self._results.append((job, outcome))
                self._arrived.notify()

    def submit(self, job: Job) -> None:
        self._busy += 1
        if self._busy > len(self._threads) and len(self._threads) < self._most:
            self._grow()  # the concurrency was turned up: one thread more
        self._todo.put(job)

    def collect(self, timeout: float | None) -> list[Finished]:
        with self._arrived:
            if not self._results:
                self._arrived.wait(timeout)
            return self._take()

    def drain(self) -> list[Finished]:
        with self._lock:
            return self._take()

    def _take(self) -> list[Finished]:
        batch, self._results = self._results, []
        self._busy -= len(batch)
        return batch

    def stop(self) -> None:
        for _ in self._threads:
            self._todo.put(_STOP)


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    fetcher = BlockingFetcher(config)
    workers = _Workers(fetcher, config.concurrency, config.most_in_flight)
    try:
        yield from drive(Scheduler(urls, config), workers)
    finally:
        workers.stop()
        fetcher.close()
