"""``fetchpool report OUTPUT -o report.html``: one self-contained HTML page about a run, from
its ``.jsonl`` or ``.sqlite`` output.

The output is read once, a record at a time, into totals of a bounded size
(:mod:`.aggregate`); the charts are drawn from those totals (:mod:`.charts`, matplotlib's
SVG), so the page of a 10^6-record run is as small as that of a short one and opens at
once. Nothing on the page is fetched when it is viewed (:mod:`.page`).

It reads outputs and writes one file; it imports nothing of the fetching path.
"""

from __future__ import annotations

import contextlib
import os

from ..errors import OutputError, UsageError
from .aggregate import Aggregate, aggregate

__all__ = ["Aggregate", "aggregate", "write_report"]


def write_report(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Aggregate:
    """Write the report of the output ``source`` to the HTML file ``target``; its totals.
    UsageError for a source that cannot be read (or without matplotlib), OutputError when
    the page cannot be written. The page is written whole or not at all."""
    from .charts import charts, check_matplotlib
    from .page import page

    src, dst = os.fspath(source), os.fspath(target)
    check_matplotlib()
    if not os.path.isfile(src):
        raise UsageError(f"cannot read {src}: no such file")
    if not os.path.isdir(os.path.dirname(os.path.abspath(dst))):
        raise UsageError(f"cannot write {dst}: no such directory")
    totals = aggregate(src)
    text = page(totals, src, charts(totals))
    partial = dst + ".partial"
    try:
        with open(partial, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(partial, dst)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(partial)  # no half page left behind
        raise OutputError(f"cannot write {dst}: {exc.strerror or exc}") from exc
    return totals
