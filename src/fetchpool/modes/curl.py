"""``curl``: libcurl's multi interface (pycurl) — the network loop runs in C.

One thread, one multi handle, at most ``concurrency`` easy handles, each reused from
request to request (and its connection with it). The mode only says how requests run at
once, like every other mode: the shared scheduler (:mod:`fetchpool.core.scheduler`, through
:func:`fetchpool.core.drive.drive`) decides which request starts when — per-host and rate
limits, look-ahead — and what an ended one leads to: a record, a redirect hop, or a retry
after a backoff or a ``Retry-After``. Each libcurl transfer is one request of one attempt
(:class:`fetchpool.transports.curl.Transfer`): no redirect is followed by libcurl, and its
outcome goes back to the scheduler.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable

from ..config import Config
from ..core.drive import Finished, drive
from ..core.outcome import Outcome
from ..core.scheduler import Job, Scheduler
from ..records import Record
from ..transports.curl import CurlError, Transfer, Transfers
from ..transports.keep import kept_connections

__all__ = ["run"]

#: Longest wait for network events before the loop looks around again (seconds).
_TICK = 0.5


class _Multi:
    """The :class:`~fetchpool.core.drive.Runner` of the curl mode: jobs become transfers
    on the multi handle; ended transfers become ``(job, outcome)`` pairs."""

    def __init__(self, config: Config, scheduler: Scheduler) -> None:
        self._config = config
        self._scheduler = scheduler
        self._multi: Transfers | None = None  # made at the first request (see _transfers)
        self._idle: list[Transfer] = []
        self._ready: list[Finished] = []  # ended without reaching libcurl, or after Ctrl-C

    @property
    def _transfers(self) -> Transfers:
        """The multi handle, made when the first request starts: by then the scheduler has
        read its look-ahead, and the hosts in it say whether to keep a connection for more
        hosts than the select path can (see :mod:`fetchpool.transports.keep`)."""
        if self._multi is None:
            cfg = self._config
            many = self._scheduler.hosts_known > kept_connections(cfg.concurrency, select=True)
            self._multi = Transfers(cfg, many_hosts=many)
        return self._multi

    def submit(self, job: Job) -> None:
        transfer = self._idle.pop() if self._idle else self._transfers.new()
        try:
            transfer.start(job)
        except UnicodeError as exc:  # a host IDNA cannot encode: nothing was sent
            self._idle.append(transfer)
            self._ready.append((job, Outcome.failed("invalid-url", f"cannot encode: {exc}")))
            return
        except CurlError as exc:  # a URL libcurl refuses (too long...): nothing was sent
            self._idle.append(transfer)
            transfer.job = None
            self._ready.append((job, _refused(exc)))
            return
        self._transfers.add(transfer)

    def collect(self, timeout: float | None) -> list[Finished]:
        if self._ready:
            done, self._ready = self._ready, []
            return done
        if self._multi is None or not self._multi.running:
            if timeout:
                time.sleep(timeout)  # nothing in flight: a backoff or a rate limit
            return []
        until = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = _TICK if until is None else max(0.0, min(_TICK, until - time.monotonic()))
            done = self._ended(wait)
            if done or (until is not None and time.monotonic() >= until):
                return done

    def drain(self) -> list[Finished]:
        done, self._ready = self._ready, []
        return done + self._ended(0.0)

    def _ended(self, wait: float) -> list[Finished]:
        done: list[Finished] = []
        if self._multi is None:
            return done
        interrupted = False
        for transfer, code, message in self._transfers.finished(wait):
            job = transfer.job
            outcome = transfer.outcome(code, message)
            self._idle.append(transfer)
            if transfer.interrupted:
                interrupted = True  # Ctrl-C landed in a callback: that request is dropped
            elif job is not None:
                done.append((job, outcome))
        if interrupted:
            self._ready.extend(done)  # handed over by drain(), after the interrupt
            raise KeyboardInterrupt
        return done

    def close(self) -> None:
        if self._multi is not None:
            self._multi.close()


def _refused(exc: CurlError) -> Outcome:
    """The outcome of a URL libcurl would not take (``setopt`` raised)."""
    code, message = (*exc.args, None, "")[:2]
    detail = " ".join(str(message).split()) or "refused"
    return Outcome.failed("invalid-url", f"libcurl refused the URL (error {code}): {detail}")


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    scheduler = Scheduler(urls, config)
    multi = _Multi(config, scheduler)
    try:
        yield from drive(scheduler, multi)
    finally:
        multi.close()
