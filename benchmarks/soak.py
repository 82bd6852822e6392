"""The "done when" of issue #3, as a run you can repeat: 1,000 good URLs mixed with every
fault, in every mode, through the installed command.

    .venv/bin/python benchmarks/soak.py            # every mode, 1,000 good URLs
    .venv/bin/python benchmarks/soak.py -n 200 -m async threadpool

Six local "hosts" (built-in sites on their own ports): four serve the good URLs, one
commits every fault (three of each), one is slow (400 ms a page). For each mode it
checks, and prints: exactly one correct record per URL (status, length, error kind,
attempts), the run inside its time budget, the peak resident memory of the process, no
traceback on stderr, the most requests in flight on each host (measured by the servers,
which must stay within --per-host), and the most requests started in any one second
(which must stay within --rate).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from fetchpool import MODES
from fetchpool.testsite.site import TestSite, page_body
from fetchpool.testsite.faults import bomb_body

CONCURRENCY = 32
PER_HOST = 8
RATE = 500.0
TIMEOUT = 1.0
RETRIES = 1
BACKOFF = 0.05
MAX_BYTES = 1_000_000
SLOW_MS = 400

Expect = tuple[int | None, int | None, str | None, int]  # status, length, kind, attempts


@dataclass
class Result:
    mode: str
    urls: int
    wall: float
    budget: float
    wrong: list[str]
    peak_rss_mb: float
    host_peaks: list[int]
    max_starts_per_s: int
    code: int
    traceback: bool

    @property
    def ok(self) -> bool:
        return (
            not self.wrong
            and self.code == 0
            and not self.traceback
            and self.wall <= self.budget
            and self.peak_rss_mb < 300
            and max(self.host_peaks) <= PER_HOST
            and self.max_starts_per_s <= RATE * 1.1 + 5
        )


def good_urls(hosts: list[TestSite], n: int) -> dict[str, Expect]:
    """n good URLs over the hosts, each unique (a query tells copies apart)."""
    rng = random.Random(3)
    cases: dict[str, Expect] = {}
    for i in range(n):
        site = hosts[i % len(hosts)]
        kind = rng.random()
        if kind < 0.6:
            cases[site.url(f"/page/{i}")] = (200, len(page_body(i)), None, 1)
        elif kind < 0.7:
            cases[site.url(f"/fault/gzip/{i}")] = (200, len(page_body(i)), None, 1)
        elif kind < 0.8:
            cases[site.url(f"/redirect/2?n={i}")] = (200, len(page_body(0)), None, 1)
        elif kind < 0.85:
            cases[site.url(f"/status/404?n={i}")] = (404, len(b"status 404\n"), None, 1)
        else:
            cases[site.url(f"/delay/30/{i}")] = (200, len(page_body(i)), None, 1)
    return cases


def fault_urls(site: TestSite, copies: int) -> dict[str, Expect]:
    cases: dict[str, Expect] = {}
    ok1 = len(b"ok after 1\n")
    for k in range(copies):
        key = uuid.uuid4().hex
        q = f"?copy={k}"
        cases.update(
            {
                site.url(f"/fault/reset-before{q}"): (None, None, "connect", 2),
                site.url(f"/fault/reset-mid/100000{q}"): (None, None, "truncated", 2),
                site.url(f"/fault/truncated/1000{q}"): (None, None, "truncated", 2),
                site.url(f"/fault/stall-headers{q}"): (None, None, "timeout", 2),
                site.url(f"/fault/stall-body/1000{q}"): (None, None, "timeout", 2),
                site.url(f"/fault/drip/100/200{q}"): (None, None, "timeout", 2),
                site.url(f"/fault/flaky/503/1/{key}-a"): (200, ok1, None, 2),
                site.url(f"/fault/flaky/429/1/{key}-b?after=1"): (200, ok1, None, 2),
                site.url(f"/fault/loop/0{q}"): (None, None, "redirect", 1),
                site.url(f"/fault/redirect-to?location=file:///etc/passwd&copy={k}"): (
                    None,
                    None,
                    "redirect",
                    1,
                ),
                site.url(f"/fault/huge{q}"): (None, None, "too-large", 1),
                site.url(f"/fault/gzip-bomb{q}"): (None, None, "too-large", 1),
                site.url(f"/fault/not-utf8/1001{q}"): (200, 1001, None, 1),
                site.raw_url(f"/garbage{q}"): (None, None, "protocol", 1),
                site.raw_url(f"/close{q}"): (None, None, "connect", 2),
                site.raw_url(f"/drip-headers{q}"): (None, None, "timeout", 2),
                f"http://127.0.0.1:1/refused{q}": (None, None, "connect", 2),
                f"http://exa mple.com/{k}": (None, None, "invalid-url", 0),
            }
        )
    return cases


def budget(cases: dict[str, Expect], concurrency: int) -> float:
    """Seconds the run may take: the work spread over the workers, the slowest single URL,
    the rate limit's spacing, and 5 s for a busy machine."""
    attempts = sum(e[3] for e in cases.values())
    work = 0.0
    for url, (_, _, kind, tries) in cases.items():
        per_try = (
            TIMEOUT if kind == "timeout" else (SLOW_MS / 1000 if "/delay/700" in url else 0.02)
        )
        work += tries * (per_try + BACKOFF)
    worst = (RETRIES + 1) * TIMEOUT + RETRIES * BACKOFF + 1.0  # + a 429's Retry-After: 1
    return work / concurrency + worst + attempts / RATE + 5.0


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = lo = 0
    for hi, t in enumerate(times):
        while t - times[lo] > window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


