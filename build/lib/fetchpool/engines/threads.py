"""``threading``: plain ``threading.Thread`` workers fed by a queue — the low-level way, done right.

Workers append records to one shared list. The lesson guards it with
``with threading.Lock():``, which makes a new lock on every call and so excludes
nobody; here ONE lock, created once, guards the list, and a condition on that same
lock wakes the reader when records arrive.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable

from ..config import Config
from ..records import Record
from ._blocking import BlockingFetcher

__all__ = ["run"]

_STOP = None


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    fetcher = BlockingFetcher(config)
    todo: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    results: list[Record] = []
    lock = threading.Lock()  # the one lock every worker shares
    arrived = threading.Condition(lock)

    def worker() -> None:
        while (url := todo.get()) is not _STOP:
            record = fetcher.fetch(url)
            with arrived:
                results.append(record)
                arrived.notify()

    threads = [
        threading.Thread(target=worker, name=f"fetchpool-{i}", daemon=True)
        for i in range(config.concurrency)
    ]
    for t in threads:
        t.start()
    in_flight = 0  # URLs handed to workers and not yet handed back
    source = iter(urls)
    exhausted = False
    try:
        while True:
            # Keep every worker busy, never more than `concurrency` URLs queued or running.
            while not exhausted and in_flight < config.concurrency:
                url = next(source, _STOP)
                if url is _STOP:
                    exhausted = True
                else:
                    todo.put(url)
                    in_flight += 1
            if in_flight == 0:
                return
            with arrived:
                while not results:
                    arrived.wait()
                batch = results[:]
                results.clear()
            in_flight -= len(batch)
            yield from batch
    except KeyboardInterrupt:
        with lock:
            batch = results[:]
            results.clear()
        yield from batch
        raise
    finally:
        for _ in threads:
            todo.put(_STOP)
        fetcher.close()
