"""The archive's own process: it owns the archive's files and makes their records.

Making WARC records is CPU work — three SHA-256 digests, two gzip members and an index line
per request — and a thread of the fetching process would do it under the same GIL as the
fetching, the two taking turns many times per page (each zlib and hashlib call lets the GIL
go and waits to get it back). Here it runs on a core of its own: the lesson's rule that
CPU-bound work wants a process. The run's :class:`~.writer.ArchiveWriter` starts it as
``python -m fetchpool.warc.child PARENT_PID`` and talks to it over its stdin and stdout in
frames (a 4-byte length, then the message in :mod:`marshal`'s format — both ends are the
same Python, and it is faster than pickle on a page's bytes), one reply per request:

    ("open", path, dedup, max_size)   ("new",)   ("continue", n, size, info_id, index, seen)
    ("write", [captures of a URL, or None, ...])  -> where each URL's last response lies
    ("close",)

A reply is ``("ok", value)`` or ``("error", errno, message)``. The process ignores the
terminal's and the service manager's signals (the fetching process decides when the run
ends and closes the archive), dies with the fetching process (``PR_SET_PDEATHSIG``, so a
``kill -9`` of the run leaves no writer behind that a ``--resume`` could race), and ends when
its stdin does.
"""

from __future__ import annotations

import contextlib
import ctypes
import marshal
import os
import signal
import struct
import sys
from typing import IO, Any, Final

from .capture import Capture
from .files import ArchiveFiles

__all__ = ["read_frame", "write_frame"]

_LENGTH: Final = struct.Struct("!I")
_PR_SET_PDEATHSIG: Final = 1


def write_frame(stream: IO[bytes], message: Any) -> None:
    data = marshal.dumps(message)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next message, or None when the stream has ended."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return marshal.loads(data)


def _die_with(parent: int) -> None:
    if sys.platform.startswith("linux"):
        # where it cannot be asked, the end of stdin ends us
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before we asked
        os._exit(0)


def _handle(files: ArchiveFiles | None, message: tuple[Any, ...]) -> tuple[ArchiveFiles, Any]:
    verb = message[0]
    if verb == "open":
        return ArchiveFiles(message[1], dedup=message[2], max_size=message[3]), None
    assert files is not None, "open first"
    if verb == "new":
        files.start_new()
    elif verb == "continue":
        files.seen.update(message[5])
        files.continue_at(message[1], message[2], message[3], message[4])
    elif verb == "write":
        batch = [None if caps is None else [Capture(*c) for c in caps] for caps in message[1]]
        return files, files.write(batch)
    elif verb == "close":
        files.close()
    else:
        raise ValueError(f"unknown request {verb!r}")
    return files, None


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    _die_with(int(sys.argv[1]))
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    files: ArchiveFiles | None = None
    while (message := read_frame(requests)) is not None:
        try:
            files, value = _handle(files, message)
        except OSError as exc:  # a full disk, a vanished directory: the parent reports it
            write_frame(replies, ("error", exc.errno, exc.strerror or str(exc)))
        except Exception as exc:
            write_frame(replies, ("error", None, f"{type(exc).__name__}: {exc}"))
        else:
            write_frame(replies, ("ok", value))
    if files is not None:
        files.close()


if __name__ == "__main__":
    main()
