"""A run's output read once, record by record, into totals of a bounded size: what the
report draws. A file of 10^6 records is never held as a list; what grows is bounded by
the run's length in seconds and, up to :data:`MOST_HOSTS`, the number of hosts."""

from __future__ import annotations

import heapq
import json
import math
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from ..errors import UsageError
from ..outputs import format_for
from ..stats import Histogram

__all__ = ["MOST_HOSTS", "Aggregate", "HostTotals", "Row", "aggregate", "rows"]

#: Hosts counted one by one; the URLs of any host past these are counted as "other hosts".
MOST_HOSTS: Final = 200_000
#: The slowest URLs kept.
SLOWEST: Final = 25
_OTHER = "(other hosts)"

#: One record's fields the report uses: url, status, elapsed, error, started, length.
Row = tuple[str, int | None, float, str | None, float | None, int | None]


def rows(path: str) -> Iterator[Row]:
    """The records of a ``.jsonl`` or ``.sqlite`` output, one at a time."""
    fmt = format_for(path)
    if fmt == "jsonl":
        return _jsonl(path)
    if fmt == "sqlite":
        return _sqlite(path)
    raise UsageError(f"fetchpool report reads .jsonl and .sqlite/.db outputs, not {path}")


def _jsonl(path: str) -> Iterator[Row]:
    try:
        fh = open(path, "rb")  # noqa: SIM115  # closed below, as the generator ends
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                r: dict[str, Any] = json.loads(line)
                yield (r["url"], r.get("status"), float(r.get("elapsed") or 0.0),
                       r.get("error"), r.get("started"), r.get("length"))  # fmt: skip
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                if not line.endswith(b"\n"):
                    return  # a last line cut short (a run that crashed): what --resume drops
                raise UsageError(f"{path} line {number} is not a fetchpool record") from exc


def _sqlite(path: str) -> Iterator[Row]:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        have = {row[1] for row in db.execute("PRAGMA table_info(results)")}
    except sqlite3.Error as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    if "url" not in have:
        db.close()
        raise UsageError(f"{path} has no table 'results' of fetchpool records")
    # An output of an older fetchpool may lack a column: it reads as null.
    wanted = ("url", "status", "elapsed", "error", "started", "length")
    columns = ", ".join(name if name in have else "NULL" for name in wanted)
    try:
        for url, status, elapsed, error, started, length in db.execute(
            f"SELECT {columns} FROM results"
        ):
            yield url, status, float(elapsed or 0.0), error, started, length
    finally:
        db.close()


@dataclass(slots=True)
class HostTotals:
    urls: int = 0
    errors: int = 0  # no response, or a 4xx/5xx one
    elapsed: float = 0.0
    slowest: float = 0.0

    @property
    def mean(self) -> float:
        return self.elapsed / self.urls if self.urls else 0.0


@dataclass
class Aggregate:
    """What the report shows, counted from every record."""

    records: int = 0
    bytes: int = 0
    by_class: Counter[str] = field(default_factory=Counter)  # 2xx ... 5xx, and "error"
    by_error: Counter[str] = field(default_factory=Counter)
    latency: Histogram = field(default_factory=Histogram)  # of responses
    slowest_seen: float = 0.0
    finished_at: Counter[int] = field(default_factory=Counter)  # records done, by Unix second
    first: float = math.inf
    last: float = -math.inf
    hosts: dict[str, HostTotals] = field(default_factory=dict)
    slowest: list[tuple[float, str, str]] = field(default_factory=list)  # a heap

    def add(self, row: Row) -> None:
        url, status, elapsed, error, started, length = row
        self.records += 1
        if length:
            self.bytes += length
        failed = error is not None or status is None or status >= 400
        if error is not None:
            self.by_class["error"] += 1
            self.by_error[error.split(":", 1)[0]] += 1
            what = error.split(":", 1)[0]
        else:
            cls = f"{status // 100}xx" if status is not None else "error"
            self.by_class[cls] += 1
            self.latency.add(elapsed)
            self.slowest_seen = max(self.slowest_seen, elapsed)
            what = str(status)
        if started is not None:
            end = started + elapsed
            self.first = min(self.first, started)
            self.last = max(self.last, end)
            self.finished_at[int(end)] += 1
        host = self._host(url)
        totals = self.hosts.get(host)
        if totals is None:
            if len(self.hosts) >= MOST_HOSTS:
                host = _OTHER
            totals = self.hosts.setdefault(host, HostTotals())
        totals.urls += 1
        totals.errors += failed
        totals.elapsed += elapsed
        totals.slowest = max(totals.slowest, elapsed)
        item = (elapsed, url, what)
        if len(self.slowest) < SLOWEST:
            heapq.heappush(self.slowest, item)
        elif item > self.slowest[0]:
            heapq.heapreplace(self.slowest, item)

    @staticmethod
    def _host(url: str) -> str:
        try:
            netloc = urlsplit(url).netloc
        except ValueError:
            return "(not a URL)"
        return netloc.rpartition("@")[2].lower() or "(not a URL)"

    def throughput(self, most_bins: int = 120) -> tuple[float, list[tuple[float, float]]]:
        """Records finished a second, over the run: ``(bin width in seconds, [(seconds
        since the start, rate), ...])``, at most ``most_bins`` bins."""
        if not self.finished_at:
            return 1.0, []
        start = int(self.first)
        span = int(self.last) - start + 1
        width = 1
        for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600):
            width = step
            if span / step <= most_bins:
                break
        else:
            width = math.ceil(span / most_bins)
        bins = [0] * (span // width + 1)
        for second, count in self.finished_at.items():
            bins[(second - start) // width] += count
        return float(width), [(i * width, n / width) for i, n in enumerate(bins)]


def aggregate(path: str) -> Aggregate:
    """The totals of the output at ``path`` (``.jsonl`` or ``.sqlite``)."""
    totals = Aggregate()
    add = totals.add
    for row in rows(path):
        add(row)
    return totals
