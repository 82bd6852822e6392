"""The whole run as one call, for the command line and the library alike:
sources -> skip (``--resume``, repeats) -> engine -> the single writer -> summary.

The thread that calls :func:`run` is the one writer: it takes each record as it completes,
writes it, counts it, and draws the progress. Workers never touch an output. Every record
handed over is written before :func:`run` returns or raises.

SIGTERM and SIGHUP (what systemd, docker and Kubernetes send, and a closed terminal) stop a
run as Ctrl-C does (:class:`StopSignals`): no new request starts, every finished record is
written, and :class:`Interrupted` says which signal it was.

A run with a knob (``config.knob``, or one made for ``control``) can be steered while it
goes: the writer publishes each record to it, and ``control`` serves it over HTTP
(:mod:`fetchpool.control.endpoint`). A stop request ends the run as Ctrl-C does
(:class:`Interrupted`, signal SIGINT).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import IO, TYPE_CHECKING, Unpack

from . import engine
from .bodies.hook import combine
from .config import Config, Settings, config_of
from .control.progress import NullProgress, Progress, RichProgress, count_urls
from .errors import BodiesError
from .input.skip import Skip
from .input.sources import Sources, as_urls
from .knob import Knob
from .outputs import check_target, open_output
from .stats import Stats, Summary
from .transports.proxies import from_env as proxies_from_env

if TYPE_CHECKING:
    from .control.endpoint import ControlServer

__all__ = ["STOP_SIGNALS", "Interrupted", "StopSignals", "run"]

_DRAW_EVERY = 0.1  # seconds between progress updates
_FLUSH_EVERY = 0.2  # seconds between flushes of the output


#: The signals that stop a run as Ctrl-C (SIGINT) does.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP stopped :func:`run`: every finished record was written;
    ``summary`` says what the run did until then, ``signal`` which signal it was (the
    command exits 128 + it: 130, 143, 129). A KeyboardInterrupt, so a script stops as usual."""

    def __init__(self, summary: Summary, signum: int = signal.SIGINT) -> None:
        self.signal = signal.Signals(signum)
        super().__init__(f"the run was stopped by {self.signal.name}; finished records are written")
        self.summary = summary


