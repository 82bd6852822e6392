"""``processes``: worker processes, each running the ``async`` engine on part of the URLs —
for when parsing (``--extract``), not the network, is the bottleneck.

The parent reads the input lazily and keeps ``concurrency`` URLs in flight in total: each
time records come back, it sends as many new URLs, each to the ready worker holding the
fewest, so a worker that is slow (busy parsing, or still starting) gets less and no capacity
waits on it. Memory stays O(concurrency). Workers send records back as they finish; the
parent hands them on to the single writer, as every engine does.

Exactly one record per URL, even when a worker dies (killed, out of memory, a crash in a
C extension): the parent knows which URLs each worker holds, and each URL a dead worker
held becomes a ``worker-died`` error record. They are not fetched again, because a URL
that kills a worker would kill the next one too; a fresh worker takes over the rest.

Workers are forked from a fork server that has already imported the fetch code (spawned
where there is no fork server), never forked from the caller: forking a process that runs
threads (progress, the test site, a caller's own) can copy a held lock into the child. The
fork server also pays for importing aiohttp once, not once per worker. Either way, as with
any start method but ``fork``, a script that uses this mode must start its work under
``if __name__ == "__main__":``, because each worker imports the script's main module.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Mapping
from itertools import islice
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from ..config import Config
from ..errors import FetchpoolError
from ..records import Record, error_record
from . import _worker
from ._start import process_context, usable_cores

__all__ = ["process_context", "run", "usable_cores"]

#: Workers that die one after another before finishing a single URL: something is wrong
#: with starting them at all, and starting more would loop for ever.
_MAX_BARREN_DEATHS = 3


def _worker_config(config: Config) -> dict[str, Any]:
    """Keyword arguments for a worker's Config: the same policy, in the async mode.

    A worker may be sent up to ``concurrency`` URLs (when the others are busy or starting),
    so it keeps the whole ``concurrency``; the parent bounds the total in flight.

    Every field is passed on, so a policy setting added later reaches the workers too. A
    limit that counts requests (a per-host cap, a rate) then holds per worker, not in total:
    such a limit must be divided here when it is added.
    """
    kwargs = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    kwargs.update(mode="async", processes=None)
    # Mappings such as the read-only headers view do not pickle; plain dicts do.
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in kwargs.items()}


class _Worker:
    """One worker process as the parent sees it: its pipes and the URLs it holds."""

    def __init__(self, context: Any, config: dict[str, Any], number: int) -> None:
        self.holding: Counter[str] = Counter()  # URLs sent and not yet answered
        self.in_flight = 0  # their number
        self.ready = False  # it said so: it has started and can take URLs
        self.told_to_finish = False
        self.delivered = 0
        inbox, self.urls = context.Pipe(duplex=False)
        self.records, outbox = context.Pipe(duplex=False)
        self.process: BaseProcess = context.Process(
            target=_worker.main,
            args=(inbox, outbox, config),
            name=f"fetchpool-worker-{number}",
            daemon=True,  # never outlive the parent, whatever happens to it
        )
        self.process.start()
        # The worker holds its own ends now. Closing ours is what makes `recv` see the end
        # of the pipe (EOFError) when the worker exits, however it exits.
        inbox.close()
        outbox.close()

    def send(self, urls: list[str]) -> None:
        self.holding.update(urls)
        self.in_flight += len(urls)
        self.urls.send(urls)

    def finish(self) -> None:
        self.told_to_finish = True
        with contextlib.suppress(OSError):  # it is gone already; its end of pipe says so
            self.urls.send(None)

    def take(self, packed: list[_worker.Packed]) -> list[Record]:
        self.ready = True  # its first message, empty, says it has started
        records = [_worker.unpack(values) for values in packed]
        for rec in records:
            self.holding[rec.url] -= 1
            if not self.holding[rec.url]:
                del self.holding[rec.url]
        self.in_flight -= len(records)
        self.delivered += len(records)
        return records

    def lost(self) -> list[Record]:
        """The records for the URLs this worker held when it died."""
        self.process.join(timeout=5)
        code = self.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        detail = f"worker process {self.process.pid} died ({how}) while fetching this URL"
        return [error_record(url, "worker-died", detail) for url in self.holding.elements()]

    def stop(self) -> None:
        for conn in (self.urls, self.records):
            conn.close()
        if self.process.is_alive():
            self.process.terminate()


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    context = process_context(_worker.__name__)
    count = min(config.processes or usable_cores(), config.concurrency)
    worker_config = _worker_config(config)
    source = iter(urls)
    workers: list[_Worker] = []
    started = 0
    barren_deaths = 0

    def start() -> _Worker:
        nonlocal started
        started += 1
        return _Worker(context, worker_config, started)

    try:
        workers = [start() for _ in range(count)]
        exhausted = False
        while workers:
            exhausted = _feed(workers, source, exhausted, config.concurrency)
            by_conn = {w.records: w for w in workers}
            for conn in wait(list(by_conn)):
                assert isinstance(conn, Connection)
                worker = by_conn[conn]
                try:
                    packed = conn.recv()
                except (EOFError, OSError):  # the worker exited, all it sent was read
                    workers.remove(worker)
                    if worker.told_to_finish and not worker.holding:
                        worker.process.join()
                        continue
                    barren_deaths = 0 if worker.delivered else barren_deaths + 1
                    yield from worker.lost()
                    worker.stop()
                    if barren_deaths >= _MAX_BARREN_DEATHS:
                        raise FetchpoolError(
                            f"worker processes keep dying before finishing a URL (the last: "
                            f"exit code {worker.process.exitcode}); a script that uses the "
                            f"processes mode must start it under `if __name__ == '__main__':`"
                        ) from None
                    if not exhausted:
                        workers.append(start())
                    continue
                yield from worker.take(packed)
    except KeyboardInterrupt:
        # Hand over what the workers already sent, without waiting for anything more.
        for worker in workers:
            budget = worker.in_flight
            while budget > 0 and _ready(worker.records):
                try:
                    got = worker.take(worker.records.recv())
                except (EOFError, OSError):
                    break
                budget -= len(got)
                yield from got
        raise
    finally:
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=2)


def _feed(workers: list[_Worker], source: Iterator[str], exhausted: bool, limit: int) -> bool:
    """Bring the URLs in flight up to ``limit``, each new one to the ready worker holding
    the fewest; once the input has run out, tell every worker to finish. Returns whether
    the input has run out."""
    ready = [w for w in workers if w.ready and not w.told_to_finish]
    room = limit - sum(w.in_flight for w in workers)
    if ready and room > 0 and not exhausted:
        batch = list(islice(source, room))
        exhausted = len(batch) < room
        shares: dict[_Worker, list[str]] = {w: [] for w in ready}
        for url in batch:
            least = min(ready, key=lambda w: w.in_flight + len(shares[w]))
            shares[least].append(url)
        for worker, urls in shares.items():
            if urls:
                # If it died, its end of pipe says so, and these URLs are among the ones
                # it holds: they become its worker-died records.
                with contextlib.suppress(OSError):
                    worker.send(urls)
    if exhausted:
        for worker in workers:
            if not worker.told_to_finish:
                worker.finish()
    return exhausted


def _ready(conn: Connection) -> bool:
    try:
        return conn.poll(0)
    except OSError:
        return False
