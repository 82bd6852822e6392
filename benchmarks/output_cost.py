"""What writing SQLite (or JSONL) costs the fastest mode, against JSON lines to /dev/null.

    .venv/bin/python benchmarks/output_cost.py [-n 20000] [-r 5] [-m async] [-c 64]

The built-in site runs in a process of its own. Each repetition runs the three outputs one
after another (in a rotating order, so drift in the machine's speed hits each alike) and reads
the run's own time from its summary; the report gives the median pages/s of each and the cost
of each file output relative to stdout.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

from _common import BIN, clean_env, served, write_urls

OUTPUTS = ("stdout", "jsonl", "sqlite")


def run_once(urls: Path, output: str, tmp: Path, mode: str, concurrency: int) -> float:
    argv = [BIN, "fetch", "-m", mode, "-c", str(concurrency), str(urls)]
    if output != "stdout":
        argv += ["-o", str(tmp / f"out.{output}"), "--overwrite"]
    proc = subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=clean_env()
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    match = re.search(r"(\d+) URLs in ([\d.]+) s", proc.stderr)
    assert match, proc.stderr
    return int(match.group(1)) / float(match.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("-r", "--repeat", type=int, default=5)
    parser.add_argument("-m", "--mode", default="async")
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d, served() as base:
        tmp = Path(d)
        urls = tmp / "urls.txt"
        write_urls(urls, base, args.n)
        run_once(urls, "stdout", tmp, args.mode, args.concurrency)  # warm up
        rates: dict[str, list[float]] = {o: [] for o in OUTPUTS}
        for rep in range(args.repeat):
            order = OUTPUTS[rep % 3 :] + OUTPUTS[: rep % 3]
            for output in order:
                rate = run_once(urls, output, tmp, args.mode, args.concurrency)
                rates[output].append(rate)
                print(f"  rep {rep + 1} {output:7s} {rate:8,.0f} pages/s", flush=True)
    base_rate = statistics.median(rates["stdout"])
    print(f"\n{args.n} URLs, -m {args.mode} -c {args.concurrency}, median of {args.repeat}:")
    for output in OUTPUTS:
        median = statistics.median(rates[output])
        cost = 100 * (1 - median / base_rate)
        print(f"  {output:7s} {median:8,.0f} pages/s   cost vs stdout {cost:+5.1f} %")


if __name__ == "__main__":
    main()
