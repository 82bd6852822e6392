"""``processes``: worker processes, each running the ``async`` engine on part of the URLs —
for when parsing (``--extract``), not the network, is the bottleneck.

Each worker runs the normal fetch path (:func:`fetchpool.modes.run` in the ``async``
mode), so its own scheduler applies the policy to the URLs it is sent, and its body sinks
(``--save-dir``, ``--extract``) run where the bodies are read. The limits are split between
the N workers (:func:`worker_configs`): worker i gets its share of ``concurrency`` (so the
total in flight is ``concurrency``), of ``per_host`` (at least 1 each, so the total to one
host is at most max(``per_host``, N)), of the look-ahead, and ``rate``/N and
``host_rate``/N. Retries, backoff, Retry-After and the 429 slow-down are each worker's own:
a 429 slows only the worker that got it.

The parent reads the input lazily and sends each worker URLs up to a fixed credit (twice its
share of ``concurrency``, plus its share of the look-ahead), in consecutive runs in proportion
to the room each has; more go out as records come back, so memory stays O(concurrency + look-ahead).
Records stream back to the parent, which hands them to the single writer as every engine
does (so outputs, ``--resume`` and skipping repeated URLs happen in the parent). A body sink
failure in a worker (a full disk under ``--save-dir``) comes back to the parent and ends the
run there with the sink's error; the factory in ``body_sink`` must pickle.

A run steered by a knob (:mod:`fetchpool.knob`) is steered in each worker: the parent
sends every worker its share of the concurrency and the pause, which its own scheduler
applies; a stop request ends the run in the parent as Ctrl-C. The number of workers stays
what it was at the start, and each keeps at least 1 request in flight (a limit turned below
the number of workers is that number: a worker with none would never finish the URLs it
holds). The parent cannot tell how many requests are in flight in the workers (the knob's
``in_flight`` stays None).

Exactly one record per URL, even when a worker dies (killed, out of memory, a crash in a
C extension): the parent knows which URLs each worker holds (in flight or waiting in it),
and each URL a dead worker held becomes a ``worker-died`` error record. They are not fetched
again, because a URL that kills a worker would kill the next one too; a fresh worker takes
over the rest.

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
import pickle
import zlib
from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Mapping
from itertools import islice
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from ..config import Config
from ..core.drive import TICK
from ..errors import BodiesError, FetchpoolError, OutputError, UsageError
from ..records import Record, error_record
from ..urls import plain_key
from . import worker as _worker
from .start import process_context, usable_cores

__all__ = ["host_slot", "process_context", "run", "usable_cores", "worker_configs"]

#: Workers that die one after another before finishing a single URL: something is wrong
#: with starting them at all, and starting more would loop for ever.
_MAX_BARREN_DEATHS = 3


def _share(total: int, parts: int, index: int) -> int:
    """Part ``index`` of ``total`` split as evenly as whole numbers go."""
    return total // parts + (1 if index < total % parts else 0)


def worker_configs(
    config: Config, count: int, mode: str = "async", *, by_host: bool = False
) -> list[dict[str, Any]]:
    """Keyword arguments for each of ``count`` workers' Config: the same policy, in the
    ``mode`` engine, with every limit that counts requests split between the workers.
    (The ``cluster`` engine uses it too, with its Dask worker threads as the workers.)

    Every field is passed on, so a setting added later reaches the workers too; a new limit
    that counts requests must be split here when it is added. ``by_host``: each host's URLs
    all go to one worker, so the limits of one host (``per_host``, ``host_rate``) are each
    worker's whole.
    """
    base = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    # A knob steers the parent's run; each worker gets its share of it (see run()).
    base.update(mode=mode, processes=None, cluster=None, knob=None)
    # Mappings such as the read-only headers view do not pickle; plain dicts do.
    base = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
    configs = []
    for i in range(count):
        kwargs = dict(base)
        kwargs["concurrency"] = _share(config.concurrency, count, i)
        if not by_host:
            kwargs["per_host"] = max(1, _share(config.per_host, count, i))
        kwargs["lookahead"] = max(1, _share(config.read_ahead, count, i))
        if config.rate is not None:
            kwargs["rate"] = config.rate / count
        if config.host_rate is not None and not by_host:
            kwargs["host_rate"] = config.host_rate / count
        configs.append(kwargs)
    return configs


class _Worker:
    """One worker process as the parent sees it: its pipes and the URLs it holds."""

    def __init__(self, context: Any, config: dict[str, Any], number: int, slot: int) -> None:
        self.slot = slot  # its place among the workers: a dead one's successor takes it
        self.holding: Counter[str] = Counter()  # URLs sent and not yet answered
        self.in_flight = 0  # their number
        # URLs it may hold: more than its engine reads ahead, so it never waits for input
        # while the parent has some (see _worker.urls).
        self.credit = 2 * config["concurrency"] + config["lookahead"]
        self.config = config
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

    def steer(self, paused: bool, share: int) -> None:
        """Its share of a steered run's limit, and the pause (see the module doc)."""
        self.credit = 2 * share + self.config["lookahead"]
        with contextlib.suppress(OSError):  # it is gone already; its end of pipe says so
            self.urls.send(("knob", paused, share))

    def send(self, urls: list[str]) -> None:
        self.holding.update(urls)
        self.in_flight += len(urls)
        self.urls.send(urls)

    def finish(self) -> None:
        self.told_to_finish = True
        with contextlib.suppress(OSError):  # it is gone already; its end of pipe says so
            self.urls.send(None)

    def take(self, message: tuple[Any, ...]) -> list[Record]:
        """The records in a message from the worker; raises what failed in it."""
        if message[0] == "failed":
            _, kind, detail = message
            if kind == "bodies":
                raise BodiesError(detail)
            if kind == "output":
                raise OutputError(detail)
            raise FetchpoolError(f"worker process {self.process.pid} failed: {detail}")
        self.ready = True  # its first message, empty, says it has started
        records = [_worker.unpack(values) for values in message[1]]
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
    # The fork server imports the worker's engine (aiohttp) once; each worker is forked with it.
    context = process_context(_worker.__name__, f"{__package__}.aio")
    count = min(config.processes or usable_cores(), config.concurrency)
    # --robots: each host's URLs go to one worker, whose scheduler fetches its robots.txt
    # once and holds its verdict for the run.
    configs = worker_configs(config, count, by_host=config.robots)
    knob = config.knob
    if knob is not None:
        for kwargs in configs:
            kwargs["steered"] = True
    try:
        pickle.dumps(configs)
    except Exception as exc:
        raise UsageError(
            f"the processes mode sends its settings to worker processes, and these do not "
            f"pickle ({type(exc).__name__}: {exc}); a body_sink must be a picklable object"
        ) from exc
    source = iter(urls)
    workers: list[_Worker] = []
    started = 0
    barren_deaths = 0
    seen = -1  # the knob's version last sent to the workers

    def start(kwargs: dict[str, Any], slot: int) -> _Worker:
        nonlocal started
        started += 1
        return _Worker(context, kwargs, started, slot)

    try:
        workers = [start(kwargs, slot) for slot, kwargs in enumerate(configs)]
        exhausted = False
        while workers:
            if knob is not None and knob.version != seen:
                if knob.stopping:
                    raise KeyboardInterrupt  # as Ctrl-C: what the workers sent is handed over
                seen = knob.version
                for i, worker in enumerate(workers):
                    share = max(1, _share(knob.concurrency, len(workers), i))
                    worker.steer(knob.paused, share)
            if config.robots:
                exhausted = _feed_by_host(workers, source, exhausted, count)
            else:
                exhausted = _feed(workers, source, exhausted)
            by_conn = {w.records: w for w in workers}
            for conn in wait(list(by_conn), None if knob is None else TICK):
                assert isinstance(conn, Connection)
                worker = by_conn[conn]
                try:
                    message = conn.recv()
                except (EOFError, OSError) as exc:  # the worker exited, all it sent was read
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
                        ) from exc
                    if not exhausted:
                        workers.append(start(worker.config, worker.slot))
                        seen = -1  # the new worker gets its share of a knob too
                    continue
                yield from worker.take(message)
    except KeyboardInterrupt:
        # Hand over what the workers already sent, without waiting for anything more.
        for worker in workers:
            budget = worker.in_flight
            while budget > 0 and _ready(worker.records):
                try:
                    got = worker.take(worker.records.recv())
                except (EOFError, OSError, FetchpoolError):
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