# Linux keeps a process's peak memory across exec, and a child started by vfork (as
# subprocess does) begins with its parent's (here: the sites' and the test's). So a small
# wrapper forks the command (a fresh peak) and prints the peak wait4 reports for it, in KB,
# as the last line of stderr.
_MEASURE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_mode(mode: str, n_good: int, fetchpool_bin: str, workdir: Path) -> Result:
    with (
        TestSite() as h1,
        TestSite() as h2,
        TestSite() as h3,
        TestSite() as h4,
        TestSite() as faulty,
        TestSite() as slow,
    ):
        hosts = [h1, h2, h3, h4]
        cases = good_urls(hosts, n_good)
        cases.update(fault_urls(faulty, copies=3))
        for i in range(20):
            cases[slow.url(f"/delay/{SLOW_MS}/{i}")] = (200, len(page_body(i)), None, 1)
        urls = list(cases)
        random.Random(7).shuffle(urls)
        listing = workdir / f"urls-{mode}.txt"
        listing.write_text("\n".join(urls) + "\n")
        out = workdir / f"out-{mode}.jsonl"
        concurrency = 1 if mode == "sequential" else CONCURRENCY
        argv = [
            fetchpool_bin,
            "fetch",
            "-m",
            mode,
            "-c",
            str(CONCURRENCY),
            "--per-host",
            str(PER_HOST),
            "--rate",
            str(RATE),
            "--timeout",
            str(TIMEOUT),
            "--retries",
            str(RETRIES),
            "--backoff",
            str(BACKOFF),
            "--max-bytes",
            str(MAX_BYTES),
            "-o",
            str(out),
            str(listing),
        ]
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", _MEASURE, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
        wall = time.monotonic() - started
        code = proc.returncode
        stderr, _, peak_kb = proc.stderr.decode(errors="replace").rstrip().rpartition("\n")
        measured = [*hosts, slow]  # the fault host's stalled handlers outlive their clients
        host_peaks = [s.peak for s in measured]
        arrivals = [t for s in (*hosts, faulty, slow) for t in s.arrivals]

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    wrong: list[str] = []
    counts = Counter(r["url"] for r in rows)
    wrong += [f"{u}: {c} records" for u, c in counts.items() if c != 1]
    wrong += [f"{u}: no record" for u in cases if u not in counts]
    for r in rows:
        want = cases.get(r["url"])
        kind = r["error"].split(":", 1)[0] if r["error"] else None
        got = (r["status"], r["length"], kind, r["attempts"])
        if want is not None and got != want:
            wrong.append(f"{r['url']}: {got} != {want} ({r['error']})")
    return Result(
        mode=mode,
        urls=len(cases),
        wall=wall,
        budget=budget(cases, concurrency),
        wrong=wrong,
        peak_rss_mb=int(peak_kb) / 1024,
        host_peaks=host_peaks,
        max_starts_per_s=max_in_window(arrivals, 1.0),
        code=code,
        traceback="Traceback" in stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="good URLs (default: 1000)")
    parser.add_argument("-m", "--modes", nargs="*", default=list(MODES))
    args = parser.parse_args(argv)
    fetchpool_bin = str(Path(sys.executable).parent / "fetchpool")
    bomb_body()  # built once up front, not inside the first request's timeout
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        print(
            f"{'mode':<11} {'URLs':>5} {'wall':>7} {'budget':>7} {'wrong':>5} {'RSS MB':>7} "
            f"{'peak/host':>10} {'starts/s':>8}  ok",
            flush=True,
        )
        for mode in args.modes:
            r = run_mode(mode, args.n, fetchpool_bin, Path(tmp))
            results.append(r)
            print(
                f"{r.mode:<11} {r.urls:>5} {r.wall:>6.1f}s {r.budget:>6.1f}s {len(r.wrong):>5} "
                f"{r.peak_rss_mb:>7.1f} {max(r.host_peaks):>10} {r.max_starts_per_s:>8}  "
                f"{'yes' if r.ok else 'NO'}",
                flush=True,
            )
            for line in r.wrong[:10]:
                print("   ", line)
    print(
        f"limits: -c {CONCURRENCY} --per-host {PER_HOST} --rate {RATE:g} --timeout {TIMEOUT:g} "
        f"--retries {RETRIES} --backoff {BACKOFF:g} --max-bytes {MAX_BYTES}"
    )
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
