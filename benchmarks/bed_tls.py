"""HTTPS against plain HTTP on the real-web bed: the same URL list over both, per mode.

    .venv/bin/python benchmarks/bed_tls.py [--hosts 2000] [--urls 20000] [--repeat 3]
        [--modes threadpool,threading,to-thread,sequential,curl,async] [-c 64]

Starts the bed (tests/bed: a network namespace with dnsmasq and nginx serving every host
over HTTP/1.1 on 80 and HTTPS on 443, certificates from a CA made for the run), then runs
``fetchpool fetch`` inside it on ``--urls`` URLs spread over ``--hosts`` hosts, once over
http:// and once over https:// (the CA trusted through SSL_CERT_FILE as a system store is:
a bundle of the machine's store plus the run's CA), interleaved, ``--repeat`` rounds, and
prints per mode the median wall times and their ratio (the target of the thread modes:
HTTPS within 1.5x of HTTP). Needs root (the bed skips otherwise), as ``make test`` does.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from bed import Bed, unavailable  # noqa: E402  (tests/bed, the shared bed)

FETCHPOOL = str(Path(sys.executable).parent / "fetchpool")


def _run(
    bed: Bed, mode: str, urls: Path, out: Path, concurrency: int, env: dict[str, str]
) -> float:
    argv = [FETCHPOOL, "fetch", "-q", "-m", mode, "-c", str(concurrency), "--retries", "0"]
    argv += ["-o", str(out), "--overwrite", str(urls)]
    started = time.perf_counter()
    done = bed.run(argv, env=env, timeout=1800)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{mode}: exit {done.returncode}: {done.stderr[-500:]}")
    bad = [r for r in map(json.loads, out.read_text().splitlines()) if r["status"] != 200]
    lines = out.read_text().count("\n")
    if bad or lines != urls.read_text().count("\n"):
        raise SystemExit(f"{mode}: {len(bad)} records not 200 (first: {bad[:1]}), {lines} lines")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--urls", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--modes", default="threadpool,threading,to-thread,sequential,curl,async")
    args = parser.parse_args()
    why = unavailable()
    if why:
        raise SystemExit(f"the bed cannot run here: {why}")
    modes = args.modes.split(",")
    walls: dict[tuple[str, str], list[float]] = {}
    with Bed.start(hosts=args.hosts, dns_delay=0.0) as bed, tempfile.TemporaryDirectory() as tmp:
        env = {"SSL_CERT_FILE": str(bed.trusted_bundle)}
        lists = {}
        for scheme in ("http", "https"):
            path = Path(tmp) / f"{scheme}.txt"
            path.write_text(
                "".join(
                    bed.url(i % args.hosts, f"/page/{i}", https=scheme == "https") + "\n"
                    for i in range(args.urls)
                )
            )
            lists[scheme] = path
        out = Path(tmp) / "out.jsonl"
        for round_ in range(args.repeat):
            for mode in modes:
                for scheme in ("http", "https") if round_ % 2 == 0 else ("https", "http"):
                    wall = _run(bed, mode, lists[scheme], out, args.concurrency, env)
                    walls.setdefault((mode, scheme), []).append(wall)
                    print(f"round {round_ + 1} {mode:11} {scheme:5} {wall:7.2f} s", flush=True)
    print(
        f"\n{args.urls:,} URLs over {args.hosts:,} hosts, -c {args.concurrency}, medians of "
        f"{args.repeat}:"
    )
    print(f"{'mode':11} {'http':>9} {'https':>9} {'https/http':>11}")
    for mode in modes:
        http = statistics.median(walls[(mode, "http")])
        https = statistics.median(walls[(mode, "https")])
        print(f"{mode:11} {http:8.2f}s {https:8.2f}s {https / http:10.2f}x")


if __name__ == "__main__":
    main()
