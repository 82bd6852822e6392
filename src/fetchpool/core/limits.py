"""Limits as small objects with plain arithmetic: a start-rate spacing and one host's state.
No clock of their own (times are arguments) and no locks: the scheduler that owns them
is used by one thread or one event loop at a time.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .scheduler import Job

__all__ = ["HostState", "Spacing"]


class Spacing:
    """At most ``per_second`` starts a second, evenly spaced: a start at time t allows the
    next one at t + 1/per_second, and idle time is not saved up for a burst. So any span of
    T seconds holds at most floor(T × per_second) + 1 starts.
    """

    __slots__ = ("interval", "next_at")

    def __init__(self, per_second: float | None) -> None:
        self.interval = 0.0 if per_second is None else 1.0 / per_second
        self.next_at = -math.inf

    def ready_at(self) -> float:
        return self.next_at

    def take(self, now: float) -> None:
        if self.interval:
            self.next_at = max(now, self.next_at) + self.interval


class HostState:
    """One host: its queue of jobs waiting, requests in flight, and how hard to push it.

    ``window`` is how many requests may be in flight to it now, at most ``limit``. A 429
    halves the window (never below 1) and pauses new starts until the host said to come
    back; each good answer after that opens it by 1/window, so about one more request
    per window's worth of good answers: the host is slowed "for a while", then trusted again.
    """

    __slots__ = ("in_flight", "last_finish", "limit", "paused_until", "queue", "spacing", "window")

    def __init__(self, limit: int, per_second: float | None) -> None:
        self.limit = limit
        self.window = float(limit)
        self.in_flight = 0
        self.paused_until = -math.inf
        self.spacing = Spacing(per_second)
        self.queue: deque[Job] = deque()
        self.last_finish = -math.inf

    def has_room(self) -> bool:
        return self.in_flight < max(1, int(self.window))

    def ready_at(self) -> float:
        """When a start may happen, room permitting."""
        return max(self.paused_until, self.spacing.ready_at())

    def start(self, now: float) -> None:
        self.in_flight += 1
        self.spacing.take(now)

    def finish(self, *, throttled: bool, pause: float, now: float) -> None:
        self.in_flight -= 1
        self.last_finish = now
        if throttled:
            self.window = max(1.0, self.window / 2)
            self.paused_until = max(self.paused_until, now + pause)
        elif self.window < self.limit:
            self.window = min(float(self.limit), self.window + 1 / self.window)

    def forgettable(self, now: float, quiet: float) -> bool:
        """Nothing here worth remembering, so the state can be dropped and made afresh
        when the host comes back: nothing queued or in flight, no pause or spacing still
        running, and the window fully open — or the host quiet for ``quiet`` seconds.
        """
        if self.queue or self.in_flight or self.ready_at() > now:
            return False
        return self.window >= self.limit or now - self.last_finish >= quiet
