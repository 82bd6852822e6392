"""``fetchpool bench``: coroutines, threads or processes? The lesson's experiment, measured.

The I/O-bound half fetches the same pages in every mode; the CPU-bound half (``--cpu``)
parses pages one after another, on threads and on processes. Each run happens in a fresh
interpreter (:mod:`.runner`), so its time, CPU and peak memory are its own.

The command itself is :func:`fetchpool.bench.command.run_bench`; this package imports
only the light modules, because every measured run and every worker process imports it.
"""

from __future__ import annotations

from .document import SCHEMA, to_document
from .model import Result, Row, Run, Section

__all__ = ["SCHEMA", "Result", "Row", "Run", "Section", "to_document"]
