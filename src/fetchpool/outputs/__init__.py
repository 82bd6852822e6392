"""Where records go: JSON lines, CSV or SQLite, chosen by the output file's extension.

One writer per run: on standard output, the thread that consumes records writes each line;
to a file, one writer thread (:mod:`.background`) appends batches. Workers never touch an
output. An existing file is continued (``resume``) or replaced (``overwrite``), never
clobbered by accident (:func:`check_target`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import IO, Protocol

from ..errors import OutputError, UsageError
from ..records import Record

__all__ = [
    "FORMATS",
    "RESUMABLE",
    "STDOUT",
    "Writer",
    "check_target",
    "format_for",
    "open_output",
]

#: Extension -> format name.
FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
}
#: Formats --resume can continue.
RESUMABLE = frozenset({"jsonl", "sqlite"})
#: ``-o /dev/stdout`` is standard output itself, as ``-`` is (even when the shell sent it to a
#: file: that file is the shell's, not one to refuse or empty).
STDOUT = "/dev/stdout"


class Writer(Protocol):
    def write(self, record: Record) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


def format_for(path: str) -> str:
    """The format for an output path, by extension; UsageError for one it does not know.
    What is not a regular file (``/dev/null``, ``/dev/stderr``, a named pipe) and standard
    output take JSON lines, as curl and wget write anything to them."""
    ext = os.path.splitext(path)[1].lower()
    if path == STDOUT or (ext not in FORMATS and _a_stream(path)):
        return "jsonl"
    if ext not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise UsageError(f"unknown output format {ext or path!r}; use one of: {known}")
    return FORMATS[ext]


def _a_stream(path: str) -> bool:
    """An existing path that is neither a regular file nor a directory: a device, a pipe."""
    return os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path)


def check_target(path: str | None, *, resume: bool = False, overwrite: bool = False) -> None:
    """Refuse, before anything is read or fetched, an output that cannot be used as asked:
    an unknown extension, --resume without a resumable file, an existing file to clobber."""
    if resume and overwrite:
        raise UsageError("--resume and --overwrite contradict each other; choose one")
    if path is None or path == "-" or path == STDOUT:
        if resume:
            raise UsageError("--resume needs an output file: -o FILE.jsonl or -o FILE.sqlite")
        return
    fmt = format_for(path)
    if resume and fmt not in RESUMABLE:
        raise UsageError("--resume works with .jsonl and .sqlite/.db outputs, not .csv")
    if not resume and not overwrite and os.path.isfile(path) and os.path.getsize(path) > 0:
        if fmt not in RESUMABLE:
            raise UsageError(f"{path} already exists; add --overwrite to replace it")
        raise UsageError(
            f"{path} already exists; add --resume to fetch only the URLs it lacks, "
            "or --overwrite to replace it"
        )


def open_output(
    path: str | None,
    stdout: IO[str] | None = None,
    *,
    resume: bool = False,
    on_recorded: Callable[[str], object] | None = None,
) -> Writer:
    """A writer for ``path`` (None or ``-``: JSON lines on ``stdout``).

    With ``resume``, an existing file is continued and ``on_recorded`` is called with the URL
    of every record it already holds (a JSONL's torn last line is cut off first). Without,
    the file is created or replaced: call :func:`check_target` first.
    """
    from .background import Background, Batches
    from .jsonl import JsonlWriter

    if path is None or path == "-" or path == STDOUT:
        return JsonlWriter(stdout or sys.stdout, owns=False)
    fmt = format_for(path)
    from .lock import OutputLock

    lock: OutputLock | None = None
    try:
        exists = os.path.isfile(path) and os.path.getsize(path) > 0
        lock = OutputLock(path)  # before the file is read, emptied or written
        if fmt == "sqlite":
            from .sqlite import SqliteFile

            if not resume:
                for stale in (path + "-wal", path + "-shm", path + "-journal"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(stale)
                if exists:
                    os.truncate(path, 0)  # emptied, not removed: the lock is on this file
            target: Batches = SqliteFile(path, on_recorded=on_recorded if resume else None)
        elif fmt == "jsonl":
            from .jsonl import JsonlFile, recorded_urls

            if resume and exists and on_recorded is not None:
                recorded_urls(path, on_recorded)
            target = JsonlFile(path, append=resume)
        else:
            from .csvout import CsvFile

            target = CsvFile(path)
        return Background(target, on_close=lock.release)
    except OSError as exc:
        if lock is not None:
            lock.release()
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        if lock is not None:
            lock.release()
        raise
