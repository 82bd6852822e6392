"""Measuring one run: start ``python -m fetchpool.lesson.bench.runner`` with a job, read its result.

The runner gets a session (process group) of its own, so that stopping it on Ctrl-C also
stops every process it started, such as a process pool's workers; and it ends itself and
them when this process is gone (see :mod:`fetchpool.lesson.bench.runner`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

from ...errors import FetchpoolError
from .model import Run

__all__ = ["RunFailed", "cpu_job", "io_job", "measure"]


class RunFailed(FetchpoolError):
    """A measured run ended without a result; the message is its last line of stderr."""


def io_job(
    *,
    mode: str,
    concurrency: int,
    url_file: str,
    timeout: float,
    extract: tuple[str, ...],
    per_host: int | None = None,
) -> dict[str, Any]:
    """Fetch every URL in ``url_file`` in ``mode``, at most ``per_host`` in flight to one
    host (None: fetchpool's default)."""
    return {
        "kind": "io",
        "mode": mode,
        "concurrency": concurrency,
        "per_host": per_host,
        "url_file": url_file,
        "timeout": timeout,
        "extract": list(extract),
    }


def cpu_job(*, mode: str, pages: int, rounds: int, workers: int) -> dict[str, Any]:
    """Parse ``pages`` pages ``rounds`` times each in ``mode`` with ``workers``."""
    return {"kind": "cpu", "mode": mode, "pages": pages, "rounds": rounds, "workers": workers}


def measure(job: dict[str, Any]) -> Run:
    """Run ``job`` in a fresh interpreter and return what it measured."""
    posix = os.name == "posix"
    # A pipe the run watches: it ends when this process does, however it ends.
    watched, held = os.pipe() if posix else (None, None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fetchpool.lesson.bench.runner",
            json.dumps({**job, "parent_fd": watched}),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=posix,
        pass_fds=() if watched is None else (watched,),
    )
    if watched is not None:
        os.close(watched)
    try:
        out, err = proc.communicate()
    except BaseException:  # Ctrl-C above all: stop the run and everything it started
        _stop(proc, posix)
        raise
    finally:
        if held is not None:
            os.close(held)
    if proc.returncode != 0:
        lines = err.strip().splitlines() or [f"exit code {proc.returncode}"]
        raise RunFailed(lines[-1])
    try:
        data = json.loads(out.strip().splitlines()[-1])
        return Run(
            wall=float(data["wall"]),
            cpu=float(data["cpu"]),
            peak_rss=int(data["peak_rss"]),
            ok=int(data["ok"]),
            failed=int(data["failed"]),
        )
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise RunFailed(f"unreadable result from the runner: {exc}") from exc


def _stop(proc: subprocess.Popen[str], posix: bool) -> None:
    try:
        if posix:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
