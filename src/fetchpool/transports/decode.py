"""Content decoding (gzip, deflate) in bounded steps, shared by every fetcher.

The HTTP libraries' own decoders inflate each network chunk whole: a 64 KB piece of a
gzip bomb becomes 64 MB at once, before any ``--max-bytes`` check could run. Here each
step yields at most ``CHUNK`` decoded bytes, so the caller counts (and stops) as it goes
and memory stays bounded whatever the compression ratio.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

__all__ = ["ACCEPT_ENCODING", "CHUNK", "DecodeError", "Decoder"]

CHUNK = 64 * 1024
#: What fetchpool asks for: only what it can decode in bounded steps.
ACCEPT_ENCODING = "gzip, deflate"


class DecodeError(Exception):
    """The body is not valid for its Content-Encoding."""


class _Inflate:
    """One gzip or deflate layer. gzip may hold several members, one after another;
    deflate may come with a zlib header (as the standard says) or raw (as some servers send).
    """

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._wbits = 16 + zlib.MAX_WBITS if gzip else 0  # deflate: known after 2 bytes
        self._obj: zlib._Decompress | None = None  # None: before a (gzip) member
        self._head = b""  # deflate: the first bytes, until the header kind is known
        self._done = False  # the stream ended; anything after it is ignored

    def feed(self, data: bytes) -> Iterator[bytes]:
        buf = data
        if not self._wbits:
            self._head += buf
            if len(self._head) < 2:
                return
            buf, self._head = self._head, b""
            zlib_header = buf[0] & 0x0F == 8 and (buf[0] << 8 | buf[1]) % 31 == 0
            self._wbits = zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS
        while not self._done:
            if self._obj is None:
                if not buf:
                    return
                if self._gzip and not buf.startswith(b"\x1f"):
                    self._done = True  # bytes after the last member, not another member
                    return
                self._obj = zlib.decompressobj(self._wbits)
            try:
                out = self._obj.decompress(buf, CHUNK)
            except zlib.error as exc:
                raise DecodeError(str(exc)) from exc
            if out:
                yield out
            if self._obj.eof:
                buf = self._obj.unused_data
                self._obj = None
                self._done = not self._gzip  # gzip: another member may follow
                continue
            buf = self._obj.unconsumed_tail
            if not buf and len(out) < CHUNK:
                return  # all input used and nothing more pending

    def flush(self) -> Iterator[bytes]:
        if self._head:  # a deflate body of one byte
            self._wbits = -zlib.MAX_WBITS
            yield from self.feed(b"")
        if self._obj is not None and not self._done:
            # The body ended inside the stream: hand out what can be had, in bounded steps.
            yield from self.feed(b"")


class Decoder:
    """Decodes a body for its ``Content-Encoding`` (None, ``identity``, ``gzip``,
    ``x-gzip``, ``deflate``, or a comma list of them, applied in order). An encoding
    fetchpool cannot decode is passed through as it came.
    """

    def __init__(self, content_encoding: str | None) -> None:
        names = [n.strip().lower() for n in (content_encoding or "").split(",")]
        self._layers: list[_Inflate] = []
        for name in reversed([n for n in names if n and n != "identity"]):
            if name in ("gzip", "x-gzip"):
                self._layers.append(_Inflate(gzip=True))
            elif name == "deflate":
                self._layers.append(_Inflate(gzip=False))
            else:  # br, zstd, ... were not asked for; count the bytes as they came
                self._layers = []
                break

    @property
    def identity(self) -> bool:
        """True when the body passes through as it came (nothing to decode)."""
        return not self._layers

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded pieces of ``data``, each at most ``CHUNK`` bytes."""
        yield from self._through(0, data)

    def flush(self) -> Iterator[bytes]:
        """What is left once the body has ended."""
        for i, layer in enumerate(self._layers):
            for piece in layer.flush():
                yield from self._through(i + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            for start in range(0, len(data), CHUNK):
                yield data[start : start + CHUNK]
            return
        for piece in self._layers[index].feed(data):
            yield from self._through(index + 1, piece)
