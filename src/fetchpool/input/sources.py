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

from ..errors import SourceError

__all__ = ["open_sources", "url_lines"]


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
