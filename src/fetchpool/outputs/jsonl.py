"""JSON lines: one object per record, keys in the record's field order.

On stdout (:class:`JsonlWriter`) lines are written by the thread that consumes records. To a
file (:class:`JsonlFile`) they go in batches from the one writer thread, each batch as whole
lines in one ``write``, so a crash can cut at most the last line; :func:`recorded_urls` drops
such a torn line before a run resumes (its URL is then fetched again).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring
from typing import IO

from ..errors import OutputError
from ..records import FIELDS, Record
from .background import append_whole

__all__ = ["JsonlFile", "JsonlWriter", "record_line", "recorded_urls"]

_encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def generic_line(record: Record) -> str:
    """One record as one JSON line (with the newline), for any set of fields."""
    row = {name: getattr(record, name) for name in FIELDS}
    row["elapsed"] = round(record.elapsed, 6)  # microseconds are plenty
    if record.started is not None:
        row["started"] = round(record.started, 6)
    return _encode(row) + "\n"


def _elapsed(x: float) -> str:
    """``repr(round(x, 6))`` — the text json writes for the rounded float — at half the
    cost: ``x`` to 6 decimals, its trailing zeros cut. Both round the same way (correctly,
    to 6 decimals); from 1e-4 (below it repr writes an exponent) to 2**33 (floats there are
    less than 1e-6 apart, so two texts to 6 decimals that name the same float are the same
    text, and repr's shortest one is this one) they are the same text. Elsewhere: repr.
    Used for ``elapsed`` and for ``started``, a Unix time (below 2**33 until the year 2242)."""
    if 1e-4 <= x < 8589934592.0:
        text = f"{x:.6f}".rstrip("0")
        return text + "0" if text[-1] == "." else text
    return repr(round(x, 6))


def _fast_line(r: Record) -> str:
    # The same text as generic_line, four times faster: this runs once per URL.
    # (json writes ints and floats with repr; encode_basestring is json's own string escaper.)
    s, n, e, f, t, p = r.status, r.length, r.error, r.final_url, r.content_type, r.path
    title, sha, links, wf, wo = r.title, r.sha256, r.links, r.warc_file, r.warc_offset
    v = r.http_version
    st = r.started
    url = encode_basestring(r.url)
    # The final URL is mostly the url itself (no redirect): escaped once.
    final = "null" if f is None else url if f is r.url else encode_basestring(f)
    return (
        f'{{"url": {url}, "status": {"null" if s is None else int(s)}, '
        f'"length": {"null" if n is None else int(n)}, "elapsed": {_elapsed(r.elapsed)}, '
        f'"error": {"null" if e is None else encode_basestring(e)}, '
        f'"final_url": {final}, '
        f'"content_type": {"null" if t is None else encode_basestring(t)}, '
        f'"attempts": {int(r.attempts)}, '
        f'"path": {"null" if p is None else encode_basestring(p)}, '
        f'"title": {"null" if title is None else encode_basestring(title)}, '
        f'"sha256": {"null" if sha is None else encode_basestring(sha)}, '
        f'"links": {"null" if links is None else int(links)}, '
        f'"warc_file": {"null" if wf is None else encode_basestring(wf)}, '
        f'"warc_offset": {"null" if wo is None else int(wo)}, '
        f'"http_version": {"null" if v is None else encode_basestring(v)}, '
        f'"started": {"null" if st is None else _elapsed(st)}}}\n'
    )


_FAST_FIELDS = (
    "url",
    "status",
    "length",
    "elapsed",
    "error",
    "final_url",
    "content_type",
    "attempts",
    "path",
    "title",
    "sha256",
    "links",
    "warc_file",
    "warc_offset",
    "http_version",
    "started",
)

#: One record as one JSON line (with the newline). The hand-written form serves the
#: record's fields as they are; a record with other fields falls back to the generic one.
record_line = _fast_line if FIELDS == _FAST_FIELDS else generic_line


class JsonlWriter:
    """Lines to a text stream (standard output), written as records arrive."""

    def __init__(self, stream: IO[str], *, owns: bool) -> None:
        self._stream = stream
        self._owns = owns

    def write(self, record: Record) -> None:
        self._stream.write(record_line(record))

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()
        if self._owns:
            self._stream.close()


def recorded_urls(path: str, on_url: Callable[[str], object]) -> int:
    """Call ``on_url`` with the URL of every record in the JSON lines file ``path``; return
    how many. A last line cut short by a crash (no newline at its end) is cut off the file.
    A broken line anywhere else is not a crash's doing: OutputError, and the file is left as is.
    """
    count = 0
    good = 0  # bytes of whole lines so far
    try:
        with open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                if not line.endswith(b"\n"):
                    break  # the torn last line
                url, why = _url_of(line)
                if url is None:
                    raise OutputError(
                        f"cannot resume from {path}: line {number} is not a record ({why}); "
                        "fix or remove it, or use --overwrite"
                    )
                on_url(url)
                count += 1
                good += len(line)
            size = fh.seek(0, os.SEEK_END)
        if size > good:
            os.truncate(path, good)
    except OSError as exc:
        raise OutputError(f"cannot resume from {path}: {exc.strerror or exc}") from exc
    return count


def _url_of(line: bytes) -> tuple[str | None, str]:
    """The ``url`` of one line of a JSON lines output, or None and why it has none, in
    plain words."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None, "it is not UTF-8 text"
    try:
        row = json.loads(text)
    except ValueError:
        return None, "it is not JSON"
    if not isinstance(row, dict):
        return None, "it is not a JSON object"
    if "url" not in row:
        return None, 'it has no "url" field'
    url = row["url"]
    if not isinstance(url, str):
        return None, 'its "url" is not a string'
    return url, ""


class JsonlFile:
    """Appends batches of records to a file; each :meth:`append` is one ``write`` of whole lines."""

    resumable = True

    def __init__(self, path: str, *, append: bool) -> None:
        self.path = path
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        self._fd = os.open(path, flags, 0o666)
        self._size = os.fstat(self._fd).st_size  # the end of the last whole line

    def append(self, records: Sequence[Record]) -> None:
        # A lone surrogate (from odd library input) becomes a \uXXXX escape, still valid JSON.
        # On a full disk, as many whole lines as fit stay; never a cut one.
        pieces = [record_line(r).encode("utf-8", "backslashreplace") for r in records]
        self._size = append_whole(self._fd, self._size, pieces)

    def close(self) -> None:
        os.close(self._fd)
