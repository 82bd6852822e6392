"""``make demo``: the lesson's experiment on the built-in site — the same slow pages
fetched in every mode, with a few of the records and the time each mode took."""

from __future__ import annotations

import time
from typing import IO

from ..api import fetch
from ..config import MODES
from ..outputs.jsonl import record_line
from ..testsite.site import TestSite

__all__ = ["run_demo"]


def run_demo(*, n: int, delay_ms: int, concurrency: int, out: IO[str]) -> int:
    with TestSite() as site:
        urls = [site.url(f"/delay/{delay_ms}/{i}") for i in range(n)]
        ideal = -(-n // concurrency) * delay_ms / 1000
        print(
            f"{n} pages from the built-in site at {site.url('/')}, each answering after "
            f"{delay_ms} ms; {concurrency} at once in the concurrent modes.\n",
            file=out,
        )
        rows = []
        for mode in MODES:
            start = time.perf_counter()
            # One local host: let every request go to it at once (the default is polite: 8).
            records = list(fetch(urls, mode=mode, concurrency=concurrency, per_host=concurrency))
            wall = time.perf_counter() - start
            ok = sum(r.status == 200 for r in records)
            rows.append((mode, wall, ok, len(records)))
            if mode == "sequential":
                print("A few records (JSON lines, as `fetchpool fetch` writes them):", file=out)
                for rec in records[:3]:
                    print("  " + record_line(rec), end="", file=out)
                print(file=out)
            print(f"  {mode:<11} {wall:6.2f} s  {ok}/{len(records)} ok", file=out, flush=True)
        base = rows[0][1]
        print(
            f"\n{'mode':<11} {'time':>8} {'speedup':>8}   (ideal with -c {concurrency}: "
            f"{ideal:.2f} s)",
            file=out,
        )
        for mode, wall, _, _ in rows:
            print(f"{mode:<11} {wall:7.2f}s {base / wall:7.1f}x", file=out)
    return 0
