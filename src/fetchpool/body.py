"""The per-request body hook: how a fetcher hands a response body to whoever wants it.

``Config.body_sink`` is a factory. When the body of a final response (not a redirect) begins,
the fetcher calls it with the input URL and the response's Content-Type, and uses what it
returns for that one body::

    with make_sink(url, content_type) as sink:  # an incomplete body is thrown away on exit
        for chunk in body:           # decoded bytes, in order
            sink.write(chunk)
        return sink.done(record)     # only when the whole body arrived

``done`` may return the record with fields added (``--save-dir`` sets ``path``; an extractor
could set a title). Leaving the
``with`` without ``done`` — an error, a size cap, a timeout, an exception, a retry — means the
body is incomplete and the sink throws away what it has. A sink keeps its own failures (a full
disk) to itself and reports them its own way: what it raises would become the URL's error.
:func:`combine` makes one factory of several (save the body *and* extract from it).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from .records import Record

__all__ = ["BodySink", "SinkFactory", "combine", "no_sink"]


class BodySink(Protocol):
    def __enter__(self) -> BodySink: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def write(self, chunk: bytes) -> None: ...
    def done(self, record: Record) -> Record: ...


#: ``(url, content_type) -> BodySink``
SinkFactory = Callable[[str, str | None], BodySink]


class _NullSink:
    """Keeps nothing: the sink of a run that does not want bodies."""

    def __enter__(self) -> _NullSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pass

    def write(self, chunk: bytes) -> None:
        pass

    def done(self, record: Record) -> Record:
        return record


_NULL = _NullSink()


def no_sink(url: str, content_type: str | None) -> BodySink:
    return _NULL


class _Both:
    """Two sinks fed the same body; ``done`` hands the record through the first, then the second."""

    def __init__(self, first: BodySink, second: BodySink) -> None:
        self._first = first
        self._second = second

    def __enter__(self) -> _Both:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._first.__exit__(exc_type, exc, tb)
        finally:
            self._second.__exit__(exc_type, exc, tb)

    def write(self, chunk: bytes) -> None:
        self._first.write(chunk)
        self._second.write(chunk)

    def done(self, record: Record) -> Record:
        return self._second.done(self._first.done(record))


def combine(first: SinkFactory, second: SinkFactory) -> SinkFactory:
    """One factory making sinks that feed both ``first``'s and ``second``'s."""

    def make(url: str, content_type: str | None) -> BodySink:
        return _Both(first(url, content_type).__enter__(), second(url, content_type).__enter__())

    return make
