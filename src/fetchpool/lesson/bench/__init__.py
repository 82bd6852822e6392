"""``fetchpool bench``: coroutines, threads or processes? The lesson's experiment, measured.

The I/O-bound half fetches the same pages in every mode; the CPU-bound half (``--cpu``)
parses pages one after another, on threads and on processes. Each run happens in a fresh
interpreter (:mod:`.runner`), so its time, CPU and peak memory are its own.

The command itself is :func:`fetchpool.lesson.bench.command.run_bench`. This package imports
nothing until one of its names is asked for: every measured run and every worker process
imports it, and so does building the command line (for :mod:`.defaults`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .document import SCHEMA, to_document
    from .model import Result, Row, Run, Section

__all__ = ["SCHEMA", "Result", "Row", "Run", "Section", "to_document"]

_HOME = {
    "SCHEMA": "document",
    "to_document": "document",
    "Result": "model",
    "Row": "model",
    "Run": "model",
    "Section": "model",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
