"""Starting worker processes, shared by the ``processes`` mode and the CPU-bound benchmark.

Kept apart from the engine so that importing it costs nothing: a fork server preloads only
the modules its workers need.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os

__all__ = ["process_context", "usable_cores"]


def process_context(*preload: str) -> multiprocessing.context.BaseContext:
    """The way to start worker processes: a fork server that has imported ``preload``, or
    ``spawn`` where there is no fork server (Windows)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
        return context
    return multiprocessing.get_context("spawn")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
