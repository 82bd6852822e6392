"""The archive's one writer: a thread that appends WARC records, then hands records on.

:meth:`ArchiveWriter.captured` is called by the scheduler (in the thread that runs it) with
the captures of a URL whose record was just made; :meth:`ArchiveWriter.write` is the
pipeline's ``writer.write``. The thread wakes every :data:`INTERVAL` seconds, writes every
waiting URL's records — for each request a ``request`` record, then its ``response`` (or a
``revisit`` with ``--warc-dedup``) — fsyncs the file, appends their lines to the CDXJ index,
and only then hands the records, each with ``warc_file`` and ``warc_offset`` set, to the
records output. So a record that reached the output has its response durable in the archive;
the archive may be ahead of the output after a crash, never behind (see :mod:`.resume`).
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Final

from ..errors import OutputError, UsageError
from ..outputs import Writer
from ..records import Record
from . import format as fmt
from .capture import Capture
from .index import cdxj_line, head_fields, index_length, surt_of

__all__ = ["INTERVAL", "ArchiveWriter", "archive_paths", "check_archive"]

INTERVAL: Final = 0.1
_BACKLOG: Final = 20_000
_BATCH: Final = 10_000
_EXTS: Final = (".warc.gz", ".warc")


def _split(path: str) -> tuple[str, str]:
    for ext in _EXTS:
        if path.endswith(ext) and len(path) > len(ext):
            return path[: -len(ext)], ext
    raise UsageError(f"--warc {path!r}: the archive's name must end in .warc.gz or .warc")


def archive_paths(path: str, max_size: int | None) -> tuple[Callable[[int], str], str]:
    """The name of archive file n (the given name, or ``NAME-00000.warc.gz`` when files roll
    over) and the index's path (``NAME.cdxj``)."""
    stem, ext = _split(path)
    if max_size is None:
        return (lambda n: path), stem + ".cdxj"
    return (lambda n: f"{stem}-{n:05d}{ext}"), stem + ".cdxj"


def existing(path: str, max_size: int | None) -> list[str]:
    """The archive files of ``path`` that exist, in order."""
    name, _ = archive_paths(path, max_size)
    found = []
    n = 0
    while os.path.exists(name(n)):
        found.append(name(n))
        if max_size is None:
            break
        n += 1
    return found


