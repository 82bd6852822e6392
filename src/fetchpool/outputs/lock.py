"""One run per output: an exclusive ``flock`` on the output file itself, held for the run.

Two runs writing one file would record every URL twice (``--resume`` reads what is there
before either writes) or fight over a database ("database is locked"). The lock is taken
before the file is read, emptied or written, so the second run stops before it touches
anything, with the pid of the run that holds it (from ``/proc/locks``, where Linux lists
every lock). The kernel drops the lock when the holder exits, however it exits (``kill
-9`` too), so a stale lock cannot outlive its run. ``flock`` and SQLite's own locks
(``fcntl`` byte ranges) do not interact. Only a regular file is locked: ``/dev/null`` is
shared by everyone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat

from ..errors import UsageError

__all__ = ["OutputLock"]


class OutputLock:
    """The lock on the output ``path``, created empty if it does not exist. Raises
    :class:`UsageError` when another run holds it; OSError when it cannot be opened."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except PermissionError:
            if os.path.exists(path):
                raise
            # A directory that lets no file be made: the writer says so in its own words.
            return
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            who = f" (pid {holder})" if holder else ""
            raise UsageError(f"{path} is in use by another fetchpool run{who}") from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _holder(fd: int) -> int | None:
    """The pid holding a flock on the file ``fd`` is open on, from Linux's /proc/locks."""
    st = os.fstat(fd)
    ident = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as fh:
            for line in fh:
                parts = line.split()
                # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (and "->" for waiters)
                if "->" in parts or len(parts) < 6 or parts[1] != "FLOCK":
                    continue
                if parts[5] == ident:
                    return int(parts[4])
    except (OSError, ValueError):
        pass
    return None
