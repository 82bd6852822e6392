"""The results of a benchmark and the figures derived from them. Pure; no I/O.

A :class:`Section` is one half of the lesson's experiment (I/O-bound or CPU-bound): a
:class:`Row` per mode, each holding the :class:`Run` s measured for it. Every figure a
table, the JSON or the chart shows is computed here, once.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Literal

from .machine import Machine

__all__ = ["Result", "Row", "Run", "Section"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One measured run of one mode."""

    wall: float  # seconds, first URL (or page) to last record
    cpu: float  # seconds of CPU, user + system, the run's processes together
    peak_rss: int  # bytes: the most memory the run's processes held at once
    ok: int  # items that went well (URLs with a 2xx/3xx answer; pages parsed)
    failed: int


@dataclass(slots=True)
class Row:
    """One mode of a section and its runs."""

    mode: str
    workers: int  # requests in flight (I/O) or threads/processes (CPU); 1 for sequential
    runs: list[Run] = field(default_factory=list)
    error: str | None = None  # why a run of this mode failed, if one did

    @property
    def done(self) -> bool:
        return bool(self.runs)

    @property
    def wall(self) -> float:
        """The median wall time of the runs: the figure every comparison uses."""
        return statistics.median(r.wall for r in self.runs)

    @property
    def wall_min(self) -> float:
        return min(r.wall for r in self.runs)

    @property
    def wall_max(self) -> float:
        return max(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def peak_rss(self) -> int:
        """The highest peak of the runs."""
        return max(r.peak_rss for r in self.runs)

    @property
    def ok(self) -> int:
        return self.runs[-1].ok

    @property
    def failed(self) -> int:
        return self.runs[-1].failed


@dataclass(slots=True, kw_only=True)
class Section:
    """One half of the experiment.

    ``kind`` ``io``: ``items`` URLs fetched by each mode; with ``delay_ms`` (the built-in
    site) the ideal time of a row is ceil(items / workers) x delay. ``kind`` ``cpu``:
    ``items`` pages parsed ``rounds`` times each; the ideal of a row is the sequential time
    divided by the workers, at most ``cores`` of them.
    """

    kind: Literal["io", "cpu"]
    items: int
    repeat: int
    cores: int
    rows: list[Row]
    delay_ms: int | None = None  # io on the built-in site
    concurrency: int | None = None  # io
    extract: tuple[str, ...] = ()  # io
    target: str = ""  # io: "built-in site" or "URLs"
    rounds: int | None = None  # cpu
    workers: int | None = None  # cpu

    def row(self, mode: str) -> Row | None:
        return next((r for r in self.rows if r.mode == mode), None)

    @property
    def finished_rows(self) -> list[Row]:
        """Rows with at least one run, or a failure to show."""
        return [r for r in self.rows if r.done or r.error]

    @property
    def baseline(self) -> Row | None:
        """The sequential row, if it was measured."""
        base = self.row("sequential")
        return base if base is not None and base.done else None

    def speedup(self, row: Row) -> float | None:
        """How many times faster than sequential (median against median)."""
        base = self.baseline
        if base is None or not row.done or row.wall <= 0:
            return None
        return base.wall / row.wall

    def ideal(self, row: Row) -> float | None:
        """The shortest time the row's mode could take, if known."""
        if self.kind == "io":
            if not self.delay_ms:
                return None  # real sites' answer times are not known; 0 ms says nothing
            return math.ceil(self.items / row.workers) * self.delay_ms / 1000
        base = self.baseline
        if base is None:
            return None
        return base.wall / max(1, min(row.workers, self.cores))

    def efficiency(self, row: Row) -> float | None:
        """ideal / measured: 1.0 is perfect."""
        ideal = self.ideal(row)
        if ideal is None or not row.done or row.wall <= 0:
            return None
        return ideal / row.wall

    def rate(self, row: Row) -> float | None:
        """Pages per second."""
        return self.items / row.wall if row.done and row.wall > 0 else None


@dataclass(slots=True, kw_only=True)
class Result:
    """A whole benchmark: where it ran, its sections, and whether Ctrl-C cut it short."""

    machine: Machine
    created: str  # ISO 8601, UTC
    io: Section | None = None
    cpu: Section | None = None
    interrupted: bool = False

    @property
    def sections(self) -> list[Section]:
        return [s for s in (self.io, self.cpu) if s is not None]
