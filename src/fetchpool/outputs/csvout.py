"""CSV: a header row of the record's field names, then one row per record."""

from __future__ import annotations

import csv
from collections.abc import Sequence

from ..records import FIELDS, Record

__all__ = ["CsvFile"]

_ELAPSED = FIELDS.index("elapsed")


class CsvFile:
    """A new CSV file at ``path``, appended a batch of rows at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stream = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._stream)
        self._csv.writerow(FIELDS)

    def append(self, records: Sequence[Record]) -> None:
        for record in records:
            # None becomes an empty cell; csv.writer does that already.
            row = [getattr(record, name) for name in FIELDS]
            row[_ELAPSED] = round(record.elapsed, 6)
            self._csv.writerow(row)
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()
