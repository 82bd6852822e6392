"""What writing SQLite (or JSONL) costs the fastest mode, against JSON lines to /dev/null.

    .venv/bin/python benchmarks/output_cost.py [-n 20000] [-r 5] [-m async] [-c 64]

The built-in site runs in a process of its own. Each repetition runs the three outputs one
after another (in a rotating order, so drift in the machine's speed hits each alike) and reads
the run's own time from its summary; the report gives the median pages/s of each and the cost
of each file output relative to stdout. On a machine shared with other work, wall time is
noisy; the client's CPU time per record (user + system, all its threads) is not, and it bounds
what an output can cost a client that is the bottleneck. Last, the writing alone is timed in
this process (CPU time of all threads, for 100,000 records): what each output costs per record,
network aside.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _served import BIN, clean_env, served, write_urls

OUTPUTS = ("stdout", "jsonl", "sqlite")


def run_once(
    urls: Path, output: str, tmp: Path, mode: str, concurrency: int
) -> tuple[float, float]:
    """(pages/s from the run's summary, client CPU microseconds per record)."""
    argv = [BIN, "fetch", "-m", mode, "-c", str(concurrency), str(urls)]
    if output != "stdout":
        argv += ["-o", str(tmp / f"out.{output}"), "--overwrite"]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=clean_env()
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(err)
    match = re.search(r"(\d+) URLs in ([\d.]+) s", err)
    assert match, err
    done = int(match.group(1))
    return done / float(match.group(2)), 1e6 * (usage.ru_utime + usage.ru_stime) / done


def writer_cpu(output: str, tmp: Path, n: int = 100_000) -> float:
    """CPU microseconds (all threads) to hand ``n`` records to an output and close it."""
    from fetchpool.outputs import open_output
    from fetchpool.records import Record

    recs = [
        Record(
            url=f"http://127.0.0.1:8000/page/{i}",
            status=200,
            length=4000 + i % 2000,
            elapsed=0.0123,
            final_url=f"http://127.0.0.1:8000/page/{i}",
            content_type="text/html; charset=utf-8",
            attempts=1,
        )
        for i in range(n)
    ]
    with open(os.devnull, "w") as devnull:
        path = None if output == "stdout" else str(tmp / f"micro.{output}")
        if path and os.path.exists(path):
            os.unlink(path)
        started = time.process_time()
        writer = open_output(path, devnull)
        for rec in recs:
            writer.write(rec)
        writer.close()
        return 1e6 * (time.process_time() - started) / n


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
        cpus: dict[str, list[float]] = {o: [] for o in OUTPUTS}
        for rep in range(args.repeat):
            order = OUTPUTS[rep % 3 :] + OUTPUTS[: rep % 3]
            for output in order:
                rate, cpu = run_once(urls, output, tmp, args.mode, args.concurrency)
                rates[output].append(rate)
                cpus[output].append(cpu)
                print(
                    f"  rep {rep + 1} {output:7s} {rate:8,.0f} pages/s  {cpu:6.0f} us CPU/record",
                    flush=True,
                )
    base_rate = statistics.median(rates["stdout"])
    base_cpu = statistics.median(cpus["stdout"])
    print(f"\n{args.n} URLs, -m {args.mode} -c {args.concurrency}, median of {args.repeat}:")
    print("  output   pages/s  vs stdout   client CPU/record  vs stdout")
    for output in OUTPUTS:
        rate = statistics.median(rates[output])
        cpu = statistics.median(cpus[output])
        print(
            f"  {output:7s} {rate:8,.0f}  {100 * (rate / base_rate - 1):+6.1f} %  "
            f"{cpu:10.0f} us      {100 * (cpu / base_cpu - 1):+6.1f} %"
        )
    with tempfile.TemporaryDirectory() as d:
        print("\nwriting alone, CPU per record (all threads), 100,000 records:")
        for output in OUTPUTS:
            cost = statistics.median(writer_cpu(output, Path(d)) for _ in range(3))
            name = "stdout" if output == "stdout" else output + " file"
            print(f"  {name:12s} {cost:5.1f} us")


if __name__ == "__main__":
    main()
