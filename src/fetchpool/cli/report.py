"""``fetchpool report``: the HTML report of a run's output."""

from __future__ import annotations

import argparse
from typing import IO, Any

__all__ = ["add_report", "run_report"]


def add_report(sub: argparse._SubParsersAction[Any]) -> None:
    r = sub.add_parser(
        "report",
        help="make an HTML report of a run from its .jsonl or .sqlite output",
        description="Make one self-contained HTML page about a run from its .jsonl or "
        ".sqlite output: counts by status class and error kind, a latency histogram and "
        "percentiles, throughput over time, the hosts with the most URLs, the most errors "
        "and the slowest answers, and the slowest URLs. The page fetches nothing when it is "
        "viewed. Needs matplotlib (pip install 'fetchpool[plot]').",
    )
    r.add_argument("source", metavar="OUTPUT", help="a run's .jsonl or .sqlite/.db output")
    r.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default="report.html",
        help="the HTML file to write (default: report.html)",
    )


def run_report(args: argparse.Namespace, err: IO[str]) -> int:
    from ..report import write_report

    totals = write_report(args.source, args.output)
    print(f"fetchpool: {totals.records:,} records reported in {args.output}", file=err)
    return 0
