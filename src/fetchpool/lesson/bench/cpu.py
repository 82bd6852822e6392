"""The CPU-bound half of the lesson: the same parsing work, one after another, on threads
and on processes.

The work is what ``--extract title,links`` does to a page — a full pass of the standard
library's HTML parser — repeated ``rounds`` times per page. It is pure Python, so it holds
the GIL: on a GIL build threads take turns and run no faster than one thread, while
processes each have their own interpreter and use every core. (Hashing would be a poor
choice: ``hashlib`` lets go of the GIL for large inputs, so threads would scale.)

The pages are the built-in site's ``/page/N`` bodies, made in memory: no network, so
only the CPU counts.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from itertools import repeat
from typing import Final

from ...bodies.extract import Extraction
from ...distributed.start import process_context
from ...records import Record

__all__ = ["CPU_MODES", "analyse", "pages", "run_cpu"]

#: The ways of running the CPU-bound job, in the lesson's order.
CPU_MODES: Final[tuple[str, ...]] = ("sequential", "threads", "processes")

_BLANK = Record(url="")


def pages(n: int) -> list[bytes]:
    """The bodies of the built-in site's pages 0 .. n-1."""
    from ...testsite.site import page_body  # here, so that worker processes need not import aiohttp

    return [page_body(i) for i in range(n)]


def analyse(body: bytes, rounds: int) -> int:
    """Parse ``body`` as HTML ``rounds`` times; return the title's length plus the links
    found, so the work has a result to check."""
    found = 0
    for _ in range(rounds):
        extraction = Extraction(("title", "links"), "text/html")
        extraction.feed(body)
        rec = extraction.apply(_BLANK)
        found = len(rec.title or "") + (rec.links or 0)
    return found


def run_cpu(mode: str, bodies: list[bytes], rounds: int, workers: int) -> int:
    """Run the job in ``mode`` with ``workers`` threads or processes; the sum of results."""
    runners: dict[str, Callable[[list[bytes], int, int], int]] = {
        "sequential": _sequential,
        "threads": _threads,
        "processes": _processes,
    }
    return runners[mode](bodies, rounds, workers)


def _sequential(bodies: list[bytes], rounds: int, workers: int) -> int:
    return sum(analyse(body, rounds) for body in bodies)


def _threads(bodies: list[bytes], rounds: int, workers: int) -> int:
    with ThreadPoolExecutor(workers, thread_name_prefix="fetchpool-cpu") as pool:
        return sum(pool.map(analyse, bodies, repeat(rounds)))


def _processes(bodies: list[bytes], rounds: int, workers: int) -> int:
    # Started as the processes mode starts its workers; starting the pool is part of the cost.
    context = process_context(__name__)
    # A few chunks per worker: few messages, yet no worker left idle at the end.
    chunk = max(1, len(bodies) // (workers * 4))
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return sum(pool.map(analyse, bodies, repeat(rounds), chunksize=chunk))
