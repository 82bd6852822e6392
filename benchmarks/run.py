"""fetchpool against curl and friends, on a local nginx: wall time, pages/s, peak memory.

    make bench                              # installs what it needs, then runs this
    .venv/bin/python benchmarks/run.py [--quick] [--repeat N] [--only pages,slow,...]

It starts nginx on 127.0.0.1 on a free port with ``benchmarks/nginx.conf.in`` (5 KB pages
at /page/N, the same page after 0.5 s at /slow/N), runs every client on the same URL lists
as a separate process — interleaved: round 1 runs each client once, round 2 again in a
rotated order, and so on — and reports medians. Peak RSS is the client process's own
(``wait4``). nginx is stopped at the end, whatever happens; every run has a time limit.

Scenarios (``--only``):
  startup  ``fetchpool --help`` and a 10-URL fetch in each mode (time to finish, RSS)
  pages    20,000 distinct 5 KB pages, 64 in flight; fetchpool writes JSONL to a file
  slow     5,000 pages that each answer after 0.5 s, 1,000 in flight (ideal: 2.5 s)
  memory   100,000 and 1,000,000 URLs from a file, 64 in flight, JSONL to /dev/null (the
           same nginx pages: a real fetch of each URL, not a shortcut that fails fast)
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import dataclasses
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLIENTS = HERE / "clients"
BIN = Path(sys.executable).parent
FETCHPOOL = str(BIN / "fetchpool")
PY = sys.executable
ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"
CURL_PARALLEL_MAX = 300  # curl 7.x ignores a larger --parallel-max (it falls back to 50)
SLOW_SECONDS = 0.5
PAGE_BYTES = 5 * 1024
GNU_TIME = "/usr/bin/time"  # Debian package `time`


# -- nginx ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _page() -> bytes:
    head = b"<!doctype html>\n<html><head><title>fetchpool bench</title></head><body>\n"
    tail = b"</body></html>\n"
    line = b"<p>fetchpool benchmark page: lorem ipsum dolor sit amet, consectetur.</p>\n"
    filler = (line * (PAGE_BYTES // len(line) + 1))[: PAGE_BYTES - len(head) - len(tail)]
    return head + filler + tail


@contextlib.contextmanager
def nginx(prefix: Path) -> Iterator[str]:
    """nginx in the foreground on a free loopback port; yields its base URL; stops it."""
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    if not all(Path(p).exists() for p in (nginx_bin, ECHO_MODULE, GNU_TIME)):
        sys.exit(
            "benchmarks need nginx, its echo module and GNU time: apt-get install -y "
            "nginx-light libnginx-mod-http-echo time curl (or run `make bench`)"
        )
    port = _free_port()
    for sub in ("www", "tmp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "www" / "page.html").write_bytes(_page())
    prefix.chmod(0o755)  # nginx workers may run as another user
    for path in prefix.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    conf = (HERE / "nginx.conf.in").read_text()
    for name, value in {
        "PREFIX": str(prefix),
        "PORT": str(port),
        "ECHO_MODULE": ECHO_MODULE,
        "WORKERS": "auto",
    }.items():
        conf = conf.replace(f"@{name}@", value)
    (prefix / "nginx.conf").write_text(conf)
    log = prefix / "error.log"
    proc = subprocess.Popen(
        [nginx_bin, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                sys.exit(f"nginx did not start: {err.strip() or log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                sys.exit("nginx did not open its port within 10 s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful stop of the master and its workers
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- running one client --------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    wall: float
    rss_mb: float
    cpu: float
    code: int
    stderr: str


def measure(argv: list[str], *, timeout: float, stdout: Path | None = None) -> Run:
    """Run ``argv`` as a child process: its wall time, peak RSS and CPU time.

    The child runs under GNU time, a small C program, whose report of the child's own peak
    RSS is what we keep: Linux counts the peak RSS of the process that spawned a child into
    the child's ``ru_maxrss``, so measuring straight from this (larger) Python process would
    report this process's memory for any child smaller than it. ``stdout``: a file for the
    child's standard output (None: /dev/null, and nothing kept).
    """
    with contextlib.ExitStack() as stack:
        report = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "usage"
        out_fh = stack.enter_context(stdout.open("wb")) if stdout is not None else None
        err = stack.enter_context(tempfile.TemporaryFile())
        start = time.perf_counter()
        proc = subprocess.Popen(
            [GNU_TIME, "-o", str(report), "-f", "%M %U %S %x", *argv],
            stdin=subprocess.DEVNULL,
            stdout=out_fh if out_fh is not None else subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        # A timer kills a run past its limit; wait() without a timeout blocks in waitpid,
        # while wait(timeout=...) polls every 50 ms and would add up to 50 ms to each run.
        killer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        killer.start()
        try:
            proc.wait()
        except BaseException:  # Ctrl-C or SIGTERM: stop the client too
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        err.seek(0)
        err_text = err.read().decode(errors="replace")
        lines = report.read_text().split("\n") if report.exists() else []
    fields = next((ln.split() for ln in reversed(lines) if ln.strip()), [])
    if proc.returncode == -signal.SIGKILL or len(fields) != 4:
        return Run(wall, 0.0, 0.0, -9, f"{err_text}\n(killed after the limit of {timeout:g} s)")
    maxrss_kb, user, system, code = fields
    return Run(
        wall=wall,
        rss_mb=int(maxrss_kb) / 1024,
        cpu=float(user) + float(system),
        code=int(code),
        stderr=err_text,
    )


# -- clients -------------------------------------------------------------------------------


@dataclasses.dataclass
class Client:
    """One way of fetching a URL list: how to run it and how many 200s it got."""

    name: str
    argv: Callable[[Path, int, Path], list[str]]  # (urls file, concurrency, work dir)
    ok: Callable[[Run, Path], int]  # (the run, work dir) -> pages fetched with status 200
    to_file: bool = True  # standard output to work/out.txt (False: /dev/null)


def _count_json_ok(path: Path) -> int:
    ok = 0
    with path.open() as fh:
        for line in fh:
            ok += json.loads(line)["status"] == 200
    return ok


def _summary_ok(run: Run) -> int:
    # fetchpool's summary: "N URLs in T s (R pages/s), B received; K ok, F failed"
    for line in run.stderr.splitlines():
        if " ok, " in line:
            return int(line.rsplit("; ", 1)[1].split(" ok", 1)[0])
    return 0


def _fetchpool_supports(flag: str) -> bool:
    help_text = subprocess.run(
        [FETCHPOOL, "fetch", "--help"], capture_output=True, text=True, check=False
    ).stdout
    return flag in help_text


def fetchpool_client(mode: str, *, to_jsonl: bool = True, label: str = "") -> Client:
    per_host = _fetchpool_supports("--per-host")

    def argv(urls: Path, c: int, work: Path) -> list[str]:
        args = [FETCHPOOL, "fetch", "-m", mode, "-c", str(c)]
        if per_host:
            args += ["--per-host", str(c)]
        if to_jsonl:
            return [*args, "-q", "-o", str(work / "out.jsonl"), str(urls)]
        return [*args, str(urls)]  # JSON lines to stdout (/dev/null); the summary on stderr

    def ok(run: Run, work: Path) -> int:
        return _count_json_ok(work / "out.jsonl") if to_jsonl else _summary_ok(run)

    return Client(label or f"fetchpool -m {mode}", argv, ok, to_file=to_jsonl)


def curl_client(parallel: int) -> Client:
    """curl's own parallel mode, bodies to /dev/null, one status code per URL on stdout."""

    def argv(urls: Path, c: int, work: Path) -> list[str]:
        config = work / "urls.curl"
        if not config.exists() or config.stat().st_mtime < urls.stat().st_mtime:
            with urls.open() as src, config.open("w") as dst:
                dst.write('write-out = "%{http_code}\\n"\n')
                for line in src:
                    dst.write(f'url = "{line.strip()}"\noutput = "/dev/null"\n')
        return ["curl", "-Z", "--parallel-max", str(parallel), "-s", "-K", str(config)]

    def ok(run: Run, work: Path) -> int:
        return (work / "out.txt").read_text().split().count("200")

    return Client(f"curl -Z --parallel-max {parallel}", argv, ok)


