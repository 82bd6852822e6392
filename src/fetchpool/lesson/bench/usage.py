"""What a run cost: CPU time and peak memory of this process and every process it starts.

Counting only this process would miss the worker processes of the ``processes`` modes, and
``os.times()`` counts only children that were waited for — not the workers a fork server
starts, which are its children, not ours. So on Linux a thread reads /proc every
``interval`` seconds for this process and all its descendants: the highest sum of their
resident set sizes is the peak memory, and the last CPU time seen of each, added up, is
the CPU time (a process that ends between two looks loses at most ``interval`` of it).
Elsewhere the figures are this process's own plus its waited-for children's.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
from pathlib import Path
from types import TracebackType

__all__ = ["Usage"]

_PROC = Path("/proc")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


class Usage:
    """``with Usage() as used: ...`` then ``used.cpu`` (seconds) and ``used.peak_rss`` (bytes)."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.cpu = 0.0
        self.peak_rss = 0
        self._linux = (_PROC / "self" / "task").is_dir()
        self._me = os.getpid()
        self._others: dict[int, float] = {}  # descendant pid -> CPU seconds last seen
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = os.times()

    def __enter__(self) -> Usage:
        self._start = os.times()
        if self._linux:
            self._thread = threading.Thread(target=self._watch, name="fetchpool-usage")
            self._thread.daemon = True
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        end = os.times()
        own = (end.user - self._start.user) + (end.system - self._start.system)
        if self._linux:
            self.cpu = own + sum(self._others.values())
            self.peak_rss = max(self.peak_rss, _high_water_mark())
        else:
            waited = (end.children_user - self._start.children_user) + (
                end.children_system - self._start.children_system
            )
            self.cpu = own + waited
            self.peak_rss = _own_peak() + _children_peak()

    def _watch(self) -> None:
        while True:
            self._look()
            if self._stop.wait(self.interval):
                self._look()
                return

    def _look(self) -> None:
        total = _rss(self._me)
        for pid in _descendants(self._me):
            total += _rss(pid)
            cpu = _cpu(pid)
            if cpu is not None:
                self._others[pid] = cpu
        self.peak_rss = max(self.peak_rss, total)


def _descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs, alive now."""
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            for task in (_PROC / str(current) / "task").iterdir():
                children = [int(c) for c in (task / "children").read_text().split()]
                found += children
                todo += children
        except OSError:  # it ended while we looked
            continue
    return found


def _rss(pid: int) -> int:
    try:
        return int((_PROC / str(pid) / "statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _cpu(pid: int) -> float | None:
    try:
        fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def _high_water_mark() -> int:
    """This process's peak resident set size, from /proc. Not ``ru_maxrss``: on Linux that
    also counts the process it was before ``exec`` — a copy of whoever started it."""
    for line in (_PROC / "self" / "status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _unit() -> int:
    return 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB


def _own_peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _unit()


def _children_peak() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * _unit()
