"""SQLite: table ``results``, one row per URL (``url`` unique), the record's fields as columns.

The database is in WAL mode with ``synchronous=NORMAL``: each :meth:`SqliteFile.append` is one
transaction, and a committed transaction survives a crash of fetchpool (``kill -9``); after a
crash of the whole machine the last transactions may be lost, never half of one. Readers
(``sqlite3 out.sqlite 'select count(*) from results'``) can look while a run writes.
"""

from __future__ import annotations

import contextlib
import operator
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import fields

from ..errors import OutputError
from ..records import FIELDS, Record
from .background import WriteFailed

__all__ = ["SqliteFile"]

_row = operator.attrgetter(*FIELDS)  # a record's values in column order, as a tuple


def _sql_type(annotation: object) -> str:
    text = str(annotation)
    if "int" in text:
        return "INTEGER"
    if "float" in text:
        return "REAL"
    return "TEXT"


_COLUMNS = {f.name: _sql_type(f.type) for f in fields(Record)}
_CREATE = "CREATE TABLE IF NOT EXISTS results ({})".format(
    ", ".join(
        f"{name} {kind} NOT NULL UNIQUE" if name == "url" else f"{name} {kind}"
        for name, kind in _COLUMNS.items()
    )
)
_INSERT = "INSERT INTO results ({}) VALUES ({}) ON CONFLICT(url) DO NOTHING".format(
    ", ".join(FIELDS), ", ".join("?" * len(FIELDS))
)


class SqliteFile:
    """The database at ``path``, opened (and created or completed) for appending records.

    Opened in the thread that starts the run, so a bad file fails before any fetch; after
    that, only the writer thread uses it.
    """

    def __init__(self, path: str, *, on_recorded: Callable[[str], object] | None = None) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise OutputError(f"cannot open {path}: {exc}") from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_CREATE)
            have = {row[1] for row in self._db.execute("PRAGMA table_info(results)")}
            if "url" not in have:
                raise OutputError(f"{path} has a table 'results' without a 'url' column")
            for name, kind in _COLUMNS.items():  # a database from an older fetchpool
                if name not in have:
                    self._db.execute(f"ALTER TABLE results ADD COLUMN {name} {kind}")
            if on_recorded is not None:
                for (url,) in self._db.execute("SELECT url FROM results"):
                    on_recorded(url)
        except sqlite3.Error as exc:
            self._db.close()
            raise OutputError(f"cannot write {path}: {exc}") from exc
        except BaseException:
            self._db.close()
            raise

    resumable = True

    def append(self, records: Sequence[Record]) -> None:
        """Insert ``records`` in one transaction; they are durable when this returns. When
        that fails (a full disk), as many as fit go in one by one: :class:`WriteFailed`
        says how many."""
        try:
            self._insert(records)
        except sqlite3.Error as exc:
            if len(records) == 1:
                raise WriteFailed(0, exc) from exc
            for kept, record in enumerate(records):
                try:
                    self._insert([record])
                except sqlite3.Error as one:
                    raise WriteFailed(kept, one) from one
            # Each fitted on its own after all (the failure was the batch's size).

    def _insert(self, records: Sequence[Record]) -> None:
        rows = map(_row, records)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(_INSERT, rows)
            self._db.execute("COMMIT")
        except sqlite3.Error:
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                    self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()
