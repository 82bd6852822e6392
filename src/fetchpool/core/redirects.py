"""Redirects: which statuses are redirects and where one may lead. Pure; no I/O."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from ..urls import without_userinfo

__all__ = ["REDIRECT_STATUSES", "redirect_target"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def redirect_target(
    current: str, location: str, seen: set[str], max_redirects: int
) -> tuple[str | None, str | None]:
    """Where a redirect from ``current`` to ``location`` leads: ``(next_url, None)``,
    or ``(None, why)`` when it must not be followed. ``seen`` holds the URLs visited so
    far in this fetch (it is updated); ``len(seen) - 1`` redirects were followed.
    """
    if len(seen) > max_redirects:
        return None, f"more than {max_redirects} redirects"
    if not location.isascii():
        location = _SURROGATE.sub(_percent, location)  # bytes that were not UTF-8, as curl
    target = urljoin(current, location.strip())
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        return None, f"to {scheme or 'no'} scheme refused: {without_userinfo(target)[:200]}"
    target = target.split("#", 1)[0]
    if target in seen:
        return None, f"loop back to {without_userinfo(target)[:200]}"
    seen.add(target)
    return target, None


#: A byte of a Location that was not UTF-8, as aiohttp decodes headers (surrogateescape).
_SURROGATE = re.compile("[\udc80-\udcff]")


def _percent(match: re.Match[str]) -> str:
    return f"%{ord(match[0]) - 0xDC00:02X}"