class StopSignals:
    """While a run goes (``with StopSignals() as stop:``), SIGTERM and SIGHUP take the path
    of Ctrl-C: the handler calls SIGINT's own (Python's, which raises KeyboardInterrupt in
    the main thread, or asyncio's, which cancels the running step), so every engine stops
    the one way it already knows. ``received`` is the first signal that came.

    Once :meth:`winding_down` is called (the run is writing what finished), a signal is only
    noted: nothing may cut the last writes short. Handlers can only be set from the main
    thread; elsewhere this does nothing (the caller's own handlers apply)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._quiet = False
        self._old: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._old[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
        self._old.clear()

    def winding_down(self) -> None:
        self._quiet = True

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None or self._quiet:
            self.received = self.received or signum
            return  # already stopping: let the writes finish
        self.received = signum
        on_sigint = signal.getsignal(signal.SIGINT)
        if callable(on_sigint):
            on_sigint(signal.SIGINT, frame)  # raises, or asks the running step to stop
            return
        raise KeyboardInterrupt  # SIGINT ignored or default: stop here all the same


def run(
    urls: Iterable[str] | str,
    *,
    output: str | os.PathLike[str] | None = None,
    stdout: IO[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    save_dir: str | os.PathLike[str] | None = None,
    warc: str | os.PathLike[str] | None = None,
    warc_dedup: bool = False,
    warc_max_size: int | None = None,
    progress: Progress | bool = False,
    control: str | None = None,
    control_token: str | None = None,
    config: Config | None = None,
    **settings: Unpack[Settings],
) -> Summary:
    """Fetch ``urls`` and write one record per URL to ``output``; return the summary.

    ``urls``: URLs (an iterable, read lazily, or one URL), or :func:`open_sources` of
    command-line style sources (files of URLs, ``-``), which also gives the progress its
    total. ``output``: a ``.jsonl``, ``.csv`` or ``.sqlite``/``.db`` file, or None / ``"-"``
    for JSON lines on ``stdout`` (default: ``sys.stdout``). An existing output needs
    ``resume`` (skip the URLs it records, append the rest) or ``overwrite``.
    ``save_dir``: save each 2xx body in a file there (the record's ``path``).
    ``warc``: archive every request and response in this ``.warc.gz``/``.warc`` file, with a
    CDXJ index beside it (see :mod:`fetchpool.warc`); ``warc_dedup``: a payload already
    archived gets a revisit record; ``warc_max_size``: roll over to numbered files past it.
    ``progress``: True for a live bar on stderr, or any :class:`Progress`.
    ``control``: serve the run's :class:`Knob` on this ``HOST:PORT`` while it goes
    (``GET /status``, ``POST /pause``, ``/resume``, ``/concurrency?n=N``, ``/stop``;
    see :mod:`fetchpool.control.endpoint`): loopback only, unless ``control_token`` is
    given, which every request must then send as ``Authorization: Bearer TOKEN``. The
    knob is ``config.knob`` (made when there is none); its ``control_url`` says where
    it is served.
    The other keywords are the fields of :class:`Config` (or pass ``config``).

    A URL repeated in the input is fetched once. Raises :class:`UsageError` before anything
    is fetched for bad settings or an output that must not be clobbered;
    :class:`OutputError` when the output or the bodies cannot be written (what was written
    stays, and ``resume`` continues it); :class:`Interrupted` after Ctrl-C.
    """
    cfg = config_of(config, settings)
    checks = _checks(cfg.body_sink)
    target = None if output is None else os.fspath(output)
    proxies_from_env()  # a proxy setting fetchpool cannot use fails before anything is read
    check_target(target, resume=resume, overwrite=overwrite)
    server: ControlServer | None = None
    if control is not None:
        # Imported here: a run without the endpoint does not load http.server.
        from .control.endpoint import ControlServer, parse_address

        parse_address(control, token=control_token)  # a bad address fails before any fetch
        if cfg.knob is None:
            cfg = dataclasses.replace(cfg, knob=Knob(cfg.concurrency))
    knob = cfg.knob
    archive = None if warc is None else os.fspath(warc)
    if archive is not None:
        from .warc.writer import check_archive

        check_archive(archive, mode=cfg.mode, cluster=cfg.cluster, max_size=warc_max_size,
                      resume=resume, overwrite=overwrite)  # fmt: skip
    if save_dir is not None:
        from .bodies.savedir import SaveDir

        saver = SaveDir(os.fspath(save_dir))
        if resume:
            saver.remove_partials()
        sink = saver if cfg.body_sink is None else combine(saver, cfg.body_sink)
        cfg = dataclasses.replace(cfg, body_sink=sink)
        checks.insert(0, saver.check)
    skip = Skip()
    writer = open_output(target, stdout, resume=resume, on_recorded=skip.add_recorded)
    if archive is not None:
        from .warc.resume import archiving

        cfg, writer = archiving(archive, cfg, writer, target, resume=resume, dedup=warc_dedup,
                                max_size=warc_max_size)  # fmt: skip
    bar = _progress(progress)
    if isinstance(urls, Sources) and not isinstance(bar, NullProgress):
        count_urls(urls.names, lambda total: bar.set_total(max(0, total - skip.recorded)))
    # On a cluster, where a batch may run twice, the writer keeps its own table of the URLs
    # written and drops a second record for one (the engine already should): one per URL.
    written = Skip() if cfg.cluster is not None else None
    stats = Stats()
    copies = 0
    started = time.perf_counter()
    next_flush = next_draw = 0.0
    interrupted: KeyboardInterrupt | None = None
    lost_body: BodiesError | None = None
    handed = 0  # records given to the writer: all written once it closes without an error
    stop = StopSignals()
    try:
        if control is not None:
            assert knob is not None
            server = ControlServer(knob, control, token=control_token)
            knob.control_url = server.url
        bar.start()
        # Sources give their URLs already trimmed and checked as as_urls would (input.sources).
        records = engine.run(skip(urls if isinstance(urls, Sources) else as_urls(urls)), cfg)
    except BaseException:
        if server is not None:
            server.close()
        writer.close()
        raise
    try:
        stop.__enter__()
        for rec in records:
            for check in checks:
                check()  # a body could not be kept: never write this record
            if written is not None and next(written([rec.url]), None) is None:
                copies += 1  # a second record for a URL
                continue
            writer.write(rec)
            handed += 1
            stats.add(rec)
            if knob is not None:
                knob.recorded(rec)
            now = time.monotonic()
            if now >= next_draw:
                bar.update(stats)
                next_draw = now + _DRAW_EVERY
            if now >= next_flush:
                writer.flush()
                next_flush = now + _FLUSH_EVERY
    except KeyboardInterrupt as exc:
        interrupted = exc
    except BodiesError as exc:
        lost_body = exc  # raised below, once the records before it are written
    finally:
        stop.winding_down()
        try:
            records.close()
        finally:
            try:
                bar.update(stats)
                bar.stop()
                writer.close()  # every record handed over is written before run returns
            finally:
                stop.__exit__()
                if server is not None:
                    server.close()
    if lost_body is not None:
        hint = ": rerun with --resume once the cause is fixed" if _resumable(target) else ""
        raise BodiesError(
            f"{lost_body}; every record written before it is intact, each with its whole "
            f"body ({handed} in this run){hint}"
        ) from lost_body
    summary = Summary(
        stats=stats,
        wall=time.perf_counter() - started,
        already_done=skip.done,
        repeated=skip.duplicates,
        second_records=copies,
        output=target,
        interrupted=interrupted is not None,
    )
    if interrupted is not None:  # a signal once the last record was in stops nothing
        raise Interrupted(summary, stop.received or signal.SIGINT) from interrupted
    return summary


def _resumable(target: str | None) -> bool:
    from .outputs import RESUMABLE, STDOUT, format_for

    return target not in (None, "-", STDOUT) and format_for(target) in RESUMABLE


def _checks(sink: object) -> list[Callable[[], None]]:
    """The body sink's ``check()`` (see :mod:`fetchpool.bodies.hook`), if it has one."""
    check = getattr(sink, "check", None)
    return [] if check is None else [check]


def _progress(progress: Progress | bool) -> Progress:
    if progress is True:
        import sys

        return RichProgress(sys.stderr)
    if progress is False:
        return NullProgress()
    return progress
