"""The one writer of an output file: a thread fed by a queue, writing in batches.

The thread that consumes records only puts each one on a queue (no I/O, no encoding). The
writer thread wakes every :data:`INTERVAL` seconds and appends all that arrived as one batch —
one SQLite transaction, or one ``write`` of whole JSON lines — so a record is durable
(survives ``kill -9``) at most about 0.1 s after it completes. :meth:`Background.close`
writes whatever is left before it returns.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from ..errors import OutputError
from ..records import Record

__all__ = ["INTERVAL", "Background", "Batches"]

#: Seconds between two batches.
INTERVAL = 0.1
#: Records per batch at most (one transaction); more wait for the next.
_BATCH = 10_000
#: Records waiting in the queue at most before :meth:`Background.write` waits for the writer.
_BACKLOG = 20_000


class Batches(Protocol):
    """An output that appends a batch at a time: durable when ``append`` returns."""

    path: str

    def append(self, records: Sequence[Record]) -> None: ...
    def close(self) -> None: ...


class Background:
    def __init__(self, target: Batches, interval: float = INTERVAL) -> None:
        self._target = target
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
                except Exception as exc:  # a full disk, a vanished directory, a locked database
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
        return OutputError(
            f"cannot write {self._target.path}: {why}; every record written before it is "
            f"intact ({self.written} in this run): rerun with --resume once the cause is fixed"
        )
