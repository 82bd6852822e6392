"""Decisions every engine shares, as plain functions with no I/O."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from ..config import Config
from ..records import Record, error_record
from ..sources import check_url
from ._decode import ACCEPT_ENCODING
from ._limits import host_key, plain_key

__all__ = [
    "REDIRECT_STATUSES",
    "admit",
    "invalid_record",
    "reason",
    "redirect_target",
    "request_headers",
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def invalid_record(url: str) -> Record | None:
    """The ``invalid-url`` record for a URL that cannot be fetched, or None when it can."""
    why = check_url(url)
    return None if why is None else error_record(url, "invalid-url", why)


def admit(url: str) -> str | Record:
    """The host key (:func:`~._limits.host_key`) of a URL that can be fetched, or its
    ``invalid-url`` record. A plain URL, the common case, is checked and keyed by one regex
    match (this runs for every URL)."""
    key = plain_key(url)
    if key is not None:
        return key
    bad = invalid_record(url)
    return host_key(url) if bad is None else bad


def redirect_target(
    current: str, location: str, seen: set[str], max_redirects: int
) -> tuple[str | None, str | None]:
    """Where a redirect from ``current`` to ``location`` leads: ``(next_url, None)``,
    or ``(None, why)`` when it must not be followed. ``seen`` holds the URLs visited so
    far in this fetch (it is updated); ``len(seen) - 1`` redirects were followed.
    """
    if len(seen) > max_redirects:
        return None, f"more than {max_redirects} redirects"
    target = urljoin(current, location.strip())
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        return None, f"to {scheme or 'no'} scheme refused: {target[:200]}"
    target = target.split("#", 1)[0]
    if target in seen:
        return None, f"loop back to {target[:200]}"
    seen.add(target)
    return target, None


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
