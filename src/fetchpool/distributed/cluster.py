"""``--cluster``: batches of URLs as tasks on a Dask cluster, records streamed back.

Not a mode but a place: each task runs the normal fetch path (:func:`fetchpool.modes.run`
with the engine ``config.mode`` names, ``curl`` by default) on one batch of URLs on a Dask
worker, and returns the batch's records. The client reads the input lazily, keeps
:data:`BATCHES_PER_THREAD` batches per worker thread in flight (so memory does not grow with
the input), and yields each batch's records as it finishes, in the order batches finish; the
caller writes them with its single writer, as with every engine (so outputs, ``--resume``,
progress and the summary work unchanged).

Limits: the cluster's worker threads are counted once, at the start (a task runs on one
thread). ``concurrency``, ``per_host`` (at least 1 each), the look-ahead, ``rate`` and
``host_rate`` are split between them (:func:`fetchpool.distributed.processes.worker_configs`),
so the totals hold across the cluster while it keeps the size it had at the start.

With ``robots``, URLs go to lanes by host (:class:`_Lanes`, as ``-m processes`` routes
them to its workers): a lane has one batch in flight at a time, which takes the robots.txt
verdicts the lane's earlier batches learnt (``Config.robots_memory``) and returns them with
its records, so each origin's robots.txt is fetched once in the run.

A run steered by a knob (:mod:`fetchpool.knob`) is steered a batch at a time: while it
is paused no batch is submitted (those submitted already, running or queued on a worker, run
as usual), and a batch submitted
after the concurrency was turned takes its share of the new limit. A stop request ends the
run as Ctrl-C. The knob's ``in_flight`` stays None: the client cannot see the requests.

Exactly one record per URL: each batch's result is taken once (the future that ran it is
forgotten as it is taken), and only one record for each URL sent in it (a second copy is
dropped; a URL that came back without one gets an ``internal`` error record). A worker that
dies mid-batch: Dask runs the batch again on another worker, and only that run's records
are taken. When Dask gives up on a batch (it killed ``distributed.scheduler.allowed-failures``
workers), its URLs become ``worker-died`` records; another failure of a task becomes
``internal`` records, and a run whose first batches all fail that way stops (fetchpool is
not importable on the workers, say). A body sink failure (a full disk under ``--save-dir``)
ends the run with the sink's error.

``distributed`` is imported only here, on first use: ``pip install 'fetchpool[dask]'``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..config import Config, parse_cluster
from ..core.drive import TICK
from ..errors import FetchpoolError, OutputError, UsageError
from ..knob import Knob
from ..records import Record, error_record
from .processes import host_slot, worker_configs
from .worker import Packed, pack, unpack

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

__all__ = ["BATCHES_PER_THREAD", "BATCH_ROUNDS", "fetch_batch", "run", "task_config"]

#: URLs in one task, in units of a task's share of ``concurrency``: many, so that a task's
#: start and its last requests (fewer in flight) are a small part of it (measured in
#: BENCHMARKS.md); not more, since a batch's records come back only when it ends, and a
#: batch is fetched again after its worker died.
BATCH_ROUNDS = 32
#: Batches in flight per worker thread: one running, one queued to start the moment it ends.
BATCHES_PER_THREAD = 2
#: Seconds to reach a scheduler.
CONNECT_TIMEOUT = 10.0
#: Seconds for a cluster to have a worker (one being deployed may still start them).
WORKERS_TIMEOUT = 60.0
#: Tasks that fail (not a killed worker) before any batch succeeds: the workers cannot run
#: fetchpool at all, and going on would turn every URL into an error record.
_MAX_BARREN_FAILURES = 3
_CLOSING = frozenset({"closing", "closed", "closing_gracefully", "failed"})
_MISSING = "--cluster needs Dask: pip install 'fetchpool[dask]'"


def fetch_batch(
    urls: list[str], config: dict[str, Any], memory: dict[Any, Any] | None = None
) -> list[Packed] | tuple[list[Packed], dict[Any, Any]]:
    """On a Dask worker: fetch one batch through the normal path; its records, packed.
    ``config``: keyword arguments for Config. With ``memory`` (``--robots``: the verdicts
    its lane knows), the records and the verdicts it knows after the batch."""
    from distributed import Reschedule, get_worker

    from ..modes import run as run_engine

    worker = get_worker()
    cfg = Config(**{**config, "robots_memory": memory})
    check: Callable[[], None] | None = getattr(cfg.body_sink, "check", None)
    packed = []
    with contextlib.closing(run_engine(urls, cfg)) as records:
        for record in records:
            if check is not None:
                check()  # a body lost: fail the task, so this record is never written
            if worker.status.name in _CLOSING:
                # Dask cannot stop a running task: a worker closing (the run was interrupted,
                # or the cluster shrinks) would wait for the whole batch. Stop now, and let the
                # scheduler run the batch elsewhere, if anywhere: no URL is lost either way.
                raise Reschedule()
            packed.append(pack(record))
    return packed if memory is None else (packed, memory)


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    assert config.cluster is not None
    distributed = _import()
    _check_pickles(config)  # before a cluster is started for nothing
    client, cluster = _connect(distributed, config.cluster)
    # The batches in flight, by the future running each.
    futures: dict[Future[Any], list[str]] = {}
    try:
        threads = sum(client.nthreads().values())  # counted once, at the start
        kwargs = task_config(config, threads)
        source = iter(urls)
        pending = distributed.as_completed()
        knob = config.knob
        seen = -1  # the knob's limit applies from the first batch
        exhausted = False
        # --robots: each host's URLs in one lane, whose batches run one after another and
        # share what they learn of robots.txt, so each origin's is fetched once in the run.
        lanes = _Lanes(BATCHES_PER_THREAD * threads) if config.robots else None

        def submit() -> bool:
            nonlocal kwargs, seen, exhausted
            if knob is not None:
                if knob.paused or exhausted:
                    return not exhausted
                if knob.version != seen:  # the concurrency turned: the next batches' share
                    seen = knob.version
                    turned = dataclasses.replace(config, concurrency=knob.concurrency)
                    kwargs = task_config(turned, threads)
            # a batch is BATCH_ROUNDS rounds of its share of the limit (the knob's, if turned)
            size = BATCH_ROUNDS * kwargs["concurrency"]
            if lanes is not None:
                return _submit_lane(lanes, source, size, kwargs, client, futures, pending)
            batch = list(islice(source, size))
            exhausted = not batch
            if batch:
                future = client.submit(fetch_batch, batch, kwargs, pure=False)
                futures[future] = batch
                pending.add(future)
            return bool(batch)

        for _ in range(BATCHES_PER_THREAD * threads):
            if not submit():
                break

        def refill() -> None:
            while len(futures) < BATCHES_PER_THREAD * threads and submit():
                if knob is not None and knob.paused:
                    return

        succeeded = failed = 0
        for future in _completed(pending, knob, refill):
            batch = futures.pop(future, None)
            if batch is None:
                continue  # taken already: each batch's records once
            records, ok = _take(distributed, future, batch, lanes)
            succeeded += ok
            failed += not ok
            yield from records
            if not succeeded and failed >= _MAX_BARREN_FAILURES:
                detail = (records[0].error or "").partition(": ")[2]
                raise FetchpoolError(
                    f"the Dask workers cannot fetch ({detail}); fetchpool, the same "
                    "version, must be installed where the workers run"
                )
            submit()
    except KeyboardInterrupt:
        # Hand over the batches that had finished, without waiting for the others.
        for future in list(futures):
            if future.status == "finished":
                records, _ = _take(distributed, future, futures.pop(future), lanes)
                yield from records
        raise
    finally:
        _close(client, cluster, list(futures))


def _completed(
    pending: Any, knob: Knob | None, refill: Callable[[], None]
) -> Iterator[Future[list[Packed]]]:
    """The futures as they finish. Steered by a knob, the loop looks at it every TICK:
    a stop request raises KeyboardInterrupt (as Ctrl-C), and batches are topped up
    (``refill``) unless it is paused; it ends when nothing runs and nothing is left."""
    if knob is None:
        yield from pending
        return
    while True:
        if knob.stopping:
            raise KeyboardInterrupt
        refill()
        done = pending.next_batch(block=False)
        if done:
            yield from done
        elif pending.is_empty() and not knob.paused:
            return
        else:
            time.sleep(TICK)


def task_config(config: Config, threads: int) -> dict[str, Any]:
    """Keyword arguments for the Config of every batch, on a cluster of ``threads`` worker
    threads: the limits split between them, each thread's share the smallest one (any batch
    may run on any thread), at least 1 request in flight."""
    kwargs = worker_configs(config, threads, mode=config.mode)[-1]
    kwargs["concurrency"] = max(1, kwargs["concurrency"])
    return kwargs


def _take(
    distributed: Any, future: Future[Any], batch: list[str], lanes: _Lanes | None = None
) -> tuple[list[Record], bool]:
    """The records of a finished task, one per URL of ``batch``; and whether it ran. (With
    lanes, the task's lane is free again, and knows what the task learnt.)"""
    lane = None if lanes is None else lanes.ended(future)
    try:
        packed = future.result()
        if lane is not None:
            packed, lane.memory = packed
    except OutputError as exc:
        raise type(exc)(str(exc)) from exc
    except distributed.KilledWorker as exc:
        detail = f"the Dask workers running this URL's batch kept dying ({exc})"
        return [error_record(url, "worker-died", detail) for url in batch], True
    except Exception as exc:
        detail = f"its batch failed on the Dask worker: {type(exc).__name__}: {exc}"
        return [error_record(url, "internal", detail) for url in batch], False
    return _one_each(batch, (unpack(values) for values in packed)), True


class _Lane:
    """URLs waiting for a lane's next batch, its batch in flight, and the robots.txt
    verdicts its batches have learnt."""

    __slots__ = ("busy", "memory", "waiting")

    def __init__(self) -> None:
        self.waiting: list[str] = []
        self.busy: Any = None  # the future of its batch in flight
        self.memory: dict[Any, Any] = {}


class _Lanes:
    """``--robots`` on a cluster: URLs routed to ``count`` lanes by host (crc32, as
    ``-m processes`` routes them to its workers), one batch in flight per lane."""

    def __init__(self, count: int) -> None:
        self.lanes = [_Lane() for _ in range(count)]
        self.exhausted = False
        self._by_future: dict[Any, _Lane] = {}

    def route(self, url: str) -> _Lane:
        return self.lanes[host_slot(url, len(self.lanes))]

    def started(self, lane: _Lane, future: Any) -> None:
        lane.busy = future
        self._by_future[future] = lane

    def ended(self, future: Any) -> _Lane | None:
        lane = self._by_future.pop(future, None)
        if lane is not None:
            lane.busy = None
        return lane


def _submit_lane(
    lanes: _Lanes, source: Iterator[str], size: int, kwargs: dict[str, Any], client: Client,
    futures: dict[Any, list[str]], pending: Any,
) -> bool:  # fmt: skip
    """Read until an idle lane has a batch (or the input ends), and submit it; False when
    nothing could be submitted (every lane with URLs busy, or nothing left)."""
    while not lanes.exhausted:
        ready = next((ln for ln in lanes.lanes if ln.busy is None and len(ln.waiting) >= size),
                     None)  # fmt: skip
        if ready is not None:
            break
        if any(ln.busy is not None and len(ln.waiting) >= size for ln in lanes.lanes):
            return False  # a busy lane is full: wait for it, reading no further
        url = next(source, None)
        if url is None:
            lanes.exhausted = True
            break
        lanes.route(url).waiting.append(url)
    else:
        ready = None
    if ready is None:  # the input ended: any idle lane with URLs
        ready = next((ln for ln in lanes.lanes if ln.busy is None and ln.waiting), None)
    if ready is None:
        return False
    batch, ready.waiting = ready.waiting[:size], ready.waiting[size:]
    future = client.submit(fetch_batch, batch, kwargs, ready.memory, pure=False)
    lanes.started(ready, future)
    futures[future] = batch
    pending.add(future)
    return True


def _one_each(batch: list[str], records: Iterator[Record]) -> list[Record]:
    """One record for each URL of ``batch``: a second copy is dropped, a URL without one
    gets an ``internal`` error record."""
    owed = Counter(batch)
    taken = []
    for rec in records:
        if owed[rec.url] > 0:
            owed[rec.url] -= 1
            taken.append(rec)
    detail = "the Dask worker returned no record for this URL"
    taken += [error_record(url, "internal", detail) for url in owed.elements()]
    return taken


def _check_pickles(config: Config) -> None:
    """The settings go to the workers pickled (by cloudpickle, as Dask sends tasks)."""
    import cloudpickle

    try:
        cloudpickle.dumps(worker_configs(config, 1, mode=config.mode))
    except Exception as exc:
        raise UsageError(
            f"--cluster sends its settings to the Dask workers, and these do not pickle "
            f"({type(exc).__name__}: {exc}); a body_sink must be a picklable object"
        ) from exc


def _import() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise UsageError(_MISSING) from exc
    return distributed


def _connect(distributed: Any, address: str) -> tuple[Client, LocalCluster | None]:
    """A client of the cluster ``address`` names, once it has a worker; and the cluster it
    started, for ``local:N``."""
    workers = parse_cluster(address)
    # distributed logs each worker's start and stop, and warns of the interrupted tasks and
    # the workers it ends, on stderr under the progress bar; its errors still show.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    try:
        if isinstance(workers, int):
            cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # Its workers log errors of their own teardown (a heartbeat to the scheduler
                # closing before them); what goes wrong in a batch comes back as its result.
                silence_logs=logging.CRITICAL,
            )
            client = distributed.Client(cluster)
            client.register_plugin(_ignore_sigint(distributed), name="fetchpool-ignore-sigint")
        else:
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        why = re.sub(r"\s+", " ", str(exc)).strip() or type(exc).__name__
        raise UsageError(f"cannot use the Dask cluster {address}: {why}") from exc
    return client, cluster


def _ignore_sigint(distributed: Any) -> Any:
    """A plugin that makes a worker of a ``local:N`` cluster ignore SIGINT, SIGTERM and
    SIGHUP: Ctrl-C and a closed terminal reach the whole process group, systemd's SIGTERM
    the whole control group, and only the client decides what they mean (it writes what
    finished, then ends the workers); the workers would otherwise die with tracebacks."""

    class IgnoreSigint(distributed.WorkerPlugin):  # type: ignore[misc]
        def setup(self, worker: Any) -> None:
            import signal
            import threading

            if threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_IGN)

    return IgnoreSigint()


def _close(
    client: Client, cluster: LocalCluster | None, futures: list[Future[list[Packed]]]
) -> None:
    with contextlib.suppress(Exception):
        if futures:
            client.cancel(futures)
    with contextlib.suppress(Exception):
        client.close(timeout=5)
    if cluster is not None:
        with contextlib.suppress(Exception):
            cluster.close(timeout=10)
