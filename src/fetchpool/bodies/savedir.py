"""Saved bodies (``--save-dir``): each 2xx body in a file of its own, safely named, inside DIR.

A name comes from the input URL only — never from Content-Disposition or anything else the
server says — by :func:`safe_name`: the URL's host (never its ``user:password@``), path and
query with every character outside ``A-Z a-z 0-9 . _ -`` replaced by ``_`` (so no ``/``,
``\\``, ``%``, ``:`` or NUL; and ``%2e%2e`` stays literal), at most 100 of them, then ``-`` and
20 hex digits of a blake2b hash of the whole URL, then an extension from the URL's last
segment or from the Content-Type. So every name is one plain file name in DIR, under 140
bytes, never ``.``, ``..``, hidden or a reserved device name (``CON``, ``NUL.txt``: such a
name gets a leading ``_``), and two different URLs get two different names (the hash differs
even when the text is the same after replacing; the odds of two equal 80-bit hashes are about
n²/2⁸¹).

A body is written to a temporary file ``.fetchpool-*.part`` in DIR and renamed to its name only
once it is complete, so a crash never leaves half a body under a final name. A write that fails
(a full disk) is kept in :attr:`SaveDir.failure` for the run to stop on; the URL's record is
then never written, so ``--resume`` fetches it again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import re
import tempfile
from hashlib import blake2b
from types import TracebackType
from typing import IO
from urllib.parse import urlsplit

from ..errors import BodiesError, OutputError
from ..records import Record

__all__ = ["BodyFile", "SaveDir", "safe_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,8})$")
_MAX_TEXT = 100
_PART_PREFIX = ".fetchpool-"
#: Names Windows keeps for devices, whatever follows a dot (CON.txt is CON).
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))]
)
_PART_SUFFIX = ".part"

#: Extensions for common types, when the URL has none (a fixed table, the same everywhere).
_TYPE_EXTENSIONS = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/css": ".css",
    "text/csv": ".csv",
    "text/xml": ".xml",
    "application/xml": ".xml",
    "application/json": ".json",
    "application/javascript": ".js",
    "text/javascript": ".js",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/gzip": ".gz",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
}


def safe_name(url: str, content_type: str | None = None) -> str:
    """A file name for the body of ``url``: safe in any directory, distinct per URL. Pure."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]  # never a user:password in a name
        text = host + parts.path + ("?" + parts.query if parts.query else "")
        last = parts.path.rsplit("/", 1)[-1]
    except ValueError:
        text = last = url
    text = _UNSAFE.sub("_", text).lstrip("._-")
    if len(text) > _MAX_TEXT:
        text = text[:40] + "~" + text[-(_MAX_TEXT - 41) :]
    if text.split(".", 1)[0].lower() in _RESERVED:  # http://con.example.com/: CON.* is a device
        text = "_" + text
    key = blake2b(url.encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()
    match = _EXTENSION.search(last)
    if match:
        ext = "." + match.group(1).lower()
    else:
        mime = (content_type or "").split(";", 1)[0].strip().lower()
        ext = _TYPE_EXTENSIONS.get(mime, "")
    return f"{text}-{key}{ext}" if text else f"{key}{ext}"


class SaveDir:
    """The directory bodies are saved in; it (or :meth:`sink`) is the run's
    ``Config.body_sink``. It pickles, so the ``processes`` mode can send it to its workers,
    which call :meth:`check` after each record to hand a failure on to the parent."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.failure: OSError | None = None
        try:
            os.makedirs(directory, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=directory, prefix=_PART_PREFIX, suffix=_PART_SUFFIX)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise OutputError(f"cannot save bodies in {directory}: {exc.strerror or exc}") from exc

    def sink(self, url: str, content_type: str | None = None) -> BodyFile:
        """The sink for one body (its name is made from the record, when the body is done)."""
        return BodyFile(self, url)

    __call__ = sink

    def check(self) -> None:
        """Raise :class:`OutputError` if a body could not be saved."""
        if self.failure is not None:
            raise self.error()

    def remove_partials(self) -> int:
        """Delete temporary files a crashed run left behind; return how many."""
        pattern = os.path.join(glob.escape(self.directory), f"{_PART_PREFIX}*{_PART_SUFFIX}")
        removed = 0
        for path in glob.glob(pattern):
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed += 1
        return removed

    def failed(self, exc: OSError) -> None:
        if self.failure is None:
            self.failure = exc

    def error(self) -> BodiesError:
        why = self.failure.strerror if self.failure is not None else None
        return BodiesError(f"cannot save bodies in {self.directory}: {why or self.failure}")


class BodyFile:
    """One body on its way to a file (a :class:`~fetchpool.bodies.hook.BodySink`)."""

    __slots__ = ("_file", "_owner", "_temp", "_url")

    def __init__(self, owner: SaveDir, url: str) -> None:
        self._owner = owner
        self._url = url
        self._file: IO[bytes] | None = None
        self._temp: str | None = None

    def __enter__(self) -> BodyFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._discard()  # nothing left to discard after done()

    def _open(self) -> IO[bytes]:
        fd, self._temp = tempfile.mkstemp(
            dir=self._owner.directory, prefix=_PART_PREFIX, suffix=_PART_SUFFIX
        )
        self._file = os.fdopen(fd, "wb")
        return self._file

    def write(self, chunk: bytes) -> None:
        if self._temp is None and self._owner.failure is None:
            try:
                self._open()
            except OSError as exc:
                self._owner.failed(exc)
        if self._file is not None:
            try:
                self._file.write(chunk)
            except OSError as exc:
                self._owner.failed(exc)
                self._discard()

    def done(self, record: Record) -> Record:
        if self._owner.failure is not None or not 200 <= (record.status or 0) < 300:
            self._discard()  # error pages are not kept; after a failure, nothing is
            return record
        try:
            file = self._file or self._open()  # an empty body is an empty file
            file.close()
            path = os.path.join(self._owner.directory, safe_name(record.url, record.content_type))
            os.replace(str(self._temp), path)
        except OSError as exc:
            self._owner.failed(exc)
            self._discard()
            return record
        self._file = self._temp = None
        return dataclasses.replace(record, path=path)

    def _discard(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        if self._temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._temp)
        self._file = self._temp = None
