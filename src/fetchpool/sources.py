"""Reading URLs from sources, lazily, and checking each one before it is fetched.

A source is a URL (it has ``://``), a file of URLs (one per line; blank lines and lines
starting with ``#`` skipped), ``-`` for standard input, or any iterable of strings
(library use). Files are opened up front, so a missing file fails before any fetch,
and read one line at a time, so memory does not grow with the input.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Iterable, Iterator
from typing import IO
from urllib.parse import urlsplit

from .errors import SourceError

__all__ = ["check_url", "open_sources", "plain_authority", "url_lines"]

_SCHEMES = ("http", "https")
_BAD_HOST_CHARS = frozenset(' \t\r\n<>"{}|\\^`%')


# The common case, accepted without taking the URL apart: http(s)://host[:port][/...] with a
# plain DNS name or IPv4 host (group 1) and printable ASCII after it; group 2 is the port.
# Everything else gets the full check.
_PLAIN = re.compile(
    r"[hH][tT][tT][pP][sS]?://"
    r"([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)"
    r"(?::([0-9]{1,5}))?(?:[/?#][!-~]*)?"
)


def plain_authority(url: str) -> tuple[str, int] | None:
    """The host (as written) and port (filled in) of a plain URL — the common case, which
    can be fetched without the full check — or None for any other URL. One regex match:
    this runs for every URL."""
    plain = _PLAIN.fullmatch(url)
    if plain is None or len(plain[1]) > 253:
        return None
    port = plain[2]
    number = (443 if url[4] in "sS" else 80) if port is None else int(port)
    return (plain[1], number) if 0 < number < 65536 else None


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be fetched, or None when it can. Pure; no I/O."""
    return None if plain_authority(url) is not None else _check_fully(url)


def _check_fully(url: str) -> str | None:
    if not url:
        return "empty URL"
    # Fast path first: printable ASCII without a space has no whitespace or control character.
    if (" " in url or not (url.isascii() and url.isprintable())) and any(
        c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url
    ):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        return str(exc)
    if not parts.scheme:
        return "no scheme (write http:// or https://)"
    if parts.scheme.lower() not in _SCHEMES:
        return f"scheme {parts.scheme!r} is not http or https"
    host = parts.hostname
    if not host:
        return "no host"
    if port == 0:
        return "port 0"
    if parts.netloc.startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return f"bad IPv6 address {host!r}"
    elif not _BAD_HOST_CHARS.isdisjoint(host) or ".." in host or len(host) > 253:
        return f"bad host {host!r}"
    elif any(len(label) > 63 for label in host.split(".")):  # DNS allows 63 bytes a label
        return f"bad host {host!r}: a part longer than 63 characters"
    return None


def url_lines(stream: Iterable[str]) -> Iterator[str]:
    """The URLs in lines of text: each line trimmed; blank and ``#`` lines skipped."""
    for line in stream:
        text = line.strip()
        if text and not text.startswith("#"):
            yield text


def _open(path: str) -> IO[str]:
    try:
        # errors="replace": a stray byte must not end the run; the line becomes an invalid URL.
        return open(path, encoding="utf-8", errors="replace", newline=None)
    except FileNotFoundError:
        raise SourceError(
            f"no such file: {path} (a URL needs a scheme, e.g. https://{path})"
        ) from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a directory, not a file of URLs") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None


def open_sources(sources: Iterable[str], *, stdin: IO[str] | None = None) -> Iterator[str]:
    """Every URL in ``sources`` (command-line style), in order, read lazily.

    Files are opened before the first URL is yielded, so a missing file raises
    :class:`SourceError` before any work starts.
    """
    items = list(sources)
    opened: dict[int, IO[str]] = {}
    for i, src in enumerate(items):
        if src != "-" and "://" not in src:
            opened[i] = _open(src)
    return _chain(items, opened, stdin)


def _chain(items: list[str], opened: dict[int, IO[str]], stdin: IO[str] | None) -> Iterator[str]:
    try:
        for i, src in enumerate(items):
            if src == "-":
                yield from url_lines(stdin if stdin is not None else sys.stdin)
            elif i in opened:
                with opened.pop(i) as fh:
                    try:
                        yield from url_lines(fh)
                    except OSError as exc:
                        raise SourceError(f"cannot read {src}: {exc}") from None
            else:
                yield src.strip()
    finally:
        for fh in opened.values():
            fh.close()
