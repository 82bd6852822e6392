"""The knob: what steers a run while it goes, and what it shows of itself.

It is the one object shared between the thread that runs the scheduler (and the single
writer) and the threads that steer or watch: the keys of ``fetchpool fetch``, the control
endpoint, the live display, or a library caller's own thread. Steering: ``pause`` /
``resume`` (nothing new starts; what is in flight finishes), ``set_concurrency`` (the
scheduler's limit, changed without a restart: lowering cancels nothing, raising lets more
start at once), ``stop`` (as Ctrl-C: every finished record is written). Watching:
:meth:`status`, from what the engine (in flight, per host) and the writer (records, their
latency) publish here.

It sits beside the config (which carries it to the engine) rather than in
:mod:`fetchpool.control` with the keys and the endpoint, because the drive loops of the
core read it, and the core imports nothing of the front ends. One lock
guards every field; the engine's side reads ``version`` (a plain int) on each turn and
takes the lock only when something changed.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

from .records import Record
from .stats import Histogram

__all__ = ["DEFAULT_MOST", "Knob"]

#: The highest concurrency a knob can be turned to unless told otherwise (or ``-c`` if higher):
#: the thread pools of the modes that have one are sized to it, and start threads only as used.
DEFAULT_MOST = 1024
#: Seconds of records the rate is measured over.
_RATE_WINDOW = 5.0


class Knob:
    """Steers one run; see the module doc. ``concurrency``: the limit to start with (give
    the run's ``-c``: from the start, the knob's limit is the one that counts); ``most``:
    the highest it may be turned to (the thread pools are sized to it)."""

    def __init__(self, concurrency: int, *, most: int | None = None) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.most = max(concurrency, DEFAULT_MOST if most is None else most)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._concurrency = concurrency
        self._paused = False
        self.stopping = False  # read by the engine on every turn: a plain attribute
        #: Bumped on every change of the steering; the engine compares it with what it saw.
        self.version = 0
        # Published by the engine (in flight) and the writer (records).
        self.in_flight: int | None = None
        self._hosts: list[tuple[str, int]] = []
        self._done = self._ok = self._failed = 0
        self._errors: Counter[str] = Counter()
        self._latency = Histogram()
        self._marks: deque[tuple[float, int]] = deque()
        self._started = time.monotonic()
        #: Where the knob is served over HTTP (``fetchpool.run(control=...)``), or None.
        self.control_url: str | None = None

    # -- steering ----------------------------------------------------------------------

    @property
    def concurrency(self) -> int:
        return self._concurrency

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self._set(paused=True)

    def resume(self) -> None:
        self._set(paused=False)

    def toggle_pause(self) -> bool:
        """Pause a running run, resume a paused one; returns whether it is paused now."""
        with self._lock:
            paused = not self._paused
        self._set(paused=paused)
        return paused

    def set_concurrency(self, n: int) -> int:
        """Turn the limit to ``n`` (within 1 and ``most``); returns the limit now."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise ValueError(f"concurrency must be a whole number, not {n!r}")
        n = min(max(1, n), self.most)
        self._set(concurrency=n)
        return n

    def more(self) -> int:
        """About a quarter more (at least one): the ``+`` key."""
        n = self._concurrency
        return self.set_concurrency(n + max(1, n // 4))

    def fewer(self) -> int:
        """About a fifth fewer (at least one, never below 1): the ``-`` key. ``more`` then
        ``fewer`` comes back to where it was."""
        n = self._concurrency
        return self.set_concurrency(n - max(1, n // 5))

    def stop(self) -> None:
        """Stop the run as Ctrl-C does: nothing new starts, every finished record is written."""
        with self._lock:
            self.stopping = True
            self.version += 1
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float | None = None) -> int:
        """Wait until the steering changes from ``version`` ``seen`` (or ``timeout``); the
        version now."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen, timeout)
            return self.version

    def _set(self, *, paused: bool | None = None, concurrency: int | None = None) -> None:
        with self._lock:
            if paused is not None:
                self._paused = paused
            if concurrency is not None:
                self._concurrency = concurrency
            self.version += 1
            self._changed.notify_all()

    # -- what the engine and the writer publish ----------------------------------------

    def hosts(self, busiest: list[tuple[str, int]]) -> None:
        """The engine: the hosts with the most requests in flight, busiest first."""
        self._hosts = busiest

    def recorded(self, record: Record) -> None:
        """The writer: one record more."""
        error = record.error
        with self._lock:
            self._done += 1
            if error is not None:
                self._failed += 1
                self._errors[error.split(":", 1)[0]] += 1
            else:
                if record.status is not None and record.status < 400:
                    self._ok += 1
                else:
                    self._failed += 1
                self._latency.add(record.elapsed)

    def status(self) -> dict[str, Any]:
        """What the run is doing now, as plain JSON-ready values: ``done``, ``in_flight``
        (None when the engine cannot tell), ``rate`` (records a second over the last few
        seconds), ``concurrency``, ``most``, ``paused``, ``stopping``, ``ok``, ``failed``,
        ``errors`` (by kind), ``latency`` (p50, p90, p99 seconds of responses) and ``hosts``
        (the busiest, with their requests in flight)."""
        now = time.monotonic()
        with self._lock:
            done = self._done
            marks = self._marks
            marks.append((now, done))
            while len(marks) > 2 and marks[1][0] <= now - _RATE_WINDOW:
                marks.popleft()
            since, then = marks[0]
            if len(marks) == 1 or now - since < 0.5:
                since, then = self._started, 0
            rate = (done - then) / (now - since) if now > since else 0.0
            latency = {f"p{q}": self._latency.quantile(q / 100) for q in (50, 90, 99)}
            return {
                "done": done,
                "in_flight": self.in_flight,
                "rate": round(rate, 1),
                "concurrency": self._concurrency,
                "most": self.most,
                "paused": self._paused,
                "stopping": self.stopping,
                "ok": self._ok,
                "failed": self._failed,
                "errors": dict(self._errors.most_common()),
                "latency": latency,
                "hosts": [list(pair) for pair in self._hosts],
            }
