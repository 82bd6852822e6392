"""JSON lines: one object per record, keys in the record's field order."""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import IO

from ..records import FIELDS, Record

__all__ = ["JsonlWriter", "record_line"]

_encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def generic_line(record: Record) -> str:
    """One record as one JSON line (with the newline), for any set of fields."""
    row = {name: getattr(record, name) for name in FIELDS}
    row["elapsed"] = round(record.elapsed, 6)  # microseconds are plenty
    return _encode(row) + "\n"


def _fast_line(r: Record) -> str:
    # The same text as generic_line, three times faster: this runs once per URL.
    # (json writes ints and floats with repr; encode_basestring is json's own string escaper.)
    s, n, e, f, t = r.status, r.length, r.error, r.final_url, r.content_type
    return (
        f'{{"url": {encode_basestring(r.url)}, "status": {"null" if s is None else int(s)}, '
        f'"length": {"null" if n is None else int(n)}, "elapsed": {round(r.elapsed, 6)!r}, '
        f'"error": {"null" if e is None else encode_basestring(e)}, '
        f'"final_url": {"null" if f is None else encode_basestring(f)}, '
        f'"content_type": {"null" if t is None else encode_basestring(t)}, '
        f'"attempts": {int(r.attempts)}}}\n'
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
)

#: One record as one JSON line (with the newline). The hand-written form serves the
#: record's fields as they are; a record with other fields falls back to the generic one.
record_line = _fast_line if FIELDS == _FAST_FIELDS else generic_line


class JsonlWriter:
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
