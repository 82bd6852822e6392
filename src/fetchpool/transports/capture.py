"""The exact bytes of a libcurl transfer, for the archive (``--warc``; see :mod:`fetchpool.warc`).

Made only when the run archives, so other runs pay nothing. libcurl shows the request head
it sent through its debug callback (``HEADER_OUT``; the callback is called only with
``VERBOSE`` on); the response head is the header lines the transfer keeps anyway; the body
is what the write callback receives — libcurl has removed the chunked framing and, with its
content decoding off, kept any gzip as sent, which is what a WARC response stores (the raw
``DATA_IN`` would still hold the chunk framing).
"""

from __future__ import annotations

import time

import pycurl

from ..warc.capture import Capture

__all__ = ["CurlCapture"]

_HEADER_OUT = 2  # CURLINFO_HEADER_OUT


class CurlCapture:
    """What one easy handle sends and receives, one transfer at a time."""

    __slots__ = ("body", "sent", "started")

    def __init__(self, handle: pycurl.Curl) -> None:
        self.sent: list[bytes] = []
        self.body: list[bytes] = []
        self.started = 0.0
        handle.setopt(pycurl.VERBOSE, 1)
        handle.setopt(pycurl.DEBUGFUNCTION, self._debug)

    def _debug(self, kind: int, data: bytes) -> None:
        if kind == _HEADER_OUT:
            self.sent.append(data)

    def reset(self) -> None:
        """A new transfer begins."""
        self.sent = []
        self.body = []
        self.started = time.time()

    def take(self, handle: pycurl.Curl, lines: list[bytes]) -> Capture | None:
        """The capture of the transfer that just ended with a whole response."""
        raw = b"".join(lines)
        cut = raw.rfind(b"\nHTTP/")  # the last head: after a 100 Continue, a proxy's CONNECT
        head = raw if cut < 0 else raw[cut + 1 :]
        if not self.sent or not head:
            return None
        request = self.sent[-1]  # a request resent on a fresh connection: the last one
        ip = handle.getinfo(pycurl.PRIMARY_IP) or None
        target = handle.getinfo(pycurl.EFFECTIVE_URL)
        return Capture(
            target=target, date=self.started, request=request, head=head, body=self.body, ip=ip
        )
