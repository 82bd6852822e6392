"""The whole-attempt deadline, and the watchdog that enforces it on blocking sockets.

A socket timeout bounds each read, not the attempt: a server that sends one byte a second
keeps a blocking read (and http.client's buffered reads loop over many) busy forever.
So every blocking attempt gets a :class:`Guard` from one :class:`Watchdog` thread; at the
deadline the guard runs the "cuts" registered with it (the blocking fetcher shuts the
attempt's socket down), which wakes the blocked read at once, and sets ``fired`` so the
fetcher reports a timeout rather than whatever error the cut caused. asyncio code needs
none of this: ``asyncio.timeout`` cancels the whole attempt.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator

__all__ = ["Deadline", "Guard", "Watchdog"]


class Deadline:
    """``seconds`` from now, on ``clock``: how much is left, for each step of an attempt."""

    __slots__ = ("_clock", "at", "seconds")

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.seconds = seconds
        self.at = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - self._clock())

    def expired(self) -> bool:
        return self._clock() >= self.at

    def connect(self, connect_timeout: float | None) -> float:
        """The time allowed to connect now: what is left, at most ``connect_timeout``."""
        left = self.remaining()
        return left if connect_timeout is None else min(left, connect_timeout)


class Guard:
    """One attempt's deadline: when it passes, every registered cut runs once."""

    __slots__ = ("_cuts", "_lock", "at", "closed", "fired")

    def __init__(self, at: float) -> None:
        self.at = at
        self.fired = False
        self.closed = False
        self._cuts: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def on_expiry(self, cut: Callable[[], None]) -> None:
        """Run ``cut`` at the deadline (at once if it has passed)."""
        with self._lock:
            if not self.fired:
                self._cuts.append(cut)
                return
        _quietly(cut)

    def fire(self) -> None:
        with self._lock:
            if self.closed or self.fired:
                return
            self.fired = True
            cuts, self._cuts = self._cuts, []
        for cut in cuts:
            _quietly(cut)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._cuts = []


class Watchdog:
    """One thread that fires guards at their deadlines. Cheap when nothing expires: a guard
    closed in time is dropped, and the heap is rebuilt when closed ones pile up."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Guard]] = []
        self._seq = itertools.count()
        self._live = 0
        self._thread: threading.Thread | None = None
        self._stopping = False

    @contextlib.contextmanager
    def guard(self, at: float) -> Iterator[Guard]:
        """A guard firing at ``at`` (on this watchdog's clock) while the block runs."""
        g = Guard(at)
        with self._cond:
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(
                    target=self._run, name="fetchpool-watchdog", daemon=True
                )
                self._thread.start()
            first = not self._heap or at < self._heap[0][0]
            heapq.heappush(self._heap, (at, next(self._seq), g))
            self._live += 1
            if len(self._heap) > 2 * self._live + 64:
                self._heap = [e for e in self._heap if not e[2].closed]
                heapq.heapify(self._heap)
            if first:
                self._cond.notify()
        try:
            yield g
        finally:
            g.close()
            with self._cond:
                self._live -= 1

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                due: Guard | None = None
                while due is None:
                    if self._stopping:
                        return
                    while self._heap and self._heap[0][2].closed:
                        heapq.heappop(self._heap)
                    wait = self._heap[0][0] - self._clock() if self._heap else math.inf
                    if wait <= 0:
                        due = heapq.heappop(self._heap)[2]
                    else:
                        self._cond.wait(None if wait == math.inf else wait)
            due.fire()  # outside the lock: a cut may take a moment


def _quietly(cut: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):
        cut()
