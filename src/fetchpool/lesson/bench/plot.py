"""``--plot FILE.png|.svg``: wall time per mode as bars, I/O-bound and CPU-bound side by side.

matplotlib is an optional extra (``pip install 'fetchpool[plot]'``), imported only here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from ...errors import OutputError, UsageError
from .model import Result, Section

__all__ = ["FORMATS", "check_plot", "write_plot"]

#: File extensions --plot can write.
FORMATS: Final = (".png", ".svg")

_COLOURS: Final = {
    "sequential": "#8c8c8c",
    "threadpool": "#4c72b0",
    "to-thread": "#64b5cd",
    "threading": "#8172b3",
    "threads": "#4c72b0",
    "async": "#55a868",
    "processes": "#dd8452",
}


def check_plot(path: str) -> None:
    """Fail before any measuring if ``path`` cannot be plotted to."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"--plot writes {' or '.join(FORMATS)} files, not {suffix or path!r}")
    if not Path(path).parent.resolve().is_dir():
        raise UsageError(f"cannot write {path}: no such directory")
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise UsageError("--plot needs matplotlib: pip install 'fetchpool[plot]'") from exc


def write_plot(result: Result, path: str) -> None:
    """Draw every section that has rows into ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    import matplotlib.pyplot as plt

    sections = [s for s in result.sections if any(r.done for r in s.rows)]
    if not sections:
        return
    fig, axes = plt.subplots(1, len(sections), figsize=(6 * len(sections), 3.6), squeeze=False)
    try:
        for ax, section in zip(axes[0], sections, strict=True):
            _bars(ax, section)
        fig.suptitle(f"fetchpool bench — {result.machine.label()}", fontsize=11)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)


def _bars(ax: Any, section: Section) -> None:
    rows = [r for r in section.rows if r.done]
    names = [r.mode for r in rows]
    walls = [r.wall for r in rows]
    low = [r.wall - r.wall_min for r in rows]
    high = [r.wall_max - r.wall for r in rows]
    colours = [_COLOURS.get(r.mode, "#c44e52") for r in rows]
    positions = list(range(len(rows)))
    errors = [low, high] if section.repeat > 1 else None
    ax.barh(positions, walls, color=colours, xerr=errors, capsize=3)
    ax.set_yticks(positions, names)
    ax.invert_yaxis()  # the lesson's order, top to bottom
    ax.set_xlabel("wall time (s), lower is better")
    for pos, row in zip(positions, rows, strict=True):
        speedup = section.speedup(row)
        label = f" {row.wall:.2f} s" + ("" if speedup is None else f"  {speedup:.1f}×")
        ax.text(row.wall, pos, label, va="center", fontsize=8)
    ax.set_xlim(0, max(walls) * 1.35)
    if section.kind == "io":
        what = (
            f"{section.items} pages × {section.delay_ms} ms"
            if section.delay_ms is not None
            else f"{section.items} URLs"
        )
        ax.set_title(f"I/O-bound: {what}, -c {section.concurrency}", fontsize=10)
        concurrent = [section.ideal(r) for r in rows if r.mode != "sequential"]
        if concurrent and concurrent[0] is not None:
            _ideal(ax, concurrent[0], "ideal")
    else:
        ax.set_title(
            f"CPU-bound: {section.items} pages × {section.rounds} parses, "
            f"{section.workers} workers",
            fontsize=10,
        )
        best = section.baseline
        if best is not None:
            ideal = best.wall / max(1, min(section.workers or 1, section.cores))
            _ideal(ax, ideal, f"ideal on {section.cores} cores")


def _ideal(ax: Any, x: float, label: str) -> None:
    """A dashed line at the ideal time, labelled along its foot."""
    ax.axvline(x, linestyle="--", color="black", linewidth=0.8)
    foot = ax.get_xaxis_transform()  # x in seconds, y in axes fractions
    ax.text(x, 0.02, label + " ", rotation=90, transform=foot, fontsize=7, ha="right", va="bottom")
