"""Fast on the real web: fetchpool against curl -Z and a minimal aiohttp client on the bed.

    .venv/bin/python benchmarks/bed_web.py [--scenarios hosts,h2,dns] [--repeat 3]
        [--modes curl,async,threadpool,...,cluster] [-c 64] [--urls 20000] [--hosts 2000]

Starts the real-web bed (tests/bed: a network namespace with dnsmasq, nginx serving every
host over HTTPS with HTTP/2, certificates from a CA made for the run) and runs, interleaved,
``--repeat`` rounds of each scenario, printing every run and then the medians:

- ``hosts``: ``--urls`` HTTPS URLs over ``--hosts`` hosts, ``-c`` in flight: fetchpool's
  modes (``cluster``: ``--cluster local:2``), ``curl -Z --parallel-max C`` and the minimal
  aiohttp client (benchmarks/clients);
- ``h2``: ``--urls`` HTTPS URLs on one host, ``-c C --per-host C``: fetchpool's curl mode and
  ``curl -Z``, with the TLS connections each opened (counted in nginx's access log);
- ``dns``: ``--hosts`` URLs on as many names under ``slow.test``, whose every answer takes
  ``--dns-delay`` seconds (ideal: hosts / c x delay): every mode and ``curl -Z``, with the
  lookups each made (counted by the slow DNS server);
- ``dns-cache`` (not run unless named): ``--urls`` URLs over those ``--hosts`` slow names, each
  name coming round again: the lookups a run makes per name;
- ``reopen`` (not run unless named): the ``hosts`` list with the client's open files limited
  (``ulimit -n 256``), so that fewer connections are kept than there are hosts and a host's
  connection is opened again on each of its turns: the full and the resumed TLS handshakes.

Every scenario counts, in nginx's access log, the TLS connections opened and how many of them
resumed a session (``$ssl_session_reused``); the rest were full handshakes.

Every run must give a 200 for every URL; a run that does not stops the benchmark. The CA is
trusted as a user's machine trusts it: SSL_CERT_FILE names the system store plus the run's CA
(curl gets --cacert). Needs root, as the bed does.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from bed import Bed, layout, unavailable  # noqa: E402  (tests/bed, the shared bed)

BIN = Path(sys.executable).parent
FETCHPOOL = str(BIN / "fetchpool")


@dataclass
class Run:
    wall: float
    ok: int
    connections: int
    resumed: int
    lookups: int


def _fetchpool(mode: str, c: int, per_host: int | None) -> list[str]:
    how = ["--cluster", "local:2"] if mode == "cluster" else ["-m", mode]
    argv = [FETCHPOOL, "fetch", "-q", *how, "-c", str(c), "--retries", "0"]
    return argv + (["--per-host", str(per_host)] if per_host else [])


def _count_ok_jsonl(out: Path) -> int:
    return sum(json.loads(line)["status"] == 200 for line in out.read_text().splitlines())


def run_client(
    bed: Bed, name: str, urls: Path, work: Path, c: int, per_host: int | None, nofile: int = 0
) -> Run:
    out = work / "out"
    env = {"SSL_CERT_FILE": str(bed.trusted_bundle)}
    if name.startswith("fetchpool"):
        argv = [*_fetchpool(name.split()[-1], c, per_host), "-o", f"{out}.jsonl", "--overwrite"]
        argv.append(str(urls))
    elif name == "curl -Z":
        config = work / "urls.curl"
        with urls.open() as src, config.open("w") as dst:
            dst.write('write-out = "%{http_code}\\n"\n')
            for line in src:
                dst.write(f'url = "{line.strip()}"\noutput = "/dev/null"\n')
        argv = ["curl", "-Z", "--parallel-max", str(c), "-s", "--cacert", str(bed.ca_file)]
        argv += ["-K", str(config)]
    else:  # the minimal aiohttp client
        argv = [sys.executable, str(HERE / "clients" / "aiohttp_minimal.py"), str(urls), str(c)]
    if nofile:  # fewer open files: fewer connections kept
        argv = ["sh", "-c", f'ulimit -n {nofile} && exec "$@"', "sh", *argv]
    mark, looked = bed.mark(), len(bed.slow_lookups())
    started = time.perf_counter()
    done = bed.run(argv, env=env, timeout=3600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{name}: exit {done.returncode}: {done.stderr[-500:]}")
    if name.startswith("fetchpool"):
        ok = _count_ok_jsonl(Path(f"{out}.jsonl"))
    elif name == "curl -Z":
        ok = done.stdout.split().count("200")
    else:
        ok = int(done.stdout.split()[-1])
    n = urls.read_text().count("\n")
    lines = bed.access_log(since=mark, wait_for=n, timeout=30)
    connections = len({(x["addr"], x["connection"]) for x in lines})
    resumed = len({(x["addr"], x["connection"]) for x in lines if x["ssl_session_reused"] == "r"})
    lookups = sum(t == "A" for t, _ in bed.slow_lookups()[looked:])
    if ok != n:
        raise SystemExit(f"{name}: {ok} of {n} URLs gave 200")
    return Run(wall, ok, connections, resumed, lookups)


def scenario(
    bed: Bed, title: str, clients: list[str], urls: Path, work: Path, c: int,
    per_host: int | None, repeat: int, nofile: int = 0,
) -> dict[str, list[Run]]:  # fmt: skip
    print(f"\n## {title}", flush=True)
    runs: dict[str, list[Run]] = {name: [] for name in clients}
    for round_ in range(repeat):
        order = clients if round_ % 2 == 0 else clients[::-1]
        for name in order:
            r = run_client(bed, name, urls, work, c, per_host, nofile)
            runs[name].append(r)
            print(f"round {round_ + 1}  {name:24} {r.wall:7.2f} s  {r.connections:6} "
                  f"connections ({r.resumed} resumed)  {r.lookups:6} lookups  "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    best = min(statistics.median(r.wall for r in rs) for rs in runs.values())
    print(
        "\n| client | median | vs fastest | rounds | TLS connections | full / resumed | lookups |"
    )
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
    for name, rs in runs.items():
        med = statistics.median(r.wall for r in rs)
        rounds = " / ".join(f"{r.wall:.2f}" for r in rs)
        print(f"| {name} | {med:.2f} s | {med / best:.2f}x | {rounds} | "
              f"{statistics.median(r.connections for r in rs):.0f} | "
              f"{statistics.median(r.connections - r.resumed for r in rs):.0f} / "
              f"{statistics.median(r.resumed for r in rs):.0f} | "
              f"{statistics.median(r.lookups for r in rs):.0f} |", flush=True)  # fmt: skip
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="hosts,h2,dns")
    parser.add_argument("--modes", default="curl,async,processes,threadpool")
    parser.add_argument("--urls", type=int, default=20000)
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--dns-delay", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    args = parser.parse_args()
    why = unavailable()
    if why:
        raise SystemExit(f"the bed cannot run here: {why}")
    modes = [f"fetchpool -m {m}" for m in args.modes.split(",")]
    c = args.concurrency
    # bytecode as an installed copy has it (see run.py)
    compileall.compile_dir(HERE.parent / "src" / "fetchpool", quiet=1)
    print(f"# bed_web: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the start")
    with (
        Bed.start(hosts=args.hosts, dns_delay=args.dns_delay) as bed,
        tempfile.TemporaryDirectory() as tmp,
    ):
        work = Path(tmp)
        for name in args.scenarios.split(","):
            urls = work / f"{name}.txt"
            nofile = 0
            if name == "reopen":
                lines = [bed.url(i % args.hosts, f"/page/{i}") for i in range(args.urls)]
                clients = modes  # curl -Z: its resolver threads fail with so few files (exit 6)
                nofile = 256
                title = (f"{args.urls:,} HTTPS URLs over {args.hosts:,} hosts, -c {c}, "
                         f"ulimit -n {nofile}: connections opened again")  # fmt: skip
                per_host = None
            elif name == "hosts":
                lines = [bed.url(i % args.hosts, f"/page/{i}") for i in range(args.urls)]
                clients = [*modes, "curl -Z", "aiohttp minimal"]
                title = f"{args.urls:,} HTTPS URLs over {args.hosts:,} hosts, -c {c}"
                per_host = None
            elif name == "h2":
                lines = [bed.url(0, f"/page/{i}") for i in range(args.urls)]
                clients = ["fetchpool -m curl", "curl -Z"]
                title = f"{args.urls:,} HTTPS URLs on one host, -c {c} --per-host {c}"
                per_host = c
            elif name == "dns":
                lines = [f"https://h{i}.{layout.SLOW}/page/{i}" for i in range(args.hosts)]
                clients = [*modes, "curl -Z"]
                ideal = args.hosts / c * args.dns_delay
                ms = args.dns_delay * 1000
                title = (f"{args.hosts:,} HTTPS URLs on {args.hosts:,} names answered "
                             f"after {ms:.0f} ms, -c {c} (ideal {ideal:.1f} s)")  # fmt: skip
                per_host = None
            elif name == "dns-cache":
                n = args.hosts
                lines = [f"https://h{i % n}.{layout.SLOW}/page/{i}" for i in range(args.urls)]
                clients = [*modes, "curl -Z"]
                ms = args.dns_delay * 1000
                title = (f"{args.urls:,} HTTPS URLs on {n:,} names answered after {ms:.0f} "
                         f"ms, -c {c}: one lookup per name, not per URL")  # fmt: skip
                per_host = None
            else:
                raise SystemExit(f"unknown scenario {name!r}: hosts, h2, dns, dns-cache, reopen")
            urls.write_text("".join(line + "\n" for line in lines))
            scenario(bed, title, clients, urls, work, c, per_host, args.repeat, nofile)


if __name__ == "__main__":
    main()
