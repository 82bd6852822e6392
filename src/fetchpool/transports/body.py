"""The one body reader every transport uses: decode, count, cap, hand to the sink.

A transport reads the raw bytes its way (urllib3's ``read1``, aiohttp's ``iter_any``,
libcurl's write callback) and feeds them here; what counts as the body's length (decoded
bytes), when it is too large (past ``max_bytes``, checked as it grows, so a gzip bomb stops
early) and what the sink sees are decided here alone.
"""

from __future__ import annotations

from ..bodies.hook import OpenedSink
from ..core.outcome import Outcome
from .decode import DecodeError, Decoder

__all__ = ["BodyReader"]


class BodyReader:
    """Reads one response body. :meth:`feed` each raw chunk as it comes and :meth:`finish`
    at its end; either returns the attempt's failed :class:`Outcome` (``too-large``, or
    ``protocol`` for a bad content encoding) when the body must stop there, else None.
    ``length`` counts the decoded bytes so far."""

    __slots__ = ("_cap", "_decoder", "_sink", "length")

    def __init__(
        self, sink: OpenedSink | None, content_encoding: str | None, max_bytes: int | None
    ) -> None:
        self.length = 0
        self._sink = sink
        self._cap = -1 if max_bytes is None else max_bytes  # -1: no cap
        decoder = Decoder(content_encoding) if content_encoding else None
        # None: identity, the common case, passed through without a decoder's steps.
        self._decoder = None if decoder is None or decoder.identity else decoder

    def feed(self, raw: bytes) -> Outcome | None:
        decoder = self._decoder
        if decoder is None:  # _take, written out: this runs for nearly every chunk of a run
            length = self.length = self.length + len(raw)
            if length > self._cap >= 0:
                return Outcome.failed("too-large", f"body over {self._cap} bytes")
            if self._sink is not None:
                self._sink.write(raw)
            return None
        try:
            for piece in decoder.feed(raw):
                if (failed := self._take(piece)) is not None:
                    return failed
        except DecodeError as exc:
            return _bad_encoding(exc)
        return None

    def finish(self) -> Outcome | None:
        decoder = self._decoder
        if decoder is None:
            return None
        try:
            for piece in decoder.flush():
                if (failed := self._take(piece)) is not None:
                    return failed
        except DecodeError as exc:
            return _bad_encoding(exc)
        return None

    def _take(self, piece: bytes) -> Outcome | None:
        length = self.length = self.length + len(piece)
        if length > self._cap >= 0:
            return Outcome.failed("too-large", f"body over {self._cap} bytes")
        if self._sink is not None:
            self._sink.write(piece)
        return None


def _bad_encoding(exc: DecodeError) -> Outcome:
    return Outcome.failed("protocol", f"bad content encoding: {exc}")
