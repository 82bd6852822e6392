"""fetchpool's exceptions: one root, raised for bad usage, never for a failed URL."""

from __future__ import annotations

__all__ = ["BodiesError", "FetchpoolError", "OutputError", "SourceError", "UsageError"]


class FetchpoolError(Exception):
    """The root of every exception fetchpool raises on purpose."""


class UsageError(FetchpoolError, ValueError):
    """A bad argument: an unknown mode, a concurrency below 1, an unknown output format."""


class SourceError(FetchpoolError):
    """An input source that cannot be read: a missing or unreadable file."""


class OutputError(FetchpoolError):
    """An output that cannot be written."""


class BodiesError(OutputError):
    """A body could not be saved (``--save-dir`` on a full disk): the run stops, and the
    message says how many records were written, each with its whole body."""
