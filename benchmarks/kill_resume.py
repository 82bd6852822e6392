"""Kill -9 a real run at random moments, resume it, and check exactly-once: the durability trial.

    .venv/bin/python benchmarks/kill_resume.py [-n 20000] [-t 10] [-k 3] [-m async] [--save-dir]

For each output format (SQLite, JSONL) and each of ``-t`` trials: a fresh output; ``-k`` runs
killed with SIGKILL — the first at a random moment of its start, the others once a random
number of new records (up to a fifth of the URLs) is written, plus up to 50 ms — each
continued with ``--resume``; then a last ``--resume`` run to the end. A trial passes when the
output holds exactly one record per input URL. The built-in site runs in a process of its own
and counts requests, so the report also says how many URLs were fetched a second time (those
in flight or not yet committed when a kill came).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _served import BIN, clean_env, served, write_urls


def records(path: Path) -> list[str]:
    """The URLs recorded in an output (whole JSON lines only)."""
    if not path.exists():
        return []
    if path.suffix == ".jsonl":
        lines = path.read_bytes().splitlines(keepends=True)
        return [json.loads(line)["url"] for line in lines if line.endswith(b"\n")]
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        if not db.execute("SELECT name FROM sqlite_master WHERE name = 'results'").fetchall():
            return []  # killed before the table was made
        return [url for (url,) in db.execute("SELECT url FROM results")]
    finally:
        db.close()


def count(path: Path) -> int:
    if not path.exists():
        return 0
    if path.suffix == ".jsonl":
        return path.read_bytes().count(b"\n")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT count(*) FROM results").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def served_requests(base: str) -> int:
    with urllib.request.urlopen(base + "/stats", timeout=5) as resp:
        return int(json.load(resp)["requests"])


def trial(
    base: str, source: Path, n: int, work: Path, fmt: str, args: argparse.Namespace, seed: int
) -> dict[str, object]:
    rng = random.Random(seed)
    target = work / f"out.{fmt}"
    argv = [BIN, "fetch", "-q", "-m", args.mode, "-c", str(args.concurrency)]
    argv += ["-o", str(target), "--resume", str(source)]
    if args.save_dir:
        argv += ["--save-dir", str(work / "bodies")]
    start_requests = served_requests(base)
    at_kill: list[int] = []
    started = time.perf_counter()
    for k in range(args.kills):
        before = count(target)
        proc = subprocess.Popen(argv, env=clean_env(), stderr=subprocess.DEVNULL)
        if k == 0:
            time.sleep(rng.uniform(0.0, 0.5))
        else:
            goal = before + rng.randint(1, n // 5)
            while count(target) < goal and proc.poll() is None:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.05))
        proc.kill()
        proc.wait()
        got = records(target)
        assert len(got) == len(set(got)), f"duplicate after kill {k + 1}"
        at_kill.append(len(got))
    final = subprocess.run(argv, env=clean_env(), capture_output=True, text=True)
    wall = time.perf_counter() - started
    if final.returncode != 0:
        raise RuntimeError(final.stderr)
    got = records(target)
    requests = served_requests(base) - start_requests
    bodies_ok = None
    if args.save_dir:
        names = {p.name for p in (work / "bodies").iterdir()}
        bodies_ok = len(names) == n and not any(name.endswith(".part") for name in names)
    return {
        "records": len(got),
        "distinct": len(set(got)),
        "at_kill": at_kill,
        "refetched": requests - n,
        "wall": wall,
        "bodies_ok": bodies_ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20_000, help="URLs per trial")
    parser.add_argument("-t", "--trials", type=int, default=10, help="trials per format")
    parser.add_argument("-k", "--kills", type=int, default=3, help="kills per trial")
    parser.add_argument("-m", "--mode", default="async")
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--formats", default="sqlite,jsonl")
    parser.add_argument("--save-dir", action="store_true", help="save bodies too, and check them")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory() as d, served() as base:
        source = Path(d) / "urls.txt"
        write_urls(source, base, args.n)
        for fmt in args.formats.split(","):
            print(
                f"\n{fmt}: {args.trials} trials, {args.n} URLs, -m {args.mode}, {args.kills} kills"
            )
            print("trial  records  distinct  records at each kill        refetched   wall")
            for t in range(args.trials):
                work = Path(tempfile.mkdtemp(dir=d))
                r = trial(base, source, args.n, work, fmt, args, seed=args.seed * 1000 + t)
                ok = r["records"] == r["distinct"] == args.n and r["bodies_ok"] in (None, True)
                failures += not ok
                kills = ", ".join(str(x) for x in r["at_kill"])  # type: ignore[attr-defined]
                print(
                    f"{t + 1:5d}  {r['records']:7d}  {r['distinct']:8d}  {kills:26s}  "
                    f"{r['refetched']:9d}  {r['wall']:5.1f}s  {'ok' if ok else 'FAILED'}",
                    flush=True,
                )
    print("\nall trials exactly once" if not failures else f"\n{failures} trials FAILED")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
