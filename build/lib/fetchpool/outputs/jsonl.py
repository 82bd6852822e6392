"""JSON lines: one object per record, keys in the record's field order."""

from __future__ import annotations

import json
from typing import IO

from ..records import FIELDS, Record

__all__ = ["JsonlWriter", "record_line"]

_encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def record_line(record: Record) -> str:
    """One record as one JSON line (with the newline)."""
    row = {name: getattr(record, name) for name in FIELDS}
    row["elapsed"] = round(record.elapsed, 6)  # microseconds are plenty
    return _encode(row) + "\n"


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