def check_archive(
    path: str, *, mode: str, cluster: str | None, max_size: int | None, resume: bool,
    overwrite: bool,
) -> None:  # fmt: skip
    """Refuse, before anything is fetched, an archive that cannot be written as asked."""
    from . import ARCHIVING_MODES

    _split(path)
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
        self._name, self.index_path = archive_paths(path, max_size)
        self._gzip = path.endswith(".gz")
        self._dedup = dedup
        self._max = max_size
        self._interval = interval
        self._key = surt_of()
        self._pending: dict[str, list[Capture]] = {}
        self._queue: queue.SimpleQueue[tuple[Record, list[Capture] | None]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._inner: Writer | None = None
        self._thread: threading.Thread | None = None
        # The file being written: its number, descriptor, bytes written and waiting.
        self._n = 0
        self._fd = -1
        self._size = 0
        self._out: list[bytes] = []
        self._info_id = ""
        self._index_fd = -1
        self._lines: list[str] = []
        #: payload digest -> (target, WARC-Date, record id) of the first response with it.
        self.seen: dict[str, tuple[str, str, str]] = {}
        self.written = 0  # records handed on

    # -- opening -----------------------------------------------------------------------------

    def start_new(self) -> None:
        """Begin a new archive: remove the old files (``--overwrite``), write file 0's warcinfo."""
        for name in existing(self.path, self._max):
            os.unlink(name)
        self._open_index(truncate=True)
        self._open(0)

    def continue_at(self, n: int, size: int, info_id: str, index_text: str) -> None:
        """Go on appending to file ``n``, whole up to ``size`` bytes (see :mod:`.resume`)."""
        self._n = n
        self._fd = os.open(self._name(n), os.O_WRONLY)
        os.ftruncate(self._fd, size)
        os.lseek(self._fd, size, os.SEEK_SET)
        os.fsync(self._fd)
        self._size = size
        self._info_id = info_id
        self._open_index(truncate=True)
        os.write(self._index_fd, index_text.encode("utf-8"))

    def _open_index(self, *, truncate: bool) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if truncate else 0)
        self._index_fd = os.open(self.index_path, flags, 0o666)

    def _open(self, n: int) -> None:
        name = self._name(n)
        self._n = n
        self._fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        self._size = 0
        self._info_id = fmt.record_id()
        self._add(fmt.warcinfo(os.path.basename(name), time.time(), self._info_id, gzip=self._gzip))

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
            if self._fd >= 0:
                if self._error is None:
                    self._sync()
                os.close(self._fd)
                self._fd = -1
            if self._index_fd >= 0:
                os.close(self._index_fd)
                self._index_fd = -1
        except OSError as exc:
            self._error = self._error or exc
        finally:
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
        records = []
        for record, captures in batch:
            if captures:
                where = None
                for capture in captures:
                    where = self._request(capture)
                assert where is not None
                record = dataclasses.replace(record, warc_file=where[0], warc_offset=where[1])
            records.append(record)
        self._sync()
        inner = self._inner
        assert inner is not None
        for record in records:
            inner.write(record)
        self.written += len(records)

    def _add(self, data: bytes) -> int:
        """Queue ``data`` for the current file; the offset it will have there."""
        offset = self._size
        self._out.append(data)
        self._size += len(data)
        return offset

    def _sync(self) -> None:
        """Write what waits, fsync the archive, then append the index lines."""
        if self._out:
            data = b"".join(self._out)
            self._out = []
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        if self._lines:
            text = "".join(self._lines).encode("utf-8")
            self._lines = []
            os.write(self._index_fd, text)

    def _roll(self) -> None:
        self._sync()
        os.close(self._fd)
        self._fd = -1
        self._open(self._n + 1)

    def _request(self, cap: Capture) -> tuple[str, int]:
        """A request record and its response (or revisit); where the response lies."""
        if self._max is not None and self._size >= self._max:
            self._roll()
        gz = self._gzip
        date = fmt.warc_date(cap.date)
        head, protocol = fmt.http11_head(cap.head)
        request = fmt.http11_request(cap.request)
        req_id, resp_id = fmt.record_id(), fmt.record_id()
        target = cap.target
        common = [("WARC-Target-URI", target), ("WARC-Date", date)]
        if cap.ip:
            common.append(("WARC-IP-Address", cap.ip))
        common.append(("WARC-Protocol", protocol))
        common.append(("WARC-Warcinfo-ID", self._info_id))
        self._add(
            fmt.member(
                [("WARC-Type", "request"), ("WARC-Record-ID", req_id), *common,
                 ("WARC-Concurrent-To", resp_id),
                 ("Content-Type", "application/http; msgtype=request"),
                 ("WARC-Block-Digest", fmt.digest([request]))],
                [request], gzip=gz,
            )
        )  # fmt: skip
        body = cap.body
        payload = fmt.digest(body)
        kind = "response"
        original = self.seen.get(payload) if self._dedup and any(body) else None
        if original is not None:
            kind = "revisit"
            fields = [
                ("WARC-Type", "revisit"), ("WARC-Record-ID", resp_id), *common,
                ("WARC-Profile", fmt.PROFILE),
                ("WARC-Refers-To", original[2]),
                ("WARC-Refers-To-Target-URI", original[0]),
                ("WARC-Refers-To-Date", original[1]),
                ("Content-Type", "application/http; msgtype=response"),
                ("WARC-Block-Digest", fmt.digest([head])),
                ("WARC-Payload-Digest", payload),
            ]  # fmt: skip
            data = fmt.member(fields, [head], gzip=gz)
        else:
            if self._dedup and any(body):
                self.seen[payload] = (target, date, resp_id)
            fields = [
                ("WARC-Type", "response"), ("WARC-Record-ID", resp_id), *common,
                ("Content-Type", "application/http; msgtype=response"),
                ("WARC-Block-Digest", fmt.digest([head, *body])),
                ("WARC-Payload-Digest", payload),
            ]  # fmt: skip
            data = fmt.member(fields, [head, *body], gzip=gz)
        offset = self._add(data)
        name = os.path.basename(self._name(self._n))
        status, mime = head_fields(head)
        self._lines.append(
            cdxj_line(
                self._key, url=target, date=date, kind=kind, status=status, mime=mime,
                digest=payload, length=index_length(len(data), gzip=gz), offset=offset,
                filename=name,
            )
        )  # fmt: skip
        return name, offset

    def _failure(self) -> OutputError:
        exc = self._error
        if isinstance(exc, OutputError):
            return exc  # the records output's own failure
        why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        return OutputError(
            f"cannot write {self.path}: {why}; every record written before it is intact "
            f"({self.written} in this run): rerun with --resume once the cause is fixed"
        )
