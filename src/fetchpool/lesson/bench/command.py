"""``fetchpool bench``: set up, run every measurement, and report — even after Ctrl-C.

Runs are interleaved (every mode once, then every mode again, for ``--repeat``) so that
a slow moment of a busy machine spreads over all modes instead of spoiling one.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from rich.console import Console

from ...bodies.extract import parse_extract
from ...config import DEFAULT_TIMEOUT, MODES
from ...errors import FetchpoolError, OutputError, UsageError
from .cpu import CPU_MODES
from .defaults import DEFAULTS
from .document import to_document
from .machine import this_machine
from .measure import RunFailed, cpu_job, io_job, measure
from .model import Result, Row, Section
from .plot import check_plot, write_plot
from .report import describe, print_result

__all__ = ["DEFAULTS", "BenchOptions", "run_bench"]

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchOptions:
    """What ``fetchpool bench`` was asked to do (validated by :func:`run_bench`)."""

    sources: tuple[str, ...] = ()
    modes: str = ",".join(MODES)
    pages: int | None = None
    delay_ms: int = DEFAULTS.delay_ms
    concurrency: int | None = None
    repeat: int = 1
    timeout: float = DEFAULT_TIMEOUT
    extract: str = ""
    cpu: bool = False
    rounds: int = DEFAULTS.rounds
    json_path: str | None = None
    plot_path: str | None = None


Say = Callable[[str], None]
MakeJob = Callable[[Row], dict[str, Any]]


def run_bench(options: BenchOptions, *, stdin: IO[str], out: IO[str], err: IO[str]) -> int:
    """Run the benchmark; print tables on ``out`` and progress on ``err``; return the exit
    code: 0, or 130 after Ctrl-C (the finished rows are still shown and written). Bad options
    raise UsageError before anything runs; a failed run raises FetchpoolError at the end."""
    modes = _modes(options.modes)
    _check(options)
    if options.plot_path is not None:
        check_plot(options.plot_path)
    machine = this_machine()
    result = Result(machine=machine, created=datetime.now(UTC).isoformat(timespec="seconds"))
    failures: list[str] = []

    def say(text: str) -> None:
        print(text, file=err, flush=True)

    try:
        with _urls(options, stdin) as (url_file, count, delay):
            say(f"fetchpool bench on {machine.label()}")
            result.io = io = _io_section(options, modes, machine.cores, count, delay)
            if delay is None and count < 4 * (io.concurrency or 1):
                say(
                    f"warning: only {count} URLs for {io.concurrency} in flight: the "
                    f"concurrent modes have little to overlap, so the timings say little; "
                    f"give at least {4 * (io.concurrency or 1)}"
                )

            def fetch_job(row: Row) -> dict[str, Any]:
                return io_job(
                    mode=row.mode,
                    concurrency=row.workers,
                    url_file=url_file,
                    timeout=options.timeout,
                    extract=io.extract,
                    # The built-in site is one local host: the per-host limit, meant to be
                    # polite to real servers, would cap every mode below its concurrency.
                    per_host=row.workers if delay is not None else None,
                )

            _run_section(io, fetch_job, say, failures)
        if options.cpu:
            result.cpu = cpu = _cpu_section(options, machine.cores)

            def parse_job(row: Row) -> dict[str, Any]:
                pages, rounds = cpu.items, options.rounds
                return cpu_job(mode=row.mode, pages=pages, rounds=rounds, workers=row.workers)

            _run_section(cpu, parse_job, say, failures)
    except KeyboardInterrupt:
        result.interrupted = True
    console = Console(file=out, highlight=False, width=None if out.isatty() else 130)
    print_result(result, console)
    _write_outputs(result, options)
    if result.interrupted:
        return EXIT_INTERRUPTED
    if failures:
        raise FetchpoolError(f"{len(failures)} run(s) failed; the first: {failures[0]}")
    return EXIT_OK


def _io_section(
    options: BenchOptions, modes: list[str], cores: int, count: int, delay: int | None
) -> Section:
    concurrency = options.concurrency or (
        DEFAULTS.concurrency if delay is not None else DEFAULTS.polite_concurrency
    )
    return Section(
        kind="io",
        items=count,
        repeat=options.repeat,
        cores=cores,
        rows=[Row(m, 1 if m == "sequential" else concurrency) for m in modes],
        delay_ms=delay,
        concurrency=concurrency,
        extract=parse_extract(options.extract),
        target="built-in site" if delay is not None else "URLs",
    )


def _cpu_section(options: BenchOptions, cores: int) -> Section:
    return Section(
        kind="cpu",
        items=options.pages or DEFAULTS.pages,
        repeat=options.repeat,
        cores=cores,
        rows=[Row(m, 1 if m == "sequential" else cores) for m in CPU_MODES],
        rounds=options.rounds,
        workers=cores,
    )


def _run_section(section: Section, make_job: MakeJob, say: Say, failures: list[str]) -> None:
    """Every row's runs, interleaved: each mode once, then each again, ``repeat`` times."""
    say(describe(section))
    for number in range(1, section.repeat + 1):
        for row in section.rows:
            try:
                run = measure(make_job(row))
            except RunFailed as exc:
                row.error = str(exc)
                failures.append(f"{row.mode}: {exc}")
                say(f"  {row.mode:<11} failed: {exc}")
                continue
            row.runs.append(run)
            of = f" run {number}/{section.repeat}" if section.repeat > 1 else ""
            say(f"  {row.mode:<11}{of} {run.wall:7.2f} s")


