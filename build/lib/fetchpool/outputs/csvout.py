"""CSV: a header row of the record's field names, then one row per record."""

from __future__ import annotations

import csv
from typing import IO

from ..records import FIELDS, Record

__all__ = ["CsvWriter"]

_ELAPSED = FIELDS.index("elapsed")


class CsvWriter:
    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._csv = csv.writer(stream)
        self._csv.writerow(FIELDS)

    def write(self, record: Record) -> None:
        # None becomes an empty cell; csv.writer does that already.
        row = [getattr(record, name) for name in FIELDS]
        row[_ELAPSED] = round(record.elapsed, 6)
        self._csv.writerow(row)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()
        self._stream.close()
