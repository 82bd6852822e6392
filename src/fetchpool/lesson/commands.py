"""The lesson's subcommands of the command line: ``serve`` (the test site), ``counter``,
``bench`` and ``demo`` — their flags, kept beside what they run."""

from __future__ import annotations

import argparse
from typing import IO, Any

from ..bodies.extract import EXTRACTORS
from ..cli.args import seconds, whole
from ..config import DEFAULT_TIMEOUT, MODES
from ..errors import UsageError

__all__ = ["add_bench", "add_lesson", "run_bench", "run_counter", "run_demo", "run_serve"]


def add_lesson(sub: argparse._SubParsersAction[Any]) -> None:
    """``serve``, ``counter``, ``bench`` and ``demo``: their flags."""
    s = sub.add_parser(
        "serve",
        help="run the built-in local test site",
        description="Serve the built-in test site (/page/N, /delay/MS/N, /status/CODE, "
        "/bytes/N, /redirect/N, and /fault/... routes that commit every fault a server can: "
        "resets, stalls, drips, truncated bodies, 429s, loops, a gzip bomb) until Ctrl-C.",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    s.add_argument(
        "--port", type=whole, default=8000, help="port; 0 picks a free one (default: 8000)"
    )

    c = sub.add_parser(
        "counter",
        help="the counting machine: one thread ticks, another reads your input",
        description="Print the count every interval while reading lines: an integer is added "
        "to the count, 'stop' (or end of input, or Ctrl-C) stops.",
    )
    c.add_argument("--start", type=whole, default=0, metavar="N", help="starting count")
    c.add_argument(
        "--interval", type=seconds, default=1.0, metavar="S", help="seconds between ticks"
    )

    add_bench(sub)

    d = sub.add_parser(
        "demo",
        help="the lesson's experiment: the same pages fetched in every mode, timed",
        description="Start the built-in site and fetch the same slow pages in every mode.",
    )
    d.add_argument("-n", type=whole, default=20, help="pages (default: 20)")
    d.add_argument(
        "--delay", type=whole, default=500, metavar="MS", help="ms per page (default: 500)"
    )
    d.add_argument("-c", "--concurrency", type=whole, default=10, metavar="N", help="(default: 10)")


def run_serve(args: argparse.Namespace) -> int:
    from ..testsite.site import serve

    try:
        serve(args.host, args.port)
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how a server is stopped
    except OSError as exc:
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    return 0


def run_counter(args: argparse.Namespace) -> int:
    from .counter import run_counter as count

    return int(count(start=args.start, interval=args.interval))


def run_demo(args: argparse.Namespace, out: IO[str]) -> int:
    from .demo import run_demo as demo

    return demo(n=args.n, delay_ms=args.delay, concurrency=args.concurrency, out=out)


def add_bench(sub: argparse._SubParsersAction[Any]) -> None:
    """``fetchpool bench``: its flags (the bench itself is imported only when it runs)."""
    from .bench.defaults import DEFAULTS

    b = sub.add_parser(
        "bench",
        help="coroutines, threads or processes? measure every mode on this machine",
        description="Compare the modes. I/O-bound: fetch the same pages in every mode, on "
        "the built-in site (pages that answer after --delay ms) or on your URLs. With --cpu, "
        "CPU-bound too: parse pages one after another, on threads and on processes. Prints "
        "a table per half: median wall time, speedup over sequential, pages/s, peak memory "
        "and CPU time of the run's processes, and efficiency against the ideal.",
        epilog="Each run happens in a fresh Python process. Ctrl-C prints the rows finished "
        "so far and exits 130. Exit status 1 when a run failed.",
    )
    b.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="your URLs instead of the built-in site: a URL, a file of URLs, or -",
    )
    b.add_argument(
        "--modes",
        default=",".join(MODES),
        metavar="LIST",
        help="modes to compare, comma-separated (default: all)",
    )
    b.add_argument(
        "-n",
        type=whole,
        default=None,
        metavar="N",
        help=f"pages (default: {DEFAULTS.pages}; with SOURCE, the first N URLs, default all)",
    )
    b.add_argument(
        "--delay",
        type=whole,
        default=DEFAULTS.delay_ms,
        metavar="MS",
        help=f"ms each built-in page takes to answer (default: {DEFAULTS.delay_ms})",
    )
    b.add_argument(
        "-c",
        "--concurrency",
        type=whole,
        default=None,
        metavar="N",
        help=f"requests in flight in the concurrent modes (default: {DEFAULTS.concurrency}; "
        f"{DEFAULTS.polite_concurrency} with SOURCE, which is also the most at once to any "
        "one host)",
    )
    b.add_argument(
        "--repeat",
        type=whole,
        default=1,
        metavar="K",
        help="runs per mode, interleaved; tables show the median and the spread (default: 1)",
    )
    b.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds allowed for each URL (default: {DEFAULT_TIMEOUT:g})",
    )
    b.add_argument(
        "--extract",
        default="",
        metavar="FIELDS",
        help="compute these fields from each body in every mode: " + ", ".join(EXTRACTORS),
    )
    b.add_argument(
        "--cpu",
        action="store_true",
        help="also the CPU-bound half: sequential, threads and processes, one per core",
    )
    b.add_argument(
        "--rounds",
        type=whole,
        default=DEFAULTS.rounds,
        metavar="R",
        help=f"with --cpu, times each page is parsed (default: {DEFAULTS.rounds})",
    )
    b.add_argument("--json", metavar="FILE", help="write the results as JSON (see README)")
    b.add_argument(
        "--plot",
        metavar="FILE",
        help="draw time per mode into FILE.png or FILE.svg (needs fetchpool[plot])",
    )


def run_bench(args: argparse.Namespace, stdin: IO[str], out: IO[str], err: IO[str]) -> int:
    from .bench.command import BenchOptions
    from .bench.command import run_bench as bench

    options = BenchOptions(
        sources=tuple(args.sources),
        modes=args.modes,
        pages=args.n,
        delay_ms=args.delay,
        concurrency=args.concurrency,
        repeat=args.repeat,
        timeout=args.timeout,
        extract=args.extract,
        cpu=args.cpu,
        rounds=args.rounds,
        json_path=args.json,
        plot_path=args.plot,
    )
    code: int = bench(options, stdin=stdin, out=out, err=err)
    return code
