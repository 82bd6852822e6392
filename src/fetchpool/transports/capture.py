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

    __slots__ = ("body", "last", "started")

    def __init__(self, handle: pycurl.Curl) -> None:
        #: The last piece libcurl showed of each kind: the debug callback is a dict's own
        #: __setitem__, a C call, since libcurl calls it a dozen times a transfer (every info
        #: line, header line and body piece) and a Python function cost more than the
        #: transfer's own callbacks. The last HEADER_OUT is the request as sent (after a
        #: proxy's CONNECT, or resent on a fresh connection, the one that was answered).
        self.last: dict[int, bytes] = {}
        self.body: list[bytes] = []
        self.started = 0.0
        handle.setopt(pycurl.VERBOSE, 1)
        handle.setopt(pycurl.DEBUGFUNCTION, self.last.__setitem__)

    def reset(self) -> None:
        """A new transfer begins."""
        self.last.clear()
        self.body = []
        self.started = time.time()

    def take(self, handle: pycurl.Curl, lines: list[bytes]) -> Capture | None:
        """The capture of the transfer that just ended with a whole response."""
        raw = b"".join(lines)
        cut = raw.rfind(b"\nHTTP/")  # the last head: after a 100 Continue, a proxy's CONNECT
        head = raw if cut < 0 else raw[cut + 1 :]
        request = self.last.get(_HEADER_OUT)
        if not request or not head:
            return None
        ip = handle.getinfo(pycurl.PRIMARY_IP) or None
        target = handle.getinfo(pycurl.EFFECTIVE_URL)
        return Capture(
            target=target, date=self.started, request=request, head=head, body=self.body, ip=ip
        )
