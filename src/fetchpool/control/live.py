"""The live display of a steered run (rich): done and the rate, the concurrency and what is
in flight (per host), errors by kind and latency percentiles, and the keys.

A :class:`~.progress.Progress` like the plain bar, but drawn from the run's
:class:`~fetchpool.knob.Knob`, which rich's refresh thread reads a few times a second:
so a paused run (no records coming) still shows what it is doing.
"""

from __future__ import annotations

from typing import IO, Any

from ..knob import Knob
from ..stats import Stats
from .keys import KEYS, Keys

__all__ = ["LiveDisplay"]


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


class LiveDisplay:
    """Draws ``knob`` on ``stream``; ``keys``: the keys being read, for their help."""

    def __init__(self, stream: IO[str], knob: Knob, keys: Keys | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self._knob = knob
        self._keys = keys
        self._total: int | None = None
        self._live = Live(
            console=Console(file=stream),
            get_renderable=self._render,
            refresh_per_second=4,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def start(self) -> None:
        self._live.start()

    def update(self, stats: Stats) -> None:
        pass  # drawn from the knob, which the writer keeps up to date

    def set_total(self, total: int) -> None:
        self._total = total

    def stop(self) -> None:
        self._live.refresh()
        self._live.stop()

    def _render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        s = self._knob.status()
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        total = "" if self._total is None else f" / {self._total:,}"
        state = "[yellow]paused[/]" if s["paused"] else "[green]running[/]"
        if s["stopping"]:
            state = "[red]stopping[/]"
        grid.add_row(
            "fetch",
            f"{s['done']:,}{total} done  {s['rate']:,.0f} pages/s  "
            f"[green]{s['ok']:,} ok[/] [red]{s['failed']:,} failed[/]  {state}",
        )
        in_flight = "-" if s["in_flight"] is None else f"{s['in_flight']:,}"
        grid.add_row(
            "at once", f"concurrency {s['concurrency']} (up to {s['most']})  in flight {in_flight}"
        )
        hosts = ", ".join(f"{host} {n}" for host, n in s["hosts"]) or "-"
        grid.add_row("per host", Text(hosts, overflow="ellipsis", no_wrap=True))
        lat = s["latency"]
        grid.add_row(
            "latency",
            f"p50 {_seconds(lat['p50'])}  p90 {_seconds(lat['p90'])}  p99 {_seconds(lat['p99'])}",
        )
        errors = ", ".join(f"{kind} {n:,}" for kind, n in s["errors"].items()) or "none"
        grid.add_row("errors", errors)
        keys = self._keys
        if keys is not None:
            said = f"  [dim]({keys.said})[/]" if keys.said else ""
            if keys.help_shown:
                for key, what in KEYS:
                    grid.add_row(f"  {key}", what)
            else:
                grid.add_row("keys", f"p pause  + more  - fewer  s stop  ? help{said}")
        return grid