def _feed(workers: list[_Worker], source: Iterator[str], exhausted: bool) -> bool:
    """Once every worker has started, give each up to its credit of URLs: the batch read is
    cut into consecutive runs, one per worker, in proportion to the room each has (runs, not
    every other URL, so that each worker sees the input's mix of hosts). Once the input has
    run out, tell every worker to finish. Returns whether the input has run out."""
    if not exhausted and all(w.ready for w in workers):
        open_ = [w for w in workers if not w.told_to_finish]
        rooms = [max(0, w.credit - w.in_flight) for w in open_]
        room = sum(rooms)
        if room > 0:
            batch = list(islice(source, room))
            exhausted = len(batch) < room
            shares = [len(batch) * r // room for r in rooms]
            for i in sorted(range(len(rooms)), key=lambda i: rooms[i] - shares[i], reverse=True):
                if sum(shares) == len(batch):
                    break
                shares[i] += 1
            start = 0
            for worker, share in zip(open_, shares, strict=True):
                if share:
                    # If it died, its end of pipe says so, and these URLs are among the
                    # ones it holds: they become its worker-died records.
                    with contextlib.suppress(OSError):
                        worker.send(batch[start : start + share])
                    start += share
    if exhausted:
        for worker in workers:
            if not worker.told_to_finish:
                worker.finish()
    return exhausted


def _feed_by_host(
    workers: list[_Worker], source: Iterator[str], exhausted: bool, slots: int
) -> bool:
    """:func:`_feed` for ``--robots``: each URL goes to the worker of its origin's slot, so
    that one worker holds every URL of a host. URLs are read while every worker has room,
    so a worker held back by a slow host holds the input back too (memory stays bounded)."""
    if not exhausted and all(w.ready for w in workers):
        by_slot = {w.slot: w for w in workers if not w.told_to_finish}
        while len(by_slot) == slots and all(w.in_flight < w.credit for w in by_slot.values()):
            room = min(w.credit - w.in_flight for w in by_slot.values())
            batch = list(islice(source, room))
            exhausted = len(batch) < room
            parts: dict[int, list[str]] = {}
            for url in batch:
                parts.setdefault(host_slot(url, slots), []).append(url)
            for slot, part in parts.items():
                with contextlib.suppress(OSError):  # it died: see _feed
                    by_slot[slot].send(part)
            if exhausted:
                break
    if exhausted:
        for worker in workers:
            if not worker.told_to_finish:
                worker.finish()
    return exhausted


def host_slot(url: str, slots: int) -> int:
    """The slot of ``url``'s host among ``slots`` (a worker here, a lane on a cluster): the
    same in every run (crc32, not hash())."""
    key = plain_key(url) or url.partition("://")[2].partition("/")[0].rpartition("@")[2]
    return zlib.crc32(key.lower().encode("utf-8", "surrogatepass")) % slots


def _ready(conn: Connection) -> bool:
    try:
        return conn.poll(0)
    except OSError:
        return False
