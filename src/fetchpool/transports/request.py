"""What every transport sends and how it words a failure: shared, so they agree."""

from __future__ import annotations

from ..config import Config
from .decode import ACCEPT_ENCODING

__all__ = ["reason", "request_headers"]


def reason(exc: BaseException | None) -> str:
    """An exception's message as one short line, for an error record's detail."""
    if exc is None:
        return "unknown"
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:300]


def request_headers(config: Config) -> dict[str, str]:
    """The headers sent with every request: the config's, and ``Accept-Encoding`` for the
    encodings fetchpool decodes in bounded steps, unless the config names its own."""
    headers = dict(config.headers)
    if not any(name.lower() == "accept-encoding" for name in headers):
        headers["Accept-Encoding"] = ACCEPT_ENCODING
    return headers
