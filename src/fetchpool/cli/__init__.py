"""The command line: parse, call the library, and map every failure to a one-line message
and an exit code. The work itself is the library's (:func:`fetchpool.run` for ``fetch``).

``main(argv)`` never raises and returns the exit code; ``entry`` is the installed command.
"""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

from .. import __version__
from ..errors import FetchpoolError, SourceError, UsageError
from ..lesson.commands import add_lesson, run_bench, run_counter, run_demo, run_serve
from .args import Parser
from .fetch import add_fetch, run_fetch
from .report import add_report, run_report
from .warc import add_index, run_index

__all__ = ["ExitCode", "build_parser", "entry", "main"]


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # the run could not complete: an output that cannot be written
    USAGE = 2  # bad flags, a missing input file
    HANGUP = 129  # SIGHUP (the terminal closed); as Ctrl-C
    INTERRUPTED = 130  # Ctrl-C (SIGINT); every finished record was written
    BROKEN_PIPE = 141  # the reader of stdout went away (e.g. `| head`)
    TERMINATED = 143  # SIGTERM (systemd, docker, Kubernetes, kill); as Ctrl-C


#: The exit code of a run stopped by each signal: 128 + the signal's number, as a shell says.
_BY_SIGNAL = {
    signal.SIGINT: ExitCode.INTERRUPTED,
    signal.SIGTERM: ExitCode.TERMINATED,
    signal.SIGHUP: ExitCode.HANGUP,
}


#: What adds each command's parser, and the commands it adds.
_PARSERS: tuple[tuple[Callable[[Any], None], tuple[str, ...]], ...] = (
    (add_fetch, ("fetch",)),
    (add_index, ("index",)),
    (add_report, ("report",)),
    (add_lesson, ("serve", "counter", "bench", "demo")),
)


def build_parser(command: str | None = None) -> Parser:
    """The parser of every command, or of ``command`` alone when the command line names it
    (the others' flags are never read then: building them all costs a run a few ms)."""
    parser = Parser(
        prog="fetchpool",
        description="Fetch many web pages at once and record what happened to every URL.",
    )
    parser.add_argument("--version", action="version", version=f"fetchpool {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    known = any(command in names for _, names in _PARSERS)
    for add, names in _PARSERS:
        if not known or command in names:
            add(sub)
    return parser


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
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser(words[0] if words else None).parse_args(words)
        if args.command == "fetch":
            run_fetch(args, stdin or sys.stdin, out, err)
            return ExitCode.OK
        if args.command == "index":
            return run_index(args, out)
        if args.command == "report":
            return run_report(args, err)
        if args.command == "serve":
            return run_serve(args)
        if args.command == "counter":
            return run_counter(args)
        if args.command == "bench":
            return run_bench(args, stdin or sys.stdin, out, err)
        if args.command == "demo":
            return run_demo(args, out)
        raise UsageError(f"unknown command {args.command!r}")
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except FetchpoolError as exc:
        code = ExitCode.USAGE if isinstance(exc, UsageError | SourceError) else ExitCode.FAILURE
        print(f"fetchpool: error: {exc}", file=err)
        return code
    except KeyboardInterrupt as exc:  # fetchpool.Interrupted too: the summary is printed
        return _BY_SIGNAL.get(getattr(exc, "signal", signal.SIGINT), ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away; say nothing more on a pipe that no one reads.
        _silence_stdout()
        return ExitCode.BROKEN_PIPE


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _observed() -> bool:
    """A profiler, tracer or (Python 3.12+) ``sys.monitoring`` tool is watching the run."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return True
    monitoring = getattr(sys, "monitoring", None)
    return monitoring is not None and any(monitoring.get_tool(i) for i in range(6))


def entry() -> None:
    """The installed ``fetchpool`` command."""
    code = main()
    # A fetch that ended has closed its outputs: the interpreter's teardown would only free
    # memory (12 ms, a fiftieth of a run over 20,000 pages). Not under a profiler or a
    # coverage tool, which write their data as the interpreter ends.
    ended = sys.argv[1:2] == ["fetch"] and not _observed()
    if code in _BY_SIGNAL.values() or ended:
        # Finished records are written and flushed; do not wait for requests still in flight.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)
