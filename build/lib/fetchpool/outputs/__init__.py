"""Where records go: JSON lines or CSV, chosen by the output file's extension.

Only one writer exists per run and only the thread that consumes the records calls
it; workers never touch an output.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Protocol

from ..errors import OutputError, UsageError
from ..records import Record

__all__ = ["FORMATS", "Writer", "format_for", "open_output"]

#: Extension -> format name.
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


class Writer(Protocol):
    def write(self, record: Record) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


def format_for(path: str) -> str:
    """The format for an output path, by extension; UsageError for one it does not know."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise UsageError(f"unknown output format {ext or path!r}; use one of: {known}")
    return FORMATS[ext]


def open_output(path: str | None, stdout: IO[str] | None = None) -> Writer:
    """A writer for ``path`` (None: JSON lines on ``stdout``)."""
    from .csvout import CsvWriter
    from .jsonl import JsonlWriter

    if path is None or path == "-":
        return JsonlWriter(stdout or sys.stdout, owns=False)
    fmt = format_for(path)
    try:
        fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return CsvWriter(fh) if fmt == "csv" else JsonlWriter(fh, owns=True)
