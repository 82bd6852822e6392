"""CSV: a header row of the record's field names, then one row per record.

Rows go in whole: on a full disk, as many whole rows as fit stay, never a cut one
(:func:`~fetchpool.outputs.background.append_whole`). A CSV cannot be resumed (``--resume``
needs JSON lines or SQLite), so a run that stopped starts over with ``--overwrite``.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence

from ..records import FIELDS, Record
from .background import append_whole

__all__ = ["CsvFile"]

_ELAPSED = FIELDS.index("elapsed")
_STARTED = FIELDS.index("started")


class CsvFile:
    """A new CSV file at ``path``, appended a batch of rows at a time."""

    resumable = False

    def __init__(self, path: str) -> None:
        self.path = path
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            self._size = append_whole(self._fd, 0, [self._row(FIELDS)])
        except Exception as exc:
            os.close(self._fd)
            raise OSError(getattr(exc, "cause", exc)) from exc

    def _row(self, values: Sequence[object]) -> bytes:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._csv.writerow(values)
        return self._buffer.getvalue().encode("utf-8", "backslashreplace")

    def append(self, records: Sequence[Record]) -> None:
        pieces = []
        for record in records:
            # None becomes an empty cell; csv.writer does that already.
            row = [getattr(record, name) for name in FIELDS]
            row[_ELAPSED] = round(record.elapsed, 6)
            if record.started is not None:
                row[_STARTED] = round(record.started, 6)
            pieces.append(self._row(row))
        self._size = append_whole(self._fd, self._size, pieces)

    def close(self) -> None:
        os.close(self._fd)
