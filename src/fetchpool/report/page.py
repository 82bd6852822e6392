"""The report as one HTML page: the charts inline (SVG), tables, a little CSS — nothing that
is fetched when the page is opened (no script, no stylesheet, no image, no font from
anywhere). URLs are shown as text, never as links or images."""

from __future__ import annotations

import html
import os
import time
from typing import Final

from .aggregate import _OTHER, Aggregate, HostTotals

__all__ = ["page"]

_ROWS: Final = 15  # hosts in each table

_CSS: Final = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.meta { color: #666; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; margin: 1em 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1em; min-width: 8em; }
.card b { display: block; font-size: 1.4em; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1.2em; }
figure { margin: 0; border: 1px solid #eee; border-radius: 6px; padding: 0.5em; }
svg.chart { width: 100%; height: auto; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 13px; }
th, td { border-bottom: 1px solid #eee; padding: 0.25em 0.8em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.url { max-width: 60em; overflow-wrap: anywhere; text-align: left; }
table.urls th:nth-child(2), table.urls th:nth-child(3), table.urls td:nth-child(3) {
  text-align: left; }
.tables { display: flex; gap: 2em; flex-wrap: wrap; }
"""


def _shown(url: str) -> str:
    """A URL as the page may show it: without a ``user:password@`` (the record keeps the
    input as it was; a report is made to be passed around)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return f"{scheme}://{netloc}{slash}{tail}"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:,.2f} s"


def _table(caption: str, heads: list[str], body: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in heads)
    rows = "".join(
        "<tr>" + "".join(f"<td{cls if i == 1 else ''}>{cell}</td>" for i, cell in enumerate(r))
        + "</tr>"
        for r in body
    )  # fmt: skip
    table = ' class="urls"' if cls else ""
    return f"<table{table}><caption>{_e(caption)}</caption><tr>{head}</tr>{rows}</table>"


def _hosts(caption: str, items: list[tuple[str, HostTotals]]) -> str:
    body = [
        [_e(host), f"{t.urls:,}", f"{t.errors:,}", _seconds(t.mean), _seconds(t.slowest)]
        for host, t in items
    ]
    return _table(caption, ["host", "URLs", "errors", "mean", "slowest"], body)


def page(totals: Aggregate, source: str, svgs: dict[str, str]) -> str:
    """The whole page for the totals of ``source``, with the ``svgs`` of :func:`charts`."""
    hosts = [(h, t) for h, t in totals.hosts.items() if h != _OTHER]
    most = sorted(hosts, key=lambda ht: (-ht[1].urls, ht[0]))[:_ROWS]
    erring = sorted((ht for ht in hosts if ht[1].errors), key=lambda ht: (-ht[1].errors, ht[0]))
    slow = sorted(hosts, key=lambda ht: (-ht[1].mean, ht[0]))[:_ROWS]
    lat = totals.latency
    ok = sum(n for k, n in totals.by_class.items() if k in ("1xx", "2xx", "3xx"))
    span = totals.last - totals.first if totals.records and totals.last > totals.first else 0.0
    cards = [
        ("records", f"{totals.records:,}"),
        ("ok (1xx-3xx)", f"{ok:,}"),
        ("failed", f"{totals.records - ok:,}"),
        ("hosts", f"{len(totals.hosts):,}"),
        ("received", f"{totals.bytes / 1e6:,.1f} MB"),
        ("run", _seconds(span) if span else "-"),
        ("pages/s", f"{totals.records / span:,.0f}" if span else "-"),
    ]
    percentiles = _table(
        "Latency of responses",
        ["percentile", "seconds"],
        [[name, _seconds(lat.quantile(q))] for name, q in
         (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999))]
        + [["max", _seconds(totals.slowest_seen if lat.count else None)],
           ["mean", _seconds(lat.total / lat.count if lat.count else None)]],
    )  # fmt: skip
    counts = _table(
        "Records by status class and error kind",
        ["", "records"],
        [[_e(k), f"{n:,}"] for k, n in sorted(totals.by_class.items())]
        + [[_e(f"error: {k}"), f"{n:,}"] for k, n in totals.by_error.most_common()],
    )
    slowest = _table(
        "The slowest URLs",
        ["seconds", "URL", "status or error"],
        [
            [_seconds(s), _e(_shown(url)), _e(what)]
            for s, url, what in sorted(totals.slowest, reverse=True)
        ],
        cls=' class="url"',
    )
    other = totals.hosts.get(_OTHER)
    note = (
        f"<p class=meta>{other.urls:,} URLs on hosts past the first {len(hosts):,} are "
        "counted together and left out of these tables.</p>"
        if other
        else ""
    )
    made = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fetchpool report: {_e(os.path.basename(source))}</title>
<style>{_CSS}</style></head>
<body>
<h1>fetchpool report</h1>
<p class=meta>{_e(source)} &middot; made {_e(made)} by fetchpool report</p>
<div class=cards>{"".join(f"<div class=card>{_e(k)}<b>{v}</b></div>" for k, v in cards)}</div>
<div class=tables>{counts}{percentiles}</div>
<h2>Charts</h2>
<div class=grid>
<figure id=chart-status>{svgs["status"]}</figure>
<figure id=chart-errors>{svgs["errors"]}</figure>
<figure id=chart-latency>{svgs["latency"]}</figure>
<figure id=chart-throughput>{svgs["throughput"]}</figure>
</div>
<h2>Hosts</h2>
{note}
<div class=tables>
{_hosts("Most URLs", most)}
{_hosts("Most errors", erring[:_ROWS])}
{_hosts("Slowest (mean)", slow)}
</div>
<h2>URLs</h2>
{slowest}
</body></html>
"""
