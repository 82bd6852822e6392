"""Progress on stderr while a run goes, behind start/update/stop, and a null version.

Workers never draw: the thread that consumes records calls :meth:`update` with the
running :class:`~fetchpool.stats.Stats`, and rich's own refresh thread redraws a few
times a second, so drawing costs nothing per record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import IO, Any, Protocol

from ..input.sources import read_urls
from ..stats import Stats

__all__ = ["NullProgress", "Progress", "RichProgress", "count_urls"]


class Progress(Protocol):
    def start(self) -> None: ...
    def update(self, stats: Stats) -> None: ...
    def set_total(self, total: int) -> None: ...
    def stop(self) -> None: ...


class NullProgress:
    """For quiet runs, pipes and tests: draws nothing."""

    def start(self) -> None:
        pass

    def update(self, stats: Stats) -> None:
        pass

    def set_total(self, total: int) -> None:
        pass

    def stop(self) -> None:
        pass


class RichProgress:
    """A live bar: done/total, pages/s, ok/failed and ETA (total known once counted)."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichBar

        self._bar = RichBar(
            TextColumn("[bold]fetch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} pages/s"),
            TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} failed[/]"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            refresh_per_second=8,
            transient=False,
        )
        self._task = self._bar.add_task("fetch", total=None, rate="-", ok=0, failed=0)
        self._last = 0.0

    def start(self) -> None:
        self._bar.start()

    def update(self, stats: Stats) -> None:
        task = self._bar.tasks[0]
        rate = task.speed
        fields: dict[str, Any] = {"ok": stats.ok, "failed": stats.failed}
        if rate:
            fields["rate"] = f"{rate:,.0f}"
        self._bar.update(self._task, completed=stats.done, **fields)

    def set_total(self, total: int) -> None:
        self._bar.update(self._task, total=total)

    def stop(self) -> None:
        self._bar.stop()


def count_urls(sources: Iterable[str], on_total: Callable[[int], None]) -> threading.Thread | None:
    """Count the URLs in file and URL sources in a background thread, for the bar's total.

    Standard input cannot be read twice, so with ``-`` among the sources the total stays unknown.
    """
    items = list(sources)
    if "-" in items:
        return None

    def count() -> None:
        total = 0
        for src in items:
            if "://" in src:
                total += 1
                continue
            try:
                with open(src, "rb") as fh:  # read as the run reads it: bounded lines
                    total += sum(1 for _ in read_urls(fh.read1))
            except OSError:
                return
        on_total(total)

    thread = threading.Thread(target=count, name="fetchpool-count", daemon=True)
    thread.start()
    return thread
