"""What ``--warc`` costs, and whether it survives ``kill -9``: the curl mode on a local nginx.

    .venv/bin/python benchmarks/warc_cost.py [-n 20000] [-r 5] [-c 64] [--trials 10]

Cost: each repetition runs the same fetch of ``n`` loopback pages (5 KB each) to a JSONL
output, without and with ``--warc FILE.warc.gz`` (alternating which goes first), and reads
each run's wall time from its summary; the report gives the median of each and the cost of
the archive as a share of the run's wall time, and the client's CPU time per page.

Crash safety: ``--trials`` times, a run with ``--warc`` (limited by ``--rate`` so that it
lasts a few seconds) is killed with SIGKILL at a random moment and continued with
``--resume``; then a last ``--resume`` completes it, and the archive is checked: every
URL recorded once, exactly one response per URL in the archive, each record pointing at
its response, and ``warcio check`` passing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import nginx, write_urls

BIN = str(Path(sys.executable).parent / "fetchpool")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def run_once(urls: Path, work: Path, concurrency: int, warc: bool) -> tuple[float, float]:
    """(the run's wall time from its summary, client CPU microseconds per page)."""
    argv = [BIN, "fetch", "-m", "curl", "-c", str(concurrency), str(urls),
            "-o", str(work / "out.jsonl"), "--overwrite"]  # fmt: skip
    if warc:
        argv += ["--warc", str(work / "bench.warc.gz")]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env()
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(err)
    match = re.search(r"(\d+) URLs in ([\d.]+) s", err)
    assert match, err
    done = int(match.group(1))
    return float(match.group(2)), 1e6 * (usage.ru_utime + usage.ru_stime) / done


def cost(args: argparse.Namespace, base: str, work: Path) -> None:
    urls = write_urls(work / "urls.txt", base, "page", args.n)
    run_once(urls, work, args.concurrency, warc=True)  # warm up (page cache, imports)
    walls: dict[bool, list[float]] = {False: [], True: []}
    cpus: dict[bool, list[float]] = {False: [], True: []}
    for rep in range(args.repeat):
        for warc in (False, True) if rep % 2 == 0 else (True, False):
            wall, cpu = run_once(urls, work, args.concurrency, warc)
            walls[warc].append(wall)
            cpus[warc].append(cpu)
            label = "--warc" if warc else "plain "
            print(f"  rep {rep + 1} {label} {wall:6.2f} s  {cpu:5.0f} us CPU/page", flush=True)
    size = (work / "bench.warc.gz").stat().st_size
    plain, archived = statistics.median(walls[False]), statistics.median(walls[True])
    cpu_plain, cpu_archived = statistics.median(cpus[False]), statistics.median(cpus[True])
    print(f"\n{args.n} pages, -m curl -c {args.concurrency}, median of {args.repeat}:")
    print(f"  without --warc  {plain:6.2f} s  {args.n / plain:7,.0f} pages/s  {cpu_plain:4.0f} us")
    print(
        f"  with --warc     {archived:6.2f} s  {args.n / archived:7,.0f} pages/s  "
        f"{cpu_archived:4.0f} us"
    )
    print(
        f"  the archive: {100 * (archived - plain) / archived:+.1f} % of the run's wall time, "
        f"{100 * (cpu_archived / cpu_plain - 1):+.0f} % client CPU; "
        f"{size / 1e6:.1f} MB of .warc.gz ({size / args.n:.0f} bytes a page)"
    )


def crashes(args: argparse.Namespace, base: str, work: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    n = args.crash_n
    urls = write_urls(work / "crash-urls.txt", base, "page", n)
    out, warc = work / "crash.jsonl", work / "crash.warc.gz"
    for stale in work.glob("crash*"):
        if stale != urls:
            stale.unlink()
    argv = [BIN, "fetch", "-m", "curl", "-c", "32", "--rate", str(args.rate), str(urls),
            "-o", str(out), "--warc", str(warc), "-q"]  # fmt: skip
    rng = random.Random("warc-crash")
    seconds = n / args.rate
    counts = []
    for trial in range(args.trials):
        extra = ["--resume"] if trial else []
        proc = subprocess.Popen([*argv, *extra], env=_env(), stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, seconds / args.trials * 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        counts.append(out.read_bytes().count(b"\n") if out.exists() else 0)
    done = subprocess.run([*argv, "--resume"], env=_env(), capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    per_url: dict[str, int] = {}
    offsets = {}
    with open(warc, "rb") as fh:
        it = ArchiveIterator(fh)
        for rec in it:
            if rec.rec_type == "response":
                url = rec.rec_headers.get_header("WARC-Target-URI")
                per_url[url] = per_url.get(url, 0) + 1
                offsets[url] = it.get_record_offset()
    expected = [line.strip() for line in urls.read_text().splitlines()]
    check = subprocess.run(
        [str(Path(sys.executable).parent / "warcio"), "check", str(warc)], capture_output=True
    )
    ok = (
        sorted(r["url"] for r in records) == sorted(expected)
        and per_url == dict.fromkeys(expected, 1)
        and all(offsets[r["url"]] == r["warc_offset"] for r in records)
        and check.returncode == 0
    )
    print(f"\nkill -9 then --resume, {args.trials} trials on {n} pages (--rate {args.rate}):")
    print(f"  records after each kill: {counts}")
    print(
        f"  then: {len(records)} records for {n} URLs, {sum(per_url.values())} responses "
        f"in the archive, {sum(c > 1 for c in per_url.values())} URLs with more than one, "
        f"warcio check {'passes' if check.returncode == 0 else 'FAILS'}: "
        f"{'OK' if ok else 'FAILED'}"
    )
    if not ok:
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("-r", "--repeat", type=int, default=5)
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--crash-n", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        with nginx(work / "nginx") as base:
            if args.repeat:
                cost(args, base, work)
            if args.trials:
                crashes(args, base, work)


if __name__ == "__main__":
    main()
