"""The report's charts: matplotlib, drawn as SVG and put in the page as they are (text
drawn as paths), so the page needs no script, no font and no network to show them.

matplotlib is an optional extra (``pip install 'fetchpool[plot]'``), imported only here.
"""

from __future__ import annotations

import io
import math
from typing import Any, Final

from ..errors import UsageError
from .aggregate import Aggregate

__all__ = ["charts", "check_matplotlib"]

_OK: Final = "#4c72b0"
_BAD: Final = "#c44e52"
_CLASS_COLOURS: Final = {
    "1xx": "#8c8c8c",
    "2xx": "#55a868",
    "3xx": "#64b5cd",
    "4xx": "#dd8452",
    "5xx": "#c44e52",
    "error": "#8172b3",
}


def check_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "fetchpool report needs matplotlib: pip install 'fetchpool[plot]'"
        ) from exc


def _figure(width: float = 6.4, height: float = 3.0) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "path", "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False, "svg.hashsalt": "fetchpool"})  # fmt: skip
    return plt.subplots(figsize=(width, height), layout="constrained")


def _svg(fig: Any, name: str) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    start = text.index("<svg")  # the XML declaration and doctype are not wanted inline
    return text[start:].replace("<svg ", f'<svg class="chart" data-chart="{name}" ', 1)


def _bars(title: str, counts: list[tuple[str, int]], colours: list[str], name: str) -> str:
    fig, ax = _figure(6.4, max(1.6, 0.35 * len(counts) + 0.9))
    labels = [label for label, _ in counts][::-1]
    values = [n for _, n in counts][::-1]
    bars = ax.barh(labels, values, color=colours[::-1])
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3)
    ax.set_title(title, loc="left")
    ax.set_xlabel("URLs")
    ax.margins(x=0.15)
    return _svg(fig, name)


def _latency(totals: Aggregate) -> str:
    fig, ax = _figure()
    bins = list(totals.latency.bins())
    if bins:
        lows = [low for low, _, _ in bins]
        widths = [high - low for low, high, _ in bins]
        ax.bar(lows, [n for _, _, n in bins], width=widths, align="edge", color=_OK)
        ax.set_xscale("log")
        for q, style in ((0.5, "-"), (0.9, "--"), (0.99, ":")):
            at = totals.latency.quantile(q)
            if at is not None:
                ax.axvline(at, color=_BAD, linestyle=style, linewidth=1,
                           label=f"p{round(q * 100)} {_seconds(at)}")  # fmt: skip
        ax.legend(frameon=False)
    ax.set_title("Latency of responses (first attempt's start to the record)", loc="left")
    ax.set_xlabel("seconds (log scale)")
    ax.set_ylabel("responses")
    return _svg(fig, "latency")


def _throughput(totals: Aggregate) -> str:
    fig, ax = _figure()
    width, points = totals.throughput()
    if points:
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        ax.step(xs, ys, where="post", color=_OK)
        ax.fill_between(xs, ys, step="post", alpha=0.25, color=_OK)
        ax.set_ylim(bottom=0)
    unit = f"{width:g} s bins"
    ax.set_title(f"Throughput: records finished a second ({unit})", loc="left")
    ax.set_xlabel("seconds since the first request started")
    ax.set_ylabel("records / s")
    return _svg(fig, "throughput")


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def charts(totals: Aggregate) -> dict[str, str]:
    """Each chart as inline SVG, by name: ``status``, ``errors``, ``latency``, ``throughput``."""
    order = ["1xx", "2xx", "3xx", "4xx", "5xx", "error"]
    classes = sorted(
        totals.by_class.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else math.inf
    )
    out = {
        "status": _bars("Records by status class", classes or [("none", 0)],
                        [_CLASS_COLOURS.get(k, _OK) for k, _ in classes] or [_OK], "status"),
        "errors": _bars("Errors by kind", totals.by_error.most_common() or [("none", 0)],
                        [_BAD] * max(1, len(totals.by_error)), "errors"),
        "latency": _latency(totals),
        "throughput": _throughput(totals),
    }  # fmt: skip
    return out
