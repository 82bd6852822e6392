"""The archive's files: WARC records appended, fsync'd, and their CDXJ index lines.

An :class:`ArchiveFiles` is owned by the archive's own process (:mod:`.child`), which the
run's :class:`~.writer.ArchiveWriter` feeds: making records is CPU work (digests, gzip),
which threads of the fetching process would do under its GIL, in turn with the fetching.
"""

from __future__ import annotations

import os
import time

from . import format as fmt
from .capture import Capture
from .index import cdxj_line, head_fields, index_length, surt_of
from .paths import archive_paths, existing

__all__ = ["ArchiveFiles"]


class ArchiveFiles:
    """The archive at ``path`` (numbered files past ``max_size``) and its index."""

    def __init__(self, path: str, *, dedup: bool = False, max_size: int | None = None) -> None:
        self.path = path
        self._name, self.index_path = archive_paths(path, max_size)
        self._gzip = path.endswith(".gz")
        self._dedup = dedup
        self._max = max_size
        self._key = surt_of()
        # The file being written: its number, descriptor, bytes written and waiting.
        self._n = 0
        self._basename = ""
        self._fd = -1
        self._size = 0
        self._out: list[bytes] = []
        self._info_id = ""
        self._index_fd = -1
        self._lines: list[str] = []
        #: payload digest -> (target, WARC-Date, record id) of the first response with it.
        self.seen: dict[str, tuple[str, str, str]] = {}

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
        self._basename = os.path.basename(self._name(n))
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
        self._basename = os.path.basename(name)
        self._fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        self._size = 0
        self._info_id = fmt.record_id()
        self._add(fmt.warcinfo(os.path.basename(name), time.time(), self._info_id, gzip=self._gzip))

    def write(self, batch: list[list[Capture] | None]) -> list[tuple[str, int] | None]:
        """The records of each URL's captures, durable: where each URL's last response lies."""
        where: list[tuple[str, int] | None] = []
        for captures in batch:
            last = None
            for capture in captures or ():
                last = self._request(capture)
            where.append(last)
        self._sync()
        return where

    def close(self) -> None:
        """Write what waits, fsync, close; the files stay as they are on a failure."""
        try:
            if self._fd >= 0:
                self._sync()
        finally:
            for fd in (self._fd, self._index_fd):
                if fd >= 0:
                    os.close(fd)
            self._fd = self._index_fd = -1

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
        """A request record and its response (or revisit); where the response lies.

        The header lines are written out in f-strings, not built as fields: this runs twice
        a page, and building the fields cost as much as the digests and the gzip."""
        if self._max is not None and self._size >= self._max:
            self._roll()
        gz = self._gzip
        date = fmt.warc_date(cap.date)
        head, protocol = fmt.http11_head(cap.head)
        request = fmt.http11_request(cap.request)
        req_id, resp_id = fmt.record_id(), fmt.record_id()
        target = cap.target
        ip = f"WARC-IP-Address: {cap.ip}\r\n" if cap.ip else ""
        common = (
            f"WARC-Target-URI: {target}\r\nWARC-Date: {date}\r\n{ip}"
            f"WARC-Protocol: {protocol}\r\nWARC-Warcinfo-ID: {self._info_id}\r\n"
        )
        self._add(
            fmt.record(
                f"WARC-Type: request\r\nWARC-Record-ID: {req_id}\r\n{common}"
                f"WARC-Concurrent-To: {resp_id}\r\n"
                "Content-Type: application/http; msgtype=request\r\n"
                f"WARC-Block-Digest: {fmt.digest_of(request)}\r\n",
                [request], gzip=gz,
            )
        )  # fmt: skip
        body = cap.body
        payload = fmt.digest_of(body[0]) if len(body) == 1 else fmt.digest(body)
        kind = "response"
        original = self.seen.get(payload) if self._dedup and any(body) else None
        if original is not None:
            kind = "revisit"
            fields = [
                ("WARC-Type", "revisit"), ("WARC-Record-ID", resp_id),
                ("WARC-Target-URI", target), ("WARC-Date", date),
                *([("WARC-IP-Address", cap.ip)] if cap.ip else []),
                ("WARC-Protocol", protocol), ("WARC-Warcinfo-ID", self._info_id),
                ("WARC-Profile", fmt.PROFILE),
                ("WARC-Refers-To", original[2]),
                ("WARC-Refers-To-Target-URI", original[0]),
                ("WARC-Refers-To-Date", original[1]),
                ("Content-Type", "application/http; msgtype=response"),
                ("WARC-Block-Digest", fmt.digest_of(head)),
                ("WARC-Payload-Digest", payload),
            ]  # fmt: skip
            data = fmt.member(fields, [head], gzip=gz)
        else:
            if self._dedup and any(body):
                self.seen[payload] = (target, date, resp_id)
            block = [head, *body]
            data = fmt.record(
                f"WARC-Type: response\r\nWARC-Record-ID: {resp_id}\r\n{common}"
                "Content-Type: application/http; msgtype=response\r\n"
                f"WARC-Block-Digest: {fmt.digest(block)}\r\n"
                f"WARC-Payload-Digest: {payload}\r\n",
                block, gzip=gz,
            )  # fmt: skip
        offset = self._add(data)
        name = self._basename
        status, mime = head_fields(head)
        self._lines.append(
            cdxj_line(
                self._key, url=target, date=date, kind=kind, status=status, mime=mime,
                digest=payload, length=index_length(len(data), gzip=gz), offset=offset,
                filename=name,
            )
        )  # fmt: skip
        return name, offset
