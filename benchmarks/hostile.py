"""Hostile input in every mode, through the installed command: one correct record per line,
and memory bounded (peak RSS against a run of only the good URLs).

    .venv/bin/python benchmarks/hostile.py [--good 1000] [--modes curl,async]

The input (fetchpool.testsite.hostile): a BOM, lines that are not UTF-8, a NUL and other
control characters, a URL of 8,000,001 characters, user:password URLs, redirects to another
origin with -H Authorization and Cookie, mixed with GOOD pages of the test site. Each mode
runs it (``fetchpool fetch --extract title -H ...``) and then the good URLs alone; the peak
RSS of each run is what wait4 reports for the command (its largest process).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fetchpool import MODES
from fetchpool.testsite.hostile import HEADERS, hostile_input, problems
from fetchpool.testsite.site import TestSite

BIN = Path(sys.executable).parent / "fetchpool"


def run(argv: list[str], source: Path, out: Path) -> tuple[float, float, int]:
    """Run the command; (seconds, peak RSS in MB, exit status)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    started = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(
            [str(BIN), "fetch", "-q", "-o", str(out), "--overwrite", *argv, str(source)],
            stdout=null,
            stderr=null,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--good", type=int, default=1000)
    parser.add_argument("--modes", default=",".join(MODES) + ",cluster")
    args = parser.parse_args()
    failed = False
    with TestSite() as site, TestSite() as other, tempfile.TemporaryDirectory() as tmp:
        data, expect = hostile_input(site.url("").rstrip("/"), other.url("").rstrip("/"), args.good)
        hostile, plain = Path(tmp, "hostile.txt"), Path(tmp, "good.txt")
        hostile.write_bytes(data)
        plain.write_text("".join(f"{site.url('/page/' + str(i))}\n" for i in range(args.good + 1)))
        out = Path(tmp, "out.jsonl")
        print(f"{len(expect)} lines ({len(data):,} bytes), {args.good + 1} of them good pages")
        print(f"{'mode':<16} {'hostile s':>9} {'RSS MB':>7} {'good s':>7} {'RSS MB':>7}  result")
        for mode in args.modes.split(","):
            flags = ["--cluster", "local:2"] if mode == "cluster" else ["-m", mode]
            flags += ["--extract", "title", "--retries", "0", "--timeout", "20"]
            for header in HEADERS:
                flags += ["-H", header]
            secs, rss, code = run(flags, hostile, out)
            records = (
                [json.loads(line) for line in out.read_text().splitlines()] if code == 0 else []
            )
            wrong = problems(records, expect) if code == 0 else [f"exit status {code}"]
            good_secs, good_rss, good_code = run(flags, plain, out)
            if good_code:
                wrong.append(f"the good run: exit status {good_code}")
            failed = failed or bool(wrong)
            verdict = "ok" if not wrong else f"{len(wrong)} wrong: {wrong[:3]}"
            print(
                f"{mode:<16} {secs:>9.2f} {rss:>7.0f} {good_secs:>7.2f} {good_rss:>7.0f}  {verdict}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
