"""Reading URLs from sources, lazily, and checking each one before it is fetched.

A source is a URL (it has ``://``), a file of URLs (one per line; blank lines and lines
starting with ``#`` skipped), ``-`` for standard input, or any iterable of strings
(library use). Files are opened up front, so a missing file fails before any fetch,
and read one line at a time, so memory does not grow with the input.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import IO

from ..errors import SourceError, UsageError

__all__ = ["Sources", "as_urls", "open_sources", "url_lines"]


def as_urls(urls: Iterable[str] | str) -> Iterator[str]:
    """The URLs of a library call, each trimmed: one URL (a string) or an iterable of them.
    A non-string item raises UsageError when it is reached."""
    if isinstance(urls, str):  # one URL, not an iterable of characters
        urls = [urls]
    for url in urls:
        if not isinstance(url, str):
            raise UsageError(f"URLs must be strings, not {type(url).__name__}")
        yield url.strip()


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
    except FileNotFoundError as exc:
        raise SourceError(f"no such file: {path}{_url_hint(path)}") from exc
    except IsADirectoryError as exc:
        raise SourceError(f"{path} is a directory, not a file of URLs") from exc
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _url_hint(path: str) -> str:
    """For a missing file that looks like a host (``example.com/a``): it may be meant as a
    URL. An absolute or relative path, or a plain name, is only a missing file."""
    host = path.split("/", 1)[0]
    looks_like_host = (
        "." in host
        and not path.startswith((".", "/", "~"))
        and "\\" not in path
        and not host.endswith((".txt", ".csv", ".jsonl", ".list", ".lst", ".urls", ".tsv"))
        and all(c.isalnum() or c in ".-:" for c in host)
    )
    return f" (a URL needs a scheme, e.g. https://{path})" if looks_like_host else ""


class Sources:
    """The URLs of command-line style sources, read lazily: an iterator of URLs that also
    knows the ``names`` it reads (for a progress total counted beside the run)."""

    def __init__(self, names: tuple[str, ...], urls: Iterator[str]) -> None:
        self.names = names
        self._urls = urls

    def __iter__(self) -> Iterator[str]:
        return self._urls

    def __next__(self) -> str:
        return next(self._urls)

    def close(self) -> None:
        """Close the files not read to their end."""
        close = getattr(self._urls, "close", None)
        if close is not None:
            close()


def open_sources(sources: Iterable[str], *, stdin: IO[str] | None = None) -> Sources:
    """Every URL in ``sources`` (command-line style: a URL, a file of URLs, or ``-`` for
    ``stdin``), in order, read lazily.

    Files are opened before the first URL is yielded, so a missing file raises
    :class:`SourceError` before any work starts.
    """
    items = list(sources)
    opened: dict[int, IO[str]] = {}
    for i, src in enumerate(items):
        if src != "-" and "://" not in src:
            opened[i] = _open(src)
    return Sources(tuple(items), _chain(items, opened, stdin))


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
                        raise SourceError(f"cannot read {src}: {exc}") from exc
            else:
                yield src.strip()
    finally:
        for fh in opened.values():
            fh.close()
