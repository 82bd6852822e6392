"""One process against a local Dask cluster: throughput of ``fetchpool fetch`` and of
``fetchpool fetch --cluster local:N`` on the same pages, and the batch size of the cluster.

    .venv/bin/python benchmarks/cluster.py [-n 20000] [-r 3] [-c 64] [-w 2] [--rounds R,...]

The built-in site runs in a process of its own; fetchpool writes JSONL. Each repetition runs
every variant once, in a rotating order (so drift in the machine's speed hits each alike);
the report gives the median wall time of the whole command (the cluster's start included) and
pages/s, and the cluster's start alone (a run of one URL). ``--rounds 16,32,64`` compares batch
sizes: a batch is ROUNDS times a task's share of ``-c`` (BATCH_ROUNDS in
fetchpool/engines/cluster.py). Needs the dask extra.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _served import BIN, clean_env, served, write_urls

from fetchpool.distributed.cluster import BATCH_ROUNDS

# Runs the command with another BATCH_ROUNDS (the client alone reads it).
_WITH_ROUNDS = (
    "import sys; import fetchpool.distributed.cluster as c; c.BATCH_ROUNDS = int(sys.argv[1]); "
    "from fetchpool.cli import entry; sys.argv = ['fetchpool', *sys.argv[2:]]; entry()"
)


def run_once(argv: list[str]) -> float:
    """Wall seconds of one run of ``argv``."""
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=clean_env())
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="pages (default: 20000)")
    parser.add_argument("-r", type=int, default=3, help="repetitions (default: 3)")
    parser.add_argument("-c", type=int, default=64, help="-c and --per-host (default: 64)")
    parser.add_argument("-w", type=int, default=2, help="local workers (default: 2)")
    parser.add_argument(
        "--rounds",
        default=str(BATCH_ROUNDS),
        help=f"BATCH_ROUNDS to try, comma-separated (default: {BATCH_ROUNDS})",
    )
    args = parser.parse_args()
    rounds = [int(r) for r in args.rounds.split(",")]
    with served() as base, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        urls = tmp / "urls.txt"
        write_urls(urls, base, args.n)
        one = tmp / "one.txt"
        write_urls(one, base, 1)
        limits = ["-c", str(args.c), "--per-host", str(args.c)]
        out = ["-o", str(tmp / "out.jsonl"), "--overwrite"]
        local = ["--cluster", f"local:{args.w}"]
        variants = {"one process (curl)": [BIN, "fetch", *limits, *out, str(urls)]}
        for r in rounds:
            variants[f"local:{args.w}, batch {r} x {args.c // args.w}"] = [
                *(sys.executable, "-c", _WITH_ROUNDS, str(r)),
                *("fetch", *local, *limits, *out, str(urls)),
            ]
        variants[f"local:{args.w}, start only (1 URL)"] = [BIN, "fetch", *local, *out, str(one)]
        times: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for rep in range(args.r):
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                times[name].append(run_once(variants[name]))
                print(f"  {name}: {times[name][-1]:.2f} s", file=sys.stderr)
    print(f"{args.n} pages, -c {args.c} --per-host {args.c}, median of {args.r}")
    print(f"{'variant':40} {'wall':>8} {'pages/s':>9}")
    for name in names:
        wall = statistics.median(times[name])
        rate = "" if "start only" in name else f"{args.n / wall:9,.0f}"
        print(f"{name:40} {wall:7.2f}s {rate:>9}")


if __name__ == "__main__":
    main()
