"""The command line: parse, run, and map every failure to a one-line message and an exit code.

``main(argv)`` never raises and returns the exit code; ``entry`` is the installed command.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import os
import sys
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn

from . import __version__
from .bodies.extract import EXTRACTORS, parse_extract
from .config import (
    DEFAULT_BACKOFF,
    DEFAULT_CONCURRENCY,
    DEFAULT_LOOKAHEAD_PER_SLOT,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_MAX_WAIT,
    DEFAULT_MODE,
    DEFAULT_PER_HOST,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    MODES,
    Config,
    parse_header,
)
from .errors import FetchpoolError, SourceError, UsageError

if TYPE_CHECKING:
    from .bodies.savedir import SaveDir

__all__ = ["ExitCode", "build_parser", "entry", "main"]


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # the run could not complete: an output that cannot be written
    USAGE = 2  # bad flags, a missing input file
    BROKEN_PIPE = 141  # the reader of stdout went away (e.g. `| head`)
    INTERRUPTED = 130  # Ctrl-C; every finished record was written


class _Parser(argparse.ArgumentParser):
    """argparse that reports an error as one line instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    return value


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None


def _per_second(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number per second") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fetchpool",
        description="Fetch many web pages at once and record what happened to every URL.",
    )
    parser.add_argument("--version", action="version", version=f"fetchpool {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    f = sub.add_parser(
        "fetch",
        help="fetch URLs and write one record per URL",
        description="Fetch URLs and write one record per URL (url, status, length, elapsed, "
        "error, final_url, content_type, attempts, path, and title, sha256, links with "
        "--extract), streamed as each completes.",
        epilog="SOURCE is a URL (it has ://), a file of URLs (one per line; blank lines and "
        "# lines skipped) or - for standard input; with no SOURCE, standard input is read. "
        "Proxies come from http_proxy, https_proxy, all_proxy and no_proxy (or their "
        "upper-case forms), as curl and requests read them. "
        "A URL repeated in the input is fetched once. "
        "Exit status: 0 when the run completed (failed URLs are records), 1 when the output "
        "could not be written or the workers (-m processes, --cluster) cannot fetch at all, "
        "2 for bad usage, 130 after Ctrl-C (finished records are written).",
    )
    f.add_argument("sources", nargs="*", metavar="SOURCE", help="a URL, a file of URLs, or -")
    f.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write records to FILE: .jsonl, .csv or .sqlite/.db by extension "
        "(default: JSON lines on stdout); an existing FILE needs --resume or --overwrite",
    )
    f.add_argument(
        "--resume",
        action="store_true",
        help="continue the .jsonl or .sqlite output: skip the URLs it already records "
        "(after a crash too), fetch the rest and append them",
    )
    f.add_argument(
        "--overwrite", action="store_true", help="replace an existing output instead of refusing"
    )
    f.add_argument(
        "--save-dir",
        metavar="DIR",
        help="save each 2xx body in a file inside DIR, named safely after its URL; "
        "the record's path names it",
    )
    f.add_argument(
        "-m",
        "--mode",
        default=DEFAULT_MODE,
        metavar="MODE",
        help=f"how requests run at once: {', '.join(MODES)} (default: {DEFAULT_MODE})",
    )
    f.add_argument(
        "-c",
        "--concurrency",
        type=_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"requests in flight at most (default: {DEFAULT_CONCURRENCY})",
    )
    f.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds allowed for each attempt at a URL, end to end: connect, headers, "
        f"redirects and the whole body (default: {DEFAULT_TIMEOUT:g})",
    )
    f.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=None,
        metavar="S",
        help="seconds allowed to make a connection (default: the --timeout)",
    )
    f.add_argument(
        "--retries",
        type=_int,
        default=DEFAULT_RETRIES,
        metavar="N",
        help="more attempts after a connection error, a timeout, a truncated body or a "
        f"408, 429, 500, 502, 503, 504 (default: {DEFAULT_RETRIES})",
    )
    f.add_argument(
        "--backoff",
        type=_seconds,
        default=DEFAULT_BACKOFF,
        metavar="S",
        help="wait before retry n: S x 2^(n-1) seconds, with jitter, unless the server's "
        f"Retry-After says otherwise (default: {DEFAULT_BACKOFF:g})",
    )
    f.add_argument(
        "--max-wait",
        type=_seconds,
        default=DEFAULT_MAX_WAIT,
        metavar="S",
        help=f"longest wait before a retry; Retry-After is capped to it "
        f"(default: {DEFAULT_MAX_WAIT:g})",
    )
    f.add_argument(
        "--per-host",
        type=_int,
        default=DEFAULT_PER_HOST,
        metavar="N",
        help=f"requests in flight to one host (host:port) at most (default: {DEFAULT_PER_HOST})",
    )
    f.add_argument(
        "--rate",
        type=_per_second,
        default=None,
        metavar="R",
        help="requests started per second at most, in total (default: no limit)",
    )
    f.add_argument(
        "--host-rate",
        type=_per_second,
        default=None,
        metavar="R",
        help="requests started per second at most, to each host (default: no limit)",
    )
    f.add_argument(
        "--lookahead",
        type=_int,
        default=None,
        metavar="N",
        help="URLs read ahead of those in flight, to find one whose host is free "
        f"(default: {DEFAULT_LOOKAHEAD_PER_SLOT} x concurrency)",
    )
    f.add_argument(
        "--max-redirects",
        type=_int,
        default=DEFAULT_MAX_REDIRECTS,
        metavar="N",
        help=f"redirects followed at most (default: {DEFAULT_MAX_REDIRECTS})",
    )
    f.add_argument(
        "--max-bytes",
        type=_int,
        default=None,
        metavar="N",
        help="stop reading a body past N bytes (after decoding) with a too-large error "
        "(default: no cap)",
    )
    f.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="send this header with every request; may repeat",
    )
    f.add_argument(
        "--extract",
        default="",
        metavar="FIELDS",
        help="compute fields from each body, comma-separated: "
        + ", ".join(EXTRACTORS)
        + " (records always have these fields; null unless asked for)",
    )
    f.add_argument(
        "--processes",
        type=_int,
        default=None,
        metavar="N",
        help="worker processes for -m processes; -c, --per-host (at least 1 each), --rate, "
        "--host-rate and --lookahead are split between them (default: one per usable core)",
    )
    f.add_argument(
        "--cluster",
        default=None,
        metavar="ADDRESS",
        help="fetch on a Dask cluster: a scheduler's address (tcp://host:8786) or local:N "
        "(N worker processes here); -m names the engine each worker runs, and -c, "
        "--per-host (at least 1 each), --rate, --host-rate and --lookahead are split between "
        "the cluster's worker threads (needs fetchpool[dask])",
    )
    f.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")

    s = sub.add_parser(
        "serve",
        help="run the built-in local test site",
        description="Serve the built-in test site (/page/N, /delay/MS/N, /status/CODE, "
        "/bytes/N, /redirect/N, and /fault/... routes that commit every fault a server can: "
        "resets, stalls, drips, truncated bodies, 429s, loops, a gzip bomb) until Ctrl-C.",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    s.add_argument(
        "--port", type=_int, default=8000, help="port; 0 picks a free one (default: 8000)"
    )

    c = sub.add_parser(
        "counter",
        help="the counting machine: one thread ticks, another reads your input",
        description="Print the count every interval while reading lines: an integer is added "
        "to the count, 'stop' (or end of input, or Ctrl-C) stops.",
    )
    c.add_argument("--start", type=_int, default=0, metavar="N", help="starting count")
    c.add_argument(
        "--interval", type=_seconds, default=1.0, metavar="S", help="seconds between ticks"
    )

    _add_bench(sub)

    d = sub.add_parser(
        "demo",
        help="the lesson's experiment: the same pages fetched in every mode, timed",
        description="Start the built-in site and fetch the same slow pages in every mode.",
    )
    d.add_argument("-n", type=_int, default=20, help="pages (default: 20)")
    d.add_argument(
        "--delay", type=_int, default=500, metavar="MS", help="ms per page (default: 500)"
    )
    d.add_argument("-c", "--concurrency", type=_int, default=10, metavar="N", help="(default: 10)")
    return parser


def _add_bench(sub: argparse._SubParsersAction[Any]) -> None:
    from .lesson.bench.defaults import DEFAULTS

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
        type=_int,
        default=None,
        metavar="N",
        help=f"pages (default: {DEFAULTS.pages}; with SOURCE, the first N URLs, default all)",
    )
    b.add_argument(
        "--delay",
        type=_int,
        default=DEFAULTS.delay_ms,
        metavar="MS",
        help=f"ms each built-in page takes to answer (default: {DEFAULTS.delay_ms})",
    )
    b.add_argument(
        "-c",
        "--concurrency",
        type=_int,
        default=None,
        metavar="N",
        help=f"requests in flight in the concurrent modes (default: {DEFAULTS.concurrency}; "
        f"{DEFAULTS.polite_concurrency} with SOURCE, which is also the most at once to any "
        "one host)",
    )
    b.add_argument(
        "--repeat",
        type=_int,
        default=1,
        metavar="K",
        help="runs per mode, interleaved; tables show the median and the spread (default: 1)",
    )
    b.add_argument(
        "--timeout",
        type=_seconds,
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
        type=_int,
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


def _bench(args: argparse.Namespace, stdin: IO[str], out: IO[str], err: IO[str]) -> int:
    from .lesson.bench.command import BenchOptions, run_bench

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
    return run_bench(options, stdin=stdin, out=out, err=err)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run the command line; return the exit code. Never raises for bad input."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        if args.command == "fetch":
            return _fetch(args, stdin or sys.stdin, out, err)
        if args.command == "serve":
            return _serve(args, err)
        if args.command == "counter":
            from .lesson.counter import run_counter  # type: ignore[import-not-found]

            return int(run_counter(start=args.start, interval=args.interval))
        if args.command == "bench":
            return _bench(args, stdin or sys.stdin, out, err)
        if args.command == "demo":
            from .lesson.demo import run_demo

            return run_demo(n=args.n, delay_ms=args.delay, concurrency=args.concurrency, out=out)
        raise UsageError(f"unknown command {args.command!r}")
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except FetchpoolError as exc:
        code = ExitCode.USAGE if isinstance(exc, UsageError | SourceError) else ExitCode.FAILURE
        print(f"fetchpool: error: {exc}", file=err)
        return code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED


def _serve(args: argparse.Namespace, err: IO[str]) -> int:
    from .testsite.site import serve

    try:
        serve(args.host, args.port)
    except KeyboardInterrupt:
        return ExitCode.OK  # Ctrl-C is how a server is stopped
    except OSError as exc:
        raise UsageError(
            f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    return ExitCode.OK


def _fetch(args: argparse.Namespace, stdin: IO[str], out: IO[str], err: IO[str]) -> int:
    from . import engine
    from .control.progress import NullProgress, Progress, RichProgress, count_urls
    from .input.skip import Skip
    from .input.sources import open_sources
    from .outputs import check_target, open_output
    from .stats import Stats
    from .transports.proxies import from_env as proxies_from_env

    config = Config(
        mode=args.mode,
        concurrency=args.concurrency,
        timeout=args.timeout,
        max_redirects=args.max_redirects,
        max_bytes=args.max_bytes,
        headers=dict(parse_header(h) for h in args.header),
        connect_timeout=args.connect_timeout,
        retries=args.retries,
        backoff=args.backoff,
        max_wait=args.max_wait,
        per_host=args.per_host,
        rate=args.rate,
        host_rate=args.host_rate,
        lookahead=args.lookahead,
        extract=parse_extract(args.extract),
        processes=args.processes,
        cluster=args.cluster,
    )
    proxies_from_env()  # a proxy setting fetchpool cannot use fails before anything is read
    # An unknown extension or an output that must not be clobbered fails before anything is read.
    check_target(args.output, resume=args.resume, overwrite=args.overwrite)
    sources = args.sources or ["-"]
    if sources == ["-"] and stdin.isatty():
        raise UsageError("no URLs given: name a URL or a file, or pipe URLs in (see --help)")
    urls = open_sources(sources, stdin=stdin)  # a missing file fails here, before any fetch
    saver: SaveDir | None = None
    if args.save_dir is not None:
        from .bodies.savedir import SaveDir

        saver = SaveDir(args.save_dir)
        if args.resume:
            saver.remove_partials()
        config = dataclasses.replace(config, body_sink=saver)
    skip = Skip()
    # On a cluster, where a batch may run twice, the writer keeps its own table of the URLs
    # written and drops a second record for one (the engine already should): one per URL.
    written = Skip() if config.cluster is not None else None
    copies = 0
    writer = open_output(args.output, out, resume=args.resume, on_recorded=skip.add_recorded)

    progress: Progress = NullProgress()
    if not args.quiet and err.isatty():
        progress = RichProgress(err)
        count_urls(sources, lambda total: progress.set_total(max(0, total - skip.recorded)))
    stats = Stats()
    started = time.perf_counter()
    next_flush = next_draw = 0.0
    code = ExitCode.OK
    progress.start()
    records = engine.run(skip(urls), config)
    try:
        for rec in records:
            if saver is not None and saver.failure is not None:
                raise saver.error()  # this record's body may be lost: never write the record
            if written is not None and next(written([rec.url]), None) is None:
                copies += 1  # a second record for a URL
                continue
            writer.write(rec)
            stats.add(rec)
            now = time.monotonic()
            if now >= next_draw:
                progress.update(stats)
                next_draw = now + 0.1
            if now >= next_flush:
                writer.flush()
                next_flush = now + 0.2
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away; say nothing more on a pipe that no one reads.
        _silence_stdout()
        progress.stop()
        return ExitCode.BROKEN_PIPE
    finally:
        try:
            records.close()
        finally:
            progress.update(stats)
            progress.stop()
            try:
                writer.close()  # every record handed over is written before main returns
            except BrokenPipeError:
                _silence_stdout()
                code = ExitCode.BROKEN_PIPE
    if not args.quiet:
        wall = time.perf_counter() - started
        note = " (interrupted)" if code == ExitCode.INTERRUPTED else ""
        print(stats.summary(wall) + note, file=err)
        skipped = [f"{skip.done} already in {args.output}"] if skip.done else []
        skipped += [f"{skip.duplicates} repeated in the input"] if skip.duplicates else []
        skipped += [f"{copies} second records for a URL"] if copies else []
        if skipped:
            print("skipped: " + ", ".join(skipped), file=err)
    return code


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def entry() -> None:
    """The installed ``fetchpool`` command."""
    code = main()
    if code == ExitCode.INTERRUPTED:
        # Finished records are written and flushed; do not wait for requests still in flight.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)