def python_client(name: str, script: str) -> Client:
    def argv(urls: Path, c: int, work: Path) -> list[str]:
        return [PY, str(CLIENTS / script), str(urls), str(c)]

    def ok(run: Run, work: Path) -> int:
        return int((work / "out.txt").read_text().strip() or 0)

    return Client(name, argv, ok)


# -- scenarios -----------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    client: str
    runs: list[Run]
    expected: int
    ok: list[int]

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def rss(self) -> float:
        return statistics.median(r.rss_mb for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def complete(self) -> bool:
        return all(r.code == 0 for r in self.runs) and all(k == self.expected for k in self.ok)

    def as_dict(self) -> dict[str, object]:
        return {
            "client": self.client,
            "expected": self.expected,
            "ok": self.ok,
            "complete": self.complete,
            "wall_median": self.wall,
            "walls": [r.wall for r in self.runs],
            "rss_mb_median": self.rss,
            "rss_mb": [r.rss_mb for r in self.runs],
            "cpu_median": self.cpu,
            "exit_codes": [r.code for r in self.runs],
        }


def write_urls(path: Path, base: str, route: str, n: int) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(f"{base}/{route}/{i}\n")
    return path


def compare(
    title: str,
    clients: list[Client],
    urls: Path,
    n: int,
    concurrency: int,
    repeat: int,
    work: Path,
    timeout: float,
) -> list[Row]:
    """Run every client ``repeat`` times, interleaved (rotating the order each round)."""
    print(f"\n== {title}: {n:,} URLs, {concurrency} in flight, {repeat} rounds", flush=True)
    rows = {c.name: Row(c.name, [], n, []) for c in clients}
    for rnd in range(repeat):
        order = clients[rnd % len(clients) :] + clients[: rnd % len(clients)]
        for client in order:
            cwork = work / "".join(ch if ch.isalnum() else "_" for ch in client.name)
            cwork.mkdir(exist_ok=True)
            for stale in ("out.jsonl", "out.txt"):
                (cwork / stale).unlink(missing_ok=True)
            argv = client.argv(urls, concurrency, cwork)
            run = measure(
                argv, timeout=timeout, stdout=cwork / "out.txt" if client.to_file else None
            )
            got = client.ok(run, cwork) if run.code == 0 else 0
            rows[client.name].runs.append(run)
            rows[client.name].ok.append(got)
            flag = "" if run.code == 0 and got == n else f"  INCOMPLETE: exit {run.code}, {got} ok"
            print(
                f"  round {rnd + 1}  {client.name:<34} {run.wall:8.2f} s "
                f"{n / run.wall:10,.0f} pages/s {run.rss_mb:8.1f} MB{flag}",
                flush=True,
            )
            if run.code != 0:
                print("    " + run.stderr.strip().replace("\n", "\n    ")[-1500:], flush=True)
    return list(rows.values())


def table(rows: list[Row], n: int, reference: Row | None, ref_label: str) -> str:
    head = (
        f"| client | wall (median) | runs | pages/s | peak RSS | CPU | {ref_label} | complete |\n"
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |\n"
    )
    lines = []
    for row in sorted(rows, key=lambda r: r.wall):
        ratio = f"{row.wall / reference.wall:.2f}x" if reference else "-"
        runs = " ".join(f"{r.wall:.2f}" for r in row.runs)
        lines.append(
            f"| {row.client} | {row.wall:.2f} s | {runs} | {n / row.wall:,.0f} | "
            f"{row.rss:.0f} MB | {row.cpu:.2f} s | {ratio} | "
            f"{'yes' if row.complete else 'NO ' + str(row.ok)} |"
        )
    return head + "\n".join(lines) + "\n"


# -- the report ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    def first_line(argv: list[str]) -> str:
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            return "not installed"
        return (proc.stdout or proc.stderr).strip().splitlines()[0]

    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    mem = "unknown"
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        kb = int(fh.readline().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    try:
        import pycurl

        libcurl = pycurl.version
    except ImportError:
        libcurl = "pycurl not installed"
    return {
        "cpu": f"{cpu}, {os.cpu_count()} logical CPUs",
        "memory": mem,
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "pycurl": libcurl,
        "curl": first_line(["curl", "--version"]),
        "nginx": first_line(["nginx", "-v"]),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small lists, 1 round: a smoke test")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per scenario (default 3)")
    parser.add_argument("--only", default="startup,pages,slow,memory", help="scenarios to run")
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--slow", type=int, default=5_000)
    parser.add_argument("--memory", default="100000,1000000", help="URL counts, comma-separated")
    parser.add_argument(
        "--memory-modes", default="", help="fetchpool modes for the memory runs (default: curl "
        "and the default mode)"
    )  # fmt: skip
    parser.add_argument(
        "--memory-repeat", type=int, default=1, help="rounds of the memory runs (default 1: "
        "peak RSS barely varies, and a million URLs in the async mode take minutes)"
    )  # fmt: skip
    parser.add_argument("--out", default=str(ROOT / "out" / "bench"), help="results directory")
    args = parser.parse_args(argv)
    # Stopped by SIGTERM too, the run unwinds: nginx and any running client are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if args.quick:
        args.repeat, args.pages, args.slow, args.memory = 1, 2_000, 1_000, "10000,50000"

    sys.path.insert(0, str(ROOT / "src"))
    from fetchpool.config import DEFAULT_MODE, MODES

    # Bytecode for every module, as an installed copy has it (pip compiles at install):
    # with PYTHONDONTWRITEBYTECODE set, a module edited since its .pyc was written would be
    # compiled again in every timed run (5 ms for the curl transport).
    compileall.compile_dir(ROOT / "src" / "fetchpool", quiet=1)

    memory_modes = args.memory_modes.split(",") if args.memory_modes else ["curl", DEFAULT_MODE]
    memory_modes = list(dict.fromkeys(memory_modes))
    only = set(args.only.split(","))
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000 sockets in flight
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = machine()
    print("fetchpool benchmark\n" + "\n".join(f"  {k}: {v}" for k, v in info.items()))
    report: list[str] = []
    results: dict[str, object] = {"machine": info, "default_mode": DEFAULT_MODE}
    targets: list[str] = []

    with tempfile.TemporaryDirectory(prefix="fetchpool-bench-") as tmp, nginx(Path(tmp)) as base:
        work = Path(tmp) / "work"
        work.mkdir()
        print(f"  nginx: {base}")

        if "startup" in only:
            report.append(startup(base, work, MODES, max(args.repeat, 5), results))

        if "pages" in only:
            n, c = args.pages, 64
            urls = write_urls(work / "pages.txt", base, "page", n)
            curl_cli = curl_client(c)
            clients = [fetchpool_client(m) for m in MODES] + [
                curl_cli,
                python_client("pycurl CurlMulti, bare loop", "pycurl_bare.py"),
                python_client("aiohttp, minimal client", "aiohttp_minimal.py"),
                python_client("urllib3 on N threads", "urllib3_threads.py"),
                python_client("lesson: ThreadPoolExecutor + requests.get", "lesson_requests.py"),
            ]
            measure(curl_cli.argv(urls, c, work), timeout=300)  # warm nginx and the page cache
            rows = compare("pages", clients, urls, n, c, args.repeat, work, timeout=600)
            curl = next(r for r in rows if r.client.startswith("curl"))
            report.append(
                f"### {n:,} pages of 5 KB, {c} in flight (fetchpool writes JSONL)\n\n"
                + table(rows, n, curl, "time / curl")
            )
            results["pages"] = [r.as_dict() for r in rows]
            default = next(r for r in rows if r.client == f"fetchpool -m {DEFAULT_MODE}")
            best = min((r for r in rows if r.client.startswith("fetchpool")), key=lambda r: r.wall)
            for row, what in ((default, "default mode"), (best, "fastest mode")):
                ratio = row.wall / curl.wall
                targets.append(
                    f"1. throughput, {what} ({row.client}): {ratio:.2f}x curl's wall time "
                    f"(target <= 1.25x): {'met' if ratio <= 1.25 and row.complete else 'NOT met'}"
                )

        if "slow" in only:
            n, c = args.slow, 1000
            ideal = -(-n // c) * SLOW_SECONDS
            urls = write_urls(work / "slow.txt", base, "slow", n)
            clients = [fetchpool_client(m) for m in MODES if m != "sequential"] + [
                curl_client(min(c, CURL_PARALLEL_MAX)),
                python_client("aiohttp, minimal client", "aiohttp_minimal.py"),
                python_client("urllib3 on N threads", "urllib3_threads.py"),
                python_client("lesson: ThreadPoolExecutor + requests.get", "lesson_requests.py"),
            ]
            rows = compare("slow", clients, urls, n, c, args.repeat, work, timeout=300)
            report.append(
                f"### {n:,} pages answering after {SLOW_SECONDS} s, {c} in flight "
                f"(ideal {ideal:.1f} s; curl is capped at {CURL_PARALLEL_MAX} in flight)\n\n"
                + table(rows, n, Row("ideal", [Run(ideal, 0, 0, 0, "")], n, [n]), "/ ideal")
            )
            results["slow"] = [r.as_dict() for r in rows]
            for row in rows:
                if row.client in (f"fetchpool -m {DEFAULT_MODE}", "fetchpool -m curl"):
                    ratio = row.wall / ideal
                    targets.append(
                        f"2. latency-bound, {row.client}: {row.wall:.2f} s = {ratio:.2f}x the "
                        f"ideal {ideal:.1f} s (target <= 1.1x): "
                        f"{'met' if ratio <= 1.1 and row.complete else 'NOT met'}"
                    )

        if "memory" in only:
            counts = [int(x) for x in args.memory.split(",")]
            rows_by_mode: dict[str, list[tuple[int, Row]]] = {}
            mem_lines = [
                "| mode | URLs | wall (median) | pages/s | peak RSS (median) | runs (MB) "
                "| complete |",
                "| --- | ---: | ---: | ---: | ---: | --- | --- |",
            ]
            for n in counts:
                urls = write_urls(work / f"memory-{n}.txt", base, "page", n)
                clients = [
                    fetchpool_client(m, to_jsonl=False, label=f"fetchpool -m {m}")
                    for m in memory_modes
                ]
                rows = compare(
                    f"memory {n:,}", clients, urls, n, 64, args.memory_repeat, work, timeout=1800
                )
                for mode, row in zip(memory_modes, rows, strict=True):
                    rows_by_mode.setdefault(mode, []).append((n, row))
                    mem_lines.append(
                        f"| {mode} | {n:,} | {row.wall:.1f} s | {n / row.wall:,.0f} | "
                        f"{row.rss:.1f} MB | {' '.join(f'{r.rss_mb:.1f}' for r in row.runs)} | "
                        f"{'yes' if row.complete else 'NO'} |"
                    )
                urls.unlink()
            report.append(
                "### Memory: URLs from a file, 64 in flight, JSON lines to /dev/null\n\n"
                + "\n".join(mem_lines)
                + "\n"
            )
            results["memory"] = {
                m: [{"urls": n, **row.as_dict()} for n, row in pairs]
                for m, pairs in rows_by_mode.items()
            }
            for mode, pairs in rows_by_mode.items():
                if len(pairs) >= 2:
                    (n1, small), (n2, big) = pairs[0], pairs[-1]
                    growth = big.rss / small.rss
                    ok = big.rss <= 150 and growth <= 1.3 and big.complete
                    targets.append(
                        f"3. memory, fetchpool -m {mode}: {big.rss:.1f} MB for {n2:,} URLs "
                        f"(<= 150 MB), {growth:.2f}x the {small.rss:.1f} MB for {n1:,} "
                        f"(<= 1.3x): {'met' if ok else 'NOT met'}"
                    )

    info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = "\n".join(report) + "\n### Targets\n\n" + "\n".join(f"- {t}" for t in targets) + "\n"
    machine_md = "\n".join(f"- {k}: {v}" for k, v in info.items())
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    md = f"## Run of {stamp}\n\n{machine_md}\n\n{text}"
    print("\n" + md)
    (out_dir / "results.md").write_text(md)
    results["targets"] = targets
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {out_dir / 'results.md'}, {out_dir / 'results.json'}")
    return 0


def startup(
    base: str, work: Path, modes: tuple[str, ...], repeat: int, results: dict[str, object]
) -> str:
    """Time to finish ``fetchpool --help`` and a 10-URL fetch in each mode (medians)."""
    urls = [f"{base}/page/{i}" for i in range(10)]
    cases = [("fetchpool --help", [FETCHPOOL, "--help"])] + [
        (f"fetchpool fetch -m {m} (10 URLs)", [FETCHPOOL, "fetch", "-q", "-m", m, *urls])
        for m in modes
    ]
    print(f"\n== startup: {repeat} rounds", flush=True)
    timings: dict[str, list[Run]] = {name: [] for name, _ in cases}
    for _ in range(repeat):
        for name, argv in cases:
            timings[name].append(measure(argv, timeout=60))
    lines = ["| command | wall (median) | runs | peak RSS |", "| --- | ---: | --- | ---: |"]
    for name, runs in timings.items():
        ok = all(r.code == 0 for r in runs)
        lines.append(
            f"| {name} | {statistics.median(r.wall for r in runs) * 1000:.0f} ms"
            f"{'' if ok else ' (FAILED)'} | {' '.join(f'{r.wall * 1000:.0f}' for r in runs)} | "
            f"{statistics.median(r.rss_mb for r in runs):.0f} MB |"
        )
        print(f"  {name:<42} {statistics.median(r.wall for r in runs) * 1000:6.0f} ms", flush=True)
    results["startup"] = {name: [r.wall for r in runs] for name, runs in timings.items()}
    return "### Start-up: time to finish (target: well under 0.3 s)\n\n" + "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
