"""The archive's writer in the run: a thread that has WARC records made, then hands records on.

:meth:`ArchiveWriter.captured` is called by the scheduler (in the thread that runs it) with
the captures of a URL whose record was just made; :meth:`ArchiveWriter.write` is the
pipeline's ``writer.write``. The thread wakes every :data:`INTERVAL` seconds and sends every
waiting URL's captures to the archive's own process (:mod:`.child`), which writes for each
request a ``request`` record, then its ``response`` (or a ``revisit`` with ``--warc-dedup``),
fsyncs the file and appends the lines of the CDXJ index; only then does the thread hand the
records, each with ``warc_file`` and ``warc_offset`` set, to the records output. So a record
that reached the output has its response durable in the archive; the archive may be ahead of
the output after a crash, never behind (see :mod:`.resume`).
"""

from __future__ import annotations

import contextlib
import operator
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any, Final

from ..errors import OutputError, UsageError
from ..outputs import Writer
from ..records import FIELDS, Record
from .capture import Capture
from .child import read_frame, write_frame
from .index import surt_of
from .paths import archive_paths, existing, split

__all__ = ["INTERVAL", "ArchiveWriter", "archive_paths", "check_archive"]

INTERVAL: Final = 0.1
_BACKLOG: Final = 20_000
_BATCH: Final = 10_000
_VALUES: Final = operator.attrgetter(*FIELDS)
_AT: Final = (FIELDS.index("warc_file"), FIELDS.index("warc_offset"))


def _located(record: Record, name: str, offset: int) -> Record:
    """``record`` with ``warc_file`` and ``warc_offset`` set (dataclasses.replace, at
    about half its cost: it runs for every URL, on the thread that shares the GIL with the
    fetching)."""
    values = list(_VALUES(record))
    values[_AT[0]], values[_AT[1]] = name, offset
    return Record(*values)


def check_archive(
    path: str, *, mode: str, cluster: str | None, max_size: int | None, resume: bool,
    overwrite: bool,
) -> None:  # fmt: skip
    """Refuse, before anything is fetched, an archive that cannot be written as asked."""
    from . import ARCHIVING_MODES

    split(path)
    if cluster is not None or mode not in ARCHIVING_MODES:
        where = "--cluster" if cluster is not None else f"the {mode} mode"
        raise UsageError(
            f"--warc needs the exact bytes sent and received, which {where} cannot give "
            f"(see README, 'For web archivists'): use -m {' or -m '.join(sorted(ARCHIVING_MODES))}"
        )
    if max_size is not None and max_size < 1:
        raise UsageError(f"--warc-max-size must be at least 1 byte, not {max_size}")
    surt_of()
    if not resume and not overwrite:
        for name in existing(path, max_size):
            if os.path.getsize(name) > 0:
                raise UsageError(
                    f"{name} already exists; add --resume to continue the run it archives, "
                    "or --overwrite to replace it"
                )


