"""Name lookups bounded by the attempt's deadline, on a bounded pool of threads.

``getaddrinfo`` cannot be interrupted: a name whose server never answers holds the thread
that asked for glibc's whole timeout (10 s with the default resolv.conf), whatever the
attempt allowed. So no transport asks it directly. A lookup runs on a thread of a
:class:`Resolver`; the attempt waits for the answer at most until its deadline, then
abandons it (the thread ends on its own, later) and goes on to its next URL.

- Every caller gets a future of its own: cancelling it (an abandoned lookup, a cancelled
  task) never disturbs another caller waiting for the same name, whose lookup is shared.
- Threads are made as lookups come and end when none is queued: at most ``threads``,
  sized by the transports for the concurrency (the lookups waited for) and as many again
  for abandoned ones, not for the cores. A lookup nobody waits for any more by the time a
  thread is free is never made.
- Successful answers are kept for the run (in memory, per resolver); failures are not.
- Threads are daemons: the run ends when its last record is written, not when an
  abandoned lookup returns.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # concurrent.futures (and the logging it loads) waits for the first lookup
    from concurrent.futures import Future

__all__ = [
    "Address",
    "LookupTimedOut",
    "Resolver",
    "is_ip_literal",
    "pool_size",
    "system_lookup",
]

#: One address of a name: its family (``socket.AF_INET`` / ``AF_INET6``) and its text.
Address = tuple[int, str]
Lookup = Callable[[str], list[Address]]


class LookupTimedOut(Exception):
    """The name lookup had no answer by the attempt's deadline (it was abandoned)."""


def pool_size(concurrency: int) -> int:
    """Threads for a run of ``concurrency`` attempts at once: one for every lookup waited
    for, as many again for abandoned ones still running, and a few to spare."""
    return 2 * concurrency + 8


def system_lookup(host: str) -> list[Address]:
    """The addresses of ``host`` from the system resolver (IPv4 and IPv6, in its order).
    Raises socket.gaierror."""
    import socket  # here: a run over addresses only never loads it (2 ms with selectors)

    found: list[Address] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM):
        if family in (socket.AF_INET, socket.AF_INET6):
            address = (int(family), str(sockaddr[0]))
            if address not in found:
                found.append(address)
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, "no IPv4 or IPv6 address")
    return found


def is_ip_literal(host: str) -> bool:
    """True for an IPv4 or IPv6 address (brackets allowed), which needs no lookup."""
    if host[:1].isalpha() and not host.startswith(("[", ":")):
        return False  # the common case, a name: no parse
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


class _Task:
    __slots__ = ("host", "waiters")

    def __init__(self, host: str) -> None:
        self.host = host
        self.waiters: list[Future[list[Address]]] = []


class Resolver:
    """Lookups on at most ``threads`` threads, cached for the run (see the module)."""

    def __init__(
        self,
        threads: int,
        lookup: Lookup = system_lookup,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        self._limit = threads
        self._lookup = lookup
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, list[Address]] = {}
        self._pending: dict[str, _Task] = {}  # host -> its lookup, queued or running
        self._queue: deque[_Task] = deque()
        self.threads = 0  # threads alive now (looking up, or about to end)

    def cached(self, host: str) -> list[Address] | None:
        """The addresses of ``host`` found earlier in the run, or None."""
        return self._cache.get(host.lower())

    def looking_up(self, host: str | None) -> bool:
        """True while a lookup of ``host`` is queued or running."""
        return host is not None and host.lower() in self._pending

    def submit(self, host: str) -> Future[list[Address]]:
        """A future of the addresses of ``host`` (socket.gaierror when it has none), the
        caller's own: cancel it to abandon the lookup."""
        from concurrent.futures import Future

        key = host.lower()
        mine: Future[list[Address]] = Future()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                mine.set_result(hit)
                return mine
            task = self._pending.get(key)
            if task is None:
                task = self._pending[key] = _Task(key)
                self._queue.append(task)
                if self.threads < self._limit:
                    self.threads += 1
                    worker = threading.Thread(
                        target=self._work, name="fetchpool-lookup", daemon=True
                    )
                    worker.start()
            task.waiters.append(mine)
        return mine

    def resolve(self, host: str, at: float) -> list[Address]:
        """The addresses of ``host``, waiting until ``at`` (on the resolver's clock) at
        most. Raises LookupTimedOut after that, socket.gaierror for a name that does not
        resolve."""
        from concurrent.futures import TimeoutError as FutureTimeout

        future = self.submit(host)
        try:
            return future.result(timeout=max(0.0, at - self._clock()))
        except FutureTimeout:
            future.cancel()
            raise LookupTimedOut(f"no answer for {host} in time") from None

    def _work(self) -> None:
        from concurrent.futures import InvalidStateError

        while True:
            with self._lock:
                if not self._queue:
                    self.threads -= 1
                    return
                task = self._queue.popleft()
                if all(w.cancelled() for w in task.waiters):
                    del self._pending[task.host]  # abandoned before it began: not made
                    continue
            try:
                found: list[Address] | BaseException = self._lookup(task.host)
            except Exception as exc:
                found = exc
            with self._lock:
                del self._pending[task.host]
                if not isinstance(found, BaseException):
                    self._cache[task.host] = found
                waiters = task.waiters
            for waiter in waiters:
                try:
                    if isinstance(found, BaseException):
                        waiter.set_exception(found)
                    else:
                        waiter.set_result(found)
                except InvalidStateError:  # that caller abandoned it
                    pass
