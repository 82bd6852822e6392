"""The per-request body hook: how a fetcher hands a response body to whoever wants it.

``Config.body_sink`` is a factory. When the body of a final response (not a redirect) begins,
the fetcher calls it with the input URL — the record's ``url``, the one the input named, not
where it redirected (that is the record's ``final_url``), in every mode and engine alike — and
the response's Content-Type, and uses what it returns for that one body::

    with make_sink(url, content_type) as sink:  # an incomplete body is thrown away on exit
        for chunk in body:           # decoded bytes, in order
            sink.write(chunk)
        return sink.done(record)     # only when the whole body arrived

``done`` may return the record with fields added (``--save-dir`` sets ``path``; the sink of
``--extract``, :class:`fetchpool.bodies.extract.Extractor`, sets ``title``, ``sha256``, ``links``).
Leaving the ``with`` without ``done`` — an error, a size cap, a timeout, an exception, a
retry — means the body is incomplete and the sink throws away what it has. A sink keeps its
own failures (a full disk) to itself and reports them its own way: what it raises would
become the URL's error.
:func:`combine` makes one factory of several (save the body *and* extract from it).

A factory may also have a ``check()`` method that raises the failure it kept
(:class:`~fetchpool.bodies.savedir.SaveDir` does). The ``processes`` mode runs sinks in its
worker processes: it needs a factory that pickles, and calls ``check()`` there after each
record, so the failure ends the run in the parent instead of staying in the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from ..records import Record

__all__ = ["BodySink", "KeptBody", "OpenedSink", "SinkFactory", "combine", "no_sink", "opened"]


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


class KeptBody:
    """A whole body held in its sink while the scheduler decides: :meth:`done` when this
    response makes the URL's record, :meth:`discard` when the URL is tried again."""

    __slots__ = ("_sink",)

    def __init__(self, sink: BodySink) -> None:
        self._sink = sink

    @property
    def sink(self) -> BodySink:
        """The sink holding the body (robots.txt's, say, read by the scheduler)."""
        return self._sink

    def done(self, record: Record) -> Record:
        try:
            return self._sink.done(record)
        finally:
            self._sink.__exit__(None, None, None)

    def discard(self) -> None:
        self._sink.__exit__(None, None, None)


class _Opened:
    """A sink in use by a fetcher: an incomplete body is thrown away on exit, unless
    :meth:`keep` handed the complete body on."""

    __slots__ = ("_kept", "_sink")

    def __init__(self, sink: BodySink) -> None:
        self._sink = sink
        self._kept = False

    def __enter__(self) -> _Opened:
        self._sink.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._kept:
            self._sink.__exit__(exc_type, exc, tb)

    def write(self, chunk: bytes) -> None:
        self._sink.write(chunk)

    def keep(self) -> KeptBody | None:
        if self._sink is _NULL:
            return None  # nothing to settle: the common case costs nothing more
        self._kept = True
        return KeptBody(self._sink)


#: What :func:`opened` returns, for a fetcher that keeps it between callbacks.
OpenedSink = _Opened


def opened(sink: BodySink) -> _Opened:
    """``with opened(factory(url, content_type)) as sink:`` in a fetcher's body loop."""
    return _Opened(sink)
