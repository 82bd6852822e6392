"""Counting a run's records for the progress display and the summary. Pure; no I/O."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .records import Record

__all__ = ["Stats", "Summary"]

#: "0xx" ... "9xx", made once: this runs for every record.
_CLASSES = tuple(f"{i}xx" for i in range(10))


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
