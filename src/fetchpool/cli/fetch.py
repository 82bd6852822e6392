"""``fetchpool fetch``: its flags, and the run they ask for.

Every flag that sets a :class:`~fetchpool.config.Config` field has the field's name as its
``dest``, so :func:`config_from_args` builds the config from the fields themselves (a
test checks that every field but those the command line cannot give has its flag)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
from typing import IO, TYPE_CHECKING, Any, Final

from ..bodies.extract import EXTRACTORS
from ..config import DEFAULT_LOOKAHEAD_PER_SLOT, MODES, Config, parse_header
from ..errors import UsageError
from ..stats import Stats, Summary
from .args import per_second, seconds, whole
from .warc import add_warc_flags

if TYPE_CHECKING:
    from ..control.progress import Progress
    from ..knob import Knob

__all__ = ["NOT_FLAGS", "add_fetch", "config_from_args", "run_fetch"]

#: Config fields the command line does not set by a flag of their name: bodies go to
#: files by --save-dir, proxies always come from the environment, and the archive is
#: --warc's; the knob and the robots.txt memory are the run's own.
NOT_FLAGS = frozenset({"body_sink", "trust_env", "archive", "knob", "robots_memory"})

_EPILOG = (
    "SOURCE is a URL (it has ://), a file of URLs (one per line; blank lines and # lines "
    "skipped) or - for standard input; with no SOURCE, standard input is read. Proxies come "
    "from http_proxy, https_proxy, all_proxy and no_proxy (or their upper-case forms), as "
    "curl and requests read them. A URL repeated in the input is fetched once. "
    "Exit status: 0 when the run completed (failed URLs are records), 1 when the output "
    "could not be written or the workers (-m processes, --cluster) cannot fetch at all, "
    "2 for bad usage or an output in use by another run, 130 after Ctrl-C, 143 after SIGTERM, "
    "129 after SIGHUP (each writes every finished record and the summary first), 141 when "
    "the reader of standard output went away. "
    "Keys while it runs (stderr a terminal, URLs not read from standard input): p pauses and "
    "resumes, + and - turn the concurrency up and down, s stops as Ctrl-C does (exit 130), "
    "? shows the keys."
)


#: The flags that set one Config field each, named as the field: names, type, metavar, help
#: (``{default}`` is the field's default).
_CONFIG_FLAGS: Final[list[tuple[Any, ...]]] = [
    ("-m", "--mode", str, "MODE",
     f"how requests run at once: {', '.join(MODES)} (default: {{default}})"),
    ("-c", "--concurrency", whole, "N", "requests in flight at most (default: {default})"),
    ("--timeout", seconds, "S",
     "seconds allowed for each attempt at a URL, end to end: the name lookup, connect, "
     "headers, redirects and the whole body (default: {default:g})"),
    ("--connect-timeout", seconds, "S",
     "seconds allowed to make a connection (default: the --timeout)"),
    ("--retries", whole, "N",
     "more attempts after a connection error, a timeout, a truncated body or a 408, 429, 500, "
     "502, 503, 504 (default: {default})"),
    ("--backoff", seconds, "S",
     "wait before retry n: S x 2^(n-1) seconds, with jitter, unless the server's Retry-After "
     "says otherwise (default: {default:g})"),
    ("--max-wait", seconds, "S",
     "longest wait before a retry; Retry-After is capped to it (default: {default:g})"),
    ("--per-host", whole, "N",
     "requests in flight to one host (host:port) at most (default: {default})"),
    ("--rate", per_second, "R",
     "requests started per second at most, in total (default: no limit)"),
    ("--host-rate", per_second, "R",
     "requests started per second at most, to each host (default: no limit)"),
    ("--lookahead", whole, "N",
     "URLs read ahead of those in flight, to find one whose host is free "
     f"(default: {DEFAULT_LOOKAHEAD_PER_SLOT} x concurrency)"),
    ("--max-redirects", whole, "N", "redirects followed at most (default: {default})"),
    ("--location-trusted", bool, None,
     "send the -H Authorization, Cookie and Proxy-Authorization headers and the URL's "
     "user:password to the hosts a redirect leads to as well, as curl --location-trusted "
     "(default: only to the URL's own scheme, host and port)"),
    ("--max-bytes", whole, "N",
     "stop reading a body past N bytes (after decoding) with a too-large error "
     "(default: no cap)"),
    ("--processes", whole, "N",
     "worker processes for -m processes; -c, --per-host (at least 1 each), --rate, "
     "--host-rate and --lookahead are split between them (default: one per usable core)"),
    ("--cacert", str, "FILE",
     "trust the CA certificates in FILE (PEM) instead of the system store, which honours "
     "SSL_CERT_FILE and SSL_CERT_DIR; for the servers and an https:// proxy alike"),
    ("-k", "--insecure", bool, None,
     "check no certificate and no host name (as curl -k), of the servers or of an https:// "
     "proxy: for test servers only"),
    ("--robots", bool, None,
     "obey robots.txt (RFC 9309): fetch each origin's /robots.txt once, first, under the same "
     "limits; a URL it disallows gets a robots error record; Crawl-delay and Request-rate "
     "space that host's requests; a 4xx robots.txt allows everything, a 407, 429, 5xx or no "
     "answer disallows the whole origin for the run"),
    ("--cluster", str, "ADDRESS",
     "fetch on a Dask cluster: a scheduler's address (tcp://host:8786) or local:N (N worker "
     "processes here); -m names the engine each worker runs, and -c, --per-host (at least 1 "
     "each), --rate, --host-rate and --lookahead are split between the cluster's worker "
     "threads (needs fetchpool[dask])"),
]  # fmt: skip


def add_fetch(sub: argparse._SubParsersAction[Any]) -> None:
    f = sub.add_parser(
        "fetch",
        help="fetch URLs and write one record per URL",
        description="Fetch URLs and write one record per URL (url, status, length, elapsed, "
        "error, final_url, content_type, attempts, path, title, sha256 and links with "
        "--extract, warc_file and warc_offset with --warc, started), streamed as each "
        "completes.",
        epilog=_EPILOG,
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
    defaults = Config()
    for *names, kind, metavar, text in _CONFIG_FLAGS:
        dest = names[-1].lstrip("-").replace("-", "_")
        default = getattr(defaults, dest)  # each default is the Config's own
        if kind is bool:  # a switch
            f.add_argument(*names, action="store_true", default=default, help=text)
            continue
        f.add_argument(
            *names,
            type=kind,
            default=default,
            metavar=metavar,
            help=text.format(default=default),
        )
    f.add_argument(
        "-H",
        "--header",
        dest="headers",
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
    add_warc_flags(f)
    f.add_argument(
        "--control",
        metavar="HOST:PORT",
        help="serve the run's controls over HTTP for scripts: GET /status (JSON), POST "
        "/pause, /resume, /concurrency?n=N, /stop; loopback only unless --control-token "
        "is given (port 0: any free port, shown on stderr)",
    )
    f.add_argument(
        "--control-token",
        metavar="TOKEN",
        default=os.environ.get("FETCHPOOL_CONTROL_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' on every request to --control, and "
        "allow it to listen beyond loopback (default: $FETCHPOOL_CONTROL_TOKEN; the "
        "variable keeps the token out of the process list)",
    )
    f.add_argument(
        "--no-keys",
        action="store_true",
        help="do not read keys from the terminal while the run goes",
    )
    f.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")


def config_from_args(args: argparse.Namespace) -> Config:
    """The Config the flags ask for: every field whose flag was parsed, by its name."""
    given = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(Config)
        if field.name not in NOT_FLAGS
    }
    given["headers"] = dict(parse_header(h) for h in given["headers"])
    return Config(**given)


def run_fetch(args: argparse.Namespace, stdin: IO[str], out: IO[str], err: IO[str]) -> Summary:
    """The run the flags ask for (see :func:`fetchpool.run`); its summary printed on ``err``
    unless ``--quiet``. Raises what :func:`fetchpool.run` raises."""
    from ..control.keys import Keys
    from ..control.live import LiveDisplay
    from ..control.progress import NullProgress, RichProgress
    from ..knob import Knob

    config = config_from_args(args)
    sources = args.sources or ["-"]
    if sources == ["-"] and stdin.isatty():
        raise UsageError("no URLs given: name a URL or a file, or pipe URLs in (see --help)")
    progress: Progress = NullProgress()
    keys_wanted = not args.no_keys and err.isatty() and "-" not in sources
    knob = None
    if keys_wanted or args.control is not None:
        knob = Knob(config.concurrency)
        config = dataclasses.replace(config, knob=knob)
    with contextlib.ExitStack() as stack:
        keys = Keys.open(knob) if keys_wanted and knob is not None else None
        if keys is not None:
            stack.callback(keys.close)  # the terminal gets its settings back, however it ends
        if not args.quiet and err.isatty():
            progress = RichProgress(err) if knob is None else LiveDisplay(err, knob, keys)
        if knob is not None and args.control is not None:
            progress = _Announce(progress, knob, err)  # under -q too: a script needs it
        return _run(args, sources, stdin, out, err, progress, config)


def _run(
    args: argparse.Namespace,
    sources: list[str],
    stdin: IO[str],
    out: IO[str],
    err: IO[str],
    progress: Progress,
    config: Config,
) -> Summary:
    from ..input.sources import open_sources
    from ..pipeline import Interrupted, run

    try:
        summary = run(
            open_sources(sources, stdin=stdin),  # a missing file fails here, before any fetch
            output=args.output,
            stdout=out,
            resume=args.resume,
            overwrite=args.overwrite,
            save_dir=args.save_dir,
            warc=args.warc,
            warc_dedup=args.warc_dedup,
            warc_max_size=args.warc_max_size,
            progress=progress,
            control=args.control,
            control_token=args.control_token,
            config=config,
        )
    except Interrupted as stop:
        if not args.quiet:
            print(stop.summary, file=err)
        raise
    if not args.quiet:
        print(summary, file=err)
    return summary


class _Announce:
    """The progress, and first a line saying where the control endpoint listens."""

    def __init__(self, inner: Progress, knob: Knob, err: IO[str]) -> None:
        self._inner, self._knob, self._err = inner, knob, err

    def start(self) -> None:
        if self._knob.control_url is not None:
            print(f"fetchpool: control endpoint on {self._knob.control_url}", file=self._err,
                  flush=True)  # fmt: skip
        self._inner.start()

    def update(self, stats: Stats) -> None:
        self._inner.update(stats)

    def set_total(self, total: int) -> None:
        self._inner.set_total(total)

    def stop(self) -> None:
        self._inner.stop()