class ArchiveWriter:
    """The archive at ``path`` and the records output ``inner`` it feeds."""

    def __init__(
        self,
        path: str,
        *,
        dedup: bool = False,
        max_size: int | None = None,
        interval: float = INTERVAL,
    ) -> None:
        self.path = path
        self.index_path = archive_paths(path, max_size)[1]
        self._interval = interval
        self._pending: dict[str, list[Capture]] = {}
        self._queue: queue.SimpleQueue[tuple[Record, list[Capture] | None]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._inner: Writer | None = None
        self._thread: threading.Thread | None = None
        #: payload digest -> (target, WARC-Date, record id): responses already archived, for
        #: ``--warc-dedup`` (filled by :mod:`.resume` before :meth:`continue_at`).
        self.seen: dict[str, tuple[str, str, str]] = {}
        self.written = 0  # records handed on
        # The archive's process; it starts while the run gets ready.
        self._child = subprocess.Popen(
            [sys.executable, "-m", "fetchpool.warc.child", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # the terminal's Ctrl-C is the run's to handle
        )
        try:
            self._call(("open", path, dedup, max_size))
        except BaseException:
            self._end_child()
            raise

    def _call(self, message: tuple[Any, ...]) -> Any:
        """Send one request to the archive's process and return its answer; an OSError
        when it could not do it (a full disk), as writing here would have raised."""
        child = self._child
        assert child.stdin is not None and child.stdout is not None
        try:
            write_frame(child.stdin, message)
        except (BrokenPipeError, ValueError):
            reply = None
        else:
            reply = read_frame(child.stdout)
        if reply is None:
            raise OSError(None, f"the archive's process ended (exit status {child.poll()})")
        if reply[0] == "error":
            raise OSError(reply[1], reply[2])
        return reply[1]

    def _end_child(self) -> None:
        child = self._child
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    # -- opening -----------------------------------------------------------------------------

    def start_new(self) -> None:
        """Begin a new archive: remove the old files (``--overwrite``), write file 0's warcinfo."""
        self._call(("new",))

    def continue_at(self, n: int, size: int, info_id: str, index_text: str) -> None:
        """Go on appending to file ``n``, whole up to ``size`` bytes (see :mod:`.resume`)."""
        self._call(("continue", n, size, info_id, index_text, self.seen))

    def start(self, inner: Writer) -> ArchiveWriter:
        """Feed ``inner`` (the records output) from now on; returns self, the run's writer."""
        self._inner = inner
        self._thread = threading.Thread(target=self._run, name="fetchpool-warc", daemon=True)
        self._thread.start()
        return self

    # -- the scheduler's side ------------------------------------------------------------------

    def captured(self, url: str, captures: list[Capture]) -> None:
        self._pending[url] = captures

    # -- the pipeline's side (a Writer) --------------------------------------------------------

    def write(self, record: Record) -> None:
        if self._error is not None:
            raise self._failure()
        self._queue.put((record, self._pending.pop(record.url, None)))
        while self._queue.qsize() > _BACKLOG and self._error is None:
            time.sleep(0.01)

    def flush(self) -> None:
        """Nothing to do: the thread writes on its own clock."""

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            if self._error is None:
                self._call(("close",))
        except OSError as exc:
            self._error = exc
        finally:
            self._end_child()
            if self._inner is not None:
                self._inner.close()  # what reached it is written, whatever happened here
        if self._error is not None:
            raise self._failure()

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while self._error is None:
            stopping = self._stop.wait(self._interval)
            while self._error is None:
                batch = self._take()
                if not batch:
                    break
                try:
                    self._write_batch(batch)
                except Exception as exc:  # a full disk, a vanished directory
                    self._error = exc
                    break
            if stopping:
                return

    def _take(self) -> list[tuple[Record, list[Capture] | None]]:
        batch: list[tuple[Record, list[Capture] | None]] = []
        get = self._queue.get_nowait
        try:
            while len(batch) < _BATCH:
                batch.append(get())
        except queue.Empty:
            pass
        return batch

    def _write_batch(self, batch: list[tuple[Record, list[Capture] | None]]) -> None:
        sent = [
            None
            if not caps
            else [(c.target, c.date, c.request, c.head, c.body, c.ip) for c in caps]
            for _, caps in batch
        ]
        where = self._call(("write", sent))
        inner = self._inner
        assert inner is not None
        for (record, _), at in zip(batch, where, strict=True):
            if at is not None:
                record = _located(record, at[0], at[1])
            inner.write(record)
        self.written += len(batch)

    def _failure(self) -> OutputError:
        exc = self._error
        if isinstance(exc, OutputError):
            return exc  # the records output's own failure
        why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        return OutputError(
            f"cannot write {self.path}: {why}; every record written before it is intact "
            f"({self.written} in this run): rerun with --resume once the cause is fixed"
        )
