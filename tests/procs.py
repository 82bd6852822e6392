"""Looking at processes through Linux /proc, for tests that check what a run leaves behind."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """Every process ``pid`` started, and theirs: the fork server, the workers it forked,
    multiprocessing's resource tracker, a bench's runs."""
    found: list[int] = []
    todo = [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie has exited, only its parent's wait is missing."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def ctrl_c(proc: subprocess.Popen[str], timeout: float = 20) -> str:
    """Send SIGINT to the process group ``proc`` leads, as Ctrl-C in a terminal does, and
    wait for it to exit; its standard error."""
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=timeout)
    return str(err)
