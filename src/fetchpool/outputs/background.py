"""The one writer of an output file: a thread fed by a queue, writing in batches.

The thread that consumes records only puts each one on a queue (no I/O, no encoding). The
writer thread wakes every :data:`INTERVAL` seconds and appends all that arrived as one batch —
one SQLite transaction, or one ``write`` of whole JSON lines — so a record is durable
(survives ``kill -9``) at most about 0.1 s after it completes. :meth:`Background.close`
writes whatever is left before it returns.

At the edge of a full disk a batch goes in as far as it fits, whole records only
(:func:`append_whole` for files; SQLite record by record): :class:`WriteFailed` says how many
made it, so the count the failure reports is exactly what the file holds.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from ..errors import OutputError
from ..records import Record

__all__ = ["INTERVAL", "Background", "Batches", "WriteFailed", "append_whole"]

#: Seconds between two batches.
INTERVAL = 0.1
#: Records per batch at most (one transaction); more wait for the next.
_BATCH = 10_000
#: Records waiting in the queue at most before :meth:`Background.write` waits for the writer.
_BACKLOG = 20_000


class WriteFailed(Exception):
    """``append`` wrote the first ``kept`` records of its batch, each whole, then ``cause``
    stopped it (a full disk); nothing of the others is in the file."""

    def __init__(self, kept: int, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.kept = kept
        self.cause = cause


def append_whole(fd: int, size: int, pieces: Sequence[bytes]) -> int:
    """Write ``pieces`` (one record each) at the end of the file ``fd``, which holds ``size``
    bytes of whole records; the new size. When the disk fills midway the file is cut back
    to the last whole record that fit, and :class:`WriteFailed` says how many did."""
    data = b"".join(pieces)
    view = memoryview(data)
    done = 0
    try:
        while done < len(data):
            done += os.write(fd, view[done:])
    except OSError as exc:
        kept = end = 0
        for piece in pieces:
            if end + len(piece) > done:
                break
            end += len(piece)
            kept += 1
        with contextlib.suppress(OSError):  # cutting back needs no room
            os.ftruncate(fd, size + end)
        raise WriteFailed(kept, exc) from exc
    return size + len(data)


class Batches(Protocol):
    """An output that appends a batch at a time: durable when ``append`` returns; may raise
    :class:`WriteFailed` after writing part of it. ``resumable``: ``--resume`` can continue it."""

    path: str
    resumable: bool

    def append(self, records: Sequence[Record]) -> None: ...
    def close(self) -> None: ...


class Background:
    def __init__(
        self,
        target: Batches,
        interval: float = INTERVAL,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._target = target
        self._on_close = on_close  # after the file is closed: the run's lock on it goes
        self._interval = interval
        self._queue: queue.SimpleQueue[Record] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.written = 0  # records durable so far
        self._thread = threading.Thread(target=self._run, name="fetchpool-writer", daemon=True)
        self._thread.start()

    def write(self, record: Record) -> None:
        """Hand ``record`` to the writer; raises OutputError once the writer has failed."""
        if self._error is not None:
            raise self._failure()
        self._queue.put(record)
        while self._queue.qsize() > _BACKLOG and self._error is None:
            time.sleep(0.01)  # the disk is slower than the network: wait for it

    def flush(self) -> None:
        """Nothing to do: the writer thread writes on its own clock."""

    def close(self) -> None:
        """Write what is queued, close the file; OutputError if any of it could not be written."""
        self._stop.set()
        self._thread.join()
        try:
            self._target.close()
        except Exception as exc:
            self._error = self._error or exc
        finally:
            if self._on_close is not None:
                self._on_close()
        if self._error is not None:
            raise self._failure()

    def _run(self) -> None:
        while self._error is None:
            stopping = self._stop.wait(self._interval)
            while self._error is None:
                batch = self._take()
                if not batch:
                    break
                try:
                    self._target.append(batch)
                except WriteFailed as exc:  # a full disk: part of the batch fitted
                    self.written += exc.kept
                    self._error = exc.cause
                    break
                except Exception as exc:  # a vanished directory, a broken database
                    self._error = exc
                    break
                self.written += len(batch)
            if stopping:
                return

    def _take(self) -> list[Record]:
        batch: list[Record] = []
        get = self._queue.get_nowait
        try:
            while len(batch) < _BATCH:
                batch.append(get())
        except queue.Empty:
            pass
        return batch

    def _failure(self) -> OutputError:
        exc = self._error
        why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        text = (
            f"cannot write {self._target.path}: {why}; every record written before it is "
            f"intact ({self.written} in this run)"
        )
        if getattr(self._target, "resumable", True):
            text += ": rerun with --resume once the cause is fixed"
        return OutputError(text)