def _modes(text: str) -> list[str]:
    modes: list[str] = []
    for item in text.split(","):
        name = item.strip()
        if not name:
            continue
        if name not in MODES:
            raise UsageError(f"unknown mode {name!r} in --modes; choose from: {', '.join(MODES)}")
        if name not in modes:
            modes.append(name)
    if not modes:
        raise UsageError("--modes names no mode")
    return modes


def _check(options: BenchOptions) -> None:
    positive = {
        "-n": options.pages,
        "-c/--concurrency": options.concurrency,
        "--repeat": options.repeat,
        "--rounds": options.rounds,
    }
    for flag, value in positive.items():
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, not {value}")
    if options.delay_ms < 0:
        raise UsageError(f"--delay must be 0 or more milliseconds, not {options.delay_ms}")
    if not options.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {options.timeout}")
    parse_extract(options.extract)
    if options.json_path is not None and not Path(options.json_path).parent.resolve().is_dir():
        raise UsageError(f"cannot write {options.json_path}: no such directory")


@contextmanager
def _urls(options: BenchOptions, stdin: IO[str]) -> Iterator[tuple[str, int, int | None]]:
    """A file of the URLs to fetch, their number, and the built-in site's delay (None for
    the user's own URLs). The built-in site runs until the block ends."""
    from ...input.sources import open_sources

    with tempfile.TemporaryDirectory(prefix="fetchpool-bench-") as tmp:
        url_file = str(Path(tmp) / "urls.txt")
        if options.sources:
            if list(options.sources) == ["-"] and stdin.isatty():
                raise UsageError("no URLs given: name a URL or a file, or pipe URLs in")
            count = 0
            with open(url_file, "w", encoding="utf-8") as fh:
                for url in open_sources(options.sources, stdin=stdin):
                    if options.pages is not None and count >= options.pages:
                        break
                    fh.write(url + "\n")
                    count += 1
            if count == 0:
                raise UsageError("the sources hold no URLs")
            yield url_file, count, None
            return
        from ...testsite.site import TestSite

        pages = options.pages or DEFAULTS.pages
        with TestSite() as site:
            with open(url_file, "w", encoding="utf-8") as fh:
                for i in range(pages):
                    fh.write(site.url(f"/delay/{options.delay_ms}/{i}") + "\n")
            yield url_file, pages, options.delay_ms


def _write_outputs(result: Result, options: BenchOptions) -> None:
    if options.json_path is not None:
        try:
            with open(options.json_path, "w", encoding="utf-8") as fh:
                json.dump(to_document(result), fh, indent=2)
                fh.write("\n")
        except OSError as exc:
            raise OutputError(f"cannot write {options.json_path}: {exc.strerror or exc}") from exc
    if options.plot_path is not None:
        write_plot(result, options.plot_path)
