"""What one request sent and received, exactly: filled by a transport, read by the writer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Archive", "Capture"]


@dataclass(slots=True)
class Capture:
    """One request that got a whole response.

    ``target``: the URI requested, as sent; ``date``: when the request started (Unix
    seconds); ``request``: the request head as sent (request line to the blank line);
    ``head``: the response head as received (status line to the blank line, the last one
    after a ``100 Continue``); ``body``: the response body as received, in pieces, with
    the transfer coding (chunked) removed and any content coding (gzip) kept; ``ip``: the
    peer's address, None if unknown."""

    target: str
    date: float
    request: bytes
    head: bytes
    body: list[bytes]
    ip: str | None


class Archive(Protocol):
    """Where the scheduler hands the captures of a URL when the URL's record is made."""

    def captured(self, url: str, captures: list[Capture]) -> None: ...
