"""Counting a run's records for the progress display and the summary. Pure; no I/O."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from .records import Record

__all__ = ["Histogram", "Stats", "Summary"]

#: "0xx" ... "9xx", made once: this runs for every record.
_CLASSES = tuple(f"{i}xx" for i in range(10))


class Histogram:
    """Seconds (latencies) counted in fixed bins, log-spaced: :data:`PER_DECADE` a decade
    from :data:`LOWEST` up, so a quantile is within about 6% of the true one whatever the
    number of values, in constant memory. Not thread-safe: the caller locks."""

    LOWEST: ClassVar[float] = 1e-4  # 0.1 ms: everything faster shares the first bin
    PER_DECADE: ClassVar[int] = 20
    BINS: ClassVar[int] = 8 * 20  # up to 10^4 s; slower values share the last bin

    __slots__ = ("count", "counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * self.BINS
        self.count = 0
        self.total = 0.0

    def add(self, seconds: float, times: int = 1) -> None:
        if seconds > self.LOWEST:
            i = min(self.BINS - 1, int(math.log10(seconds / self.LOWEST) * self.PER_DECADE))
        else:
            i = 0
        self.counts[i] += times
        self.count += times
        self.total += seconds * times

    def merge(self, other: Histogram) -> None:
        for i, n in enumerate(other.counts):
            self.counts[i] += n
        self.count += other.count
        self.total += other.total

    @classmethod
    def edges(cls, i: int) -> tuple[float, float]:
        """The lower and upper bound of bin ``i``, in seconds."""
        return (
            cls.LOWEST * 10 ** (i / cls.PER_DECADE),
            cls.LOWEST * 10 ** ((i + 1) / cls.PER_DECADE),
        )

    def quantile(self, q: float) -> float | None:
        """The value below which a fraction ``q`` of the values lie (the geometric middle of
        its bin), or None when there are none."""
        if not self.count:
            return None
        rank = q * self.count
        seen = 0
        for i, n in enumerate(self.counts):
            seen += n
            if n and seen >= rank:
                low, high = self.edges(i)
                return round(math.sqrt(low * high), 6)
        return None  # unreachable: the counts add up to count

    def bins(self) -> Iterator[tuple[float, float, int]]:
        """``(low, high, count)`` of every bin that holds a value."""
        for i, n in enumerate(self.counts):
            if n:
                yield (*self.edges(i), n)


@dataclass
class Stats:
    """Running totals. Only the thread that consumes records updates them."""

    done: int = 0
    ok: int = 0
    failed: int = 0
    bytes: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    by_error: Counter[str] = field(default_factory=Counter)

    def add(self, record: Record) -> None:
        self.done += 1
        if record.error is not None:
            self.failed += 1
            self.by_error[record.error.split(":", 1)[0]] += 1
        else:
            status = record.status or 0
            self.by_class[
                _CLASSES[status // 100] if 0 <= status < 1000 else f"{status // 100}xx"
            ] += 1
            if status < 400:
                self.ok += 1
            else:
                self.failed += 1
        if record.length:
            self.bytes += record.length

    def summary(self, wall: float) -> str:
        """A few lines for the end of a run."""
        rate = self.done / wall if wall > 0 else 0.0
        lines = [
            f"{self.done} URLs in {wall:.2f} s ({rate:,.0f} pages/s), "
            f"{_size(self.bytes)} received; {self.ok} ok, {self.failed} failed"
        ]
        if self.by_class:
            lines.append(
                "status: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_class.items()))
            )
        if self.by_error:
            lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in self.by_error.most_common()))
        return "\n".join(lines)


@dataclass(frozen=True)
class Summary:
    """What a whole run did (:func:`fetchpool.run`): the counts of the records written
    (``stats``), the wall time, and what was skipped: ``already_done`` URLs the output
    held (``resume``), ``repeated`` URLs repeated in the input, ``second_records`` dropped
    (a cluster batch that ran twice)."""

    stats: Stats
    wall: float
    already_done: int = 0
    repeated: int = 0
    second_records: int = 0
    output: str | None = None
    interrupted: bool = False

    def __str__(self) -> str:
        """The lines ``fetchpool fetch`` prints at the end of a run."""
        text = self.stats.summary(self.wall) + (" (interrupted)" if self.interrupted else "")
        skipped = [f"{self.already_done} already in {self.output}"] if self.already_done else []
        skipped += [f"{self.repeated} repeated in the input"] if self.repeated else []
        skipped += (
            [f"{self.second_records} second records for a URL"] if self.second_records else []
        )
        return text + ("\nskipped: " + ", ".join(skipped) if skipped else "")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"
