"""One measured run in a fresh interpreter: ``python -m fetchpool.lesson.bench.runner JOB``.

A fresh process per run gives each run its own peak memory and CPU time, and leaves no
threads, pools or connections of one mode behind to disturb the next. ``JOB`` is a JSON
object (see :func:`fetchpool.lesson.bench.measure.io_job` and ``cpu_job``); the result is one JSON
object on stdout: ``wall``, ``cpu`` (seconds, this process and its worker processes),
``peak_rss`` (bytes), ``ok``, ``failed``.

The bench gives each run a session of its own and, in ``parent_fd``, the read end of a pipe
it holds open. When that pipe ends — the bench is gone, killed or crashed — the run ends
itself and every process it started: worker processes must not outlive the benchmark.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .usage import Usage

__all__ = ["main"]

#: A job as two steps: what to do before the clock starts, and the work to time, which
#: returns how many items went well and how many failed.
_Steps = tuple[Callable[[], None], Callable[[], tuple[int, int]]]


def main(argv: Sequence[str] | None = None) -> int:
    job: dict[str, Any] = json.loads((sys.argv[1:] if argv is None else argv)[0])
    if job.get("parent_fd") is not None:
        _end_with_parent(job["parent_fd"])
    work = _io if job["kind"] == "io" else _cpu
    prepare, go = work(job)
    prepare()
    with Usage() as used:
        start = time.perf_counter()
        ok, failed = go()
        wall = time.perf_counter() - start
    result = {"wall": wall, "cpu": used.cpu, "peak_rss": used.peak_rss, "ok": ok, "failed": failed}
    print(json.dumps(result), flush=True)
    return 0


def _end_with_parent(fd: int) -> None:
    def watch() -> None:
        try:
            while os.read(fd, 1024):
                pass
        except OSError:
            pass
        # The bench is gone. As a session leader, this process leads the group its worker
        # processes are in: end them all, this process with them.
        if os.getpgid(0) == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        os._exit(1)

    threading.Thread(target=watch, name="fetchpool-parent", daemon=True).start()


def _io(job: dict[str, Any]) -> _Steps:
    from ...api import fetch
    from ...config import Config
    from ...engine import module_for
    from ...input.sources import url_lines

    config = Config(
        mode=job["mode"],
        concurrency=job["concurrency"],
        timeout=job["timeout"],
        extract=tuple(job["extract"]),
        **({} if job.get("per_host") is None else {"per_host": job["per_host"]}),
    )
    urls: list[str] = []

    def prepare() -> None:
        # Read the list and import the mode's engine before the clock starts.
        with open(job["url_file"], encoding="utf-8") as fh:
            urls.extend(url_lines(fh))
        __import__(module_for(config))

    def go() -> tuple[int, int]:
        ok = failed = 0
        for rec in fetch(urls, config=config):
            if rec.ok:
                ok += 1
            else:
                failed += 1
        return ok, failed

    return prepare, go


def _cpu(job: dict[str, Any]) -> _Steps:
    from .cpu import pages, run_cpu

    bodies: list[bytes] = []

    def prepare() -> None:
        bodies.extend(pages(job["pages"]))

    def go() -> tuple[int, int]:
        run_cpu(job["mode"], bodies, job["rounds"], job["workers"])
        return len(bodies), 0

    return prepare, go


if __name__ == "__main__":
    sys.exit(main())
