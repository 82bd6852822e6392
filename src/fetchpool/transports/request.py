"""What every transport sends and how it words a failure: shared, so they agree."""

from __future__ import annotations

from urllib.parse import unquote

from ..config import Config
from ..urls import userinfo
from .decode import ACCEPT_ENCODING

__all__ = ["CREDENTIALS", "basic_auth", "reason", "request_headers", "without_credentials"]

#: The headers that are credentials: never sent to another origin than the input URL's
#: (unless ``location_trusted``), as curl, requests and httpx drop them on a redirect.
CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})


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


def without_credentials(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` for a request to another origin than the input URL's."""
    return {k: v for k, v in headers.items() if k.lower() not in CREDENTIALS}


def basic_auth(url: str) -> str | None:
    """The ``Authorization`` value for the ``user:password@`` of ``url`` (percent-decoded,
    as curl sends it), or None when it has none."""
    info = userinfo(url)
    if info is None:
        return None
    import base64  # here: most runs send no user:password

    user, _, password = info.partition(":")
    token = f"{unquote(user)}:{unquote(password)}".encode()
    return "Basic " + base64.b64encode(token).decode("ascii")
