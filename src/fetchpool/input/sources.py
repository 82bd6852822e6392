r"""Reading URLs from sources, lazily, and checking each one before it is fetched.

A source is a URL (it has ``://``), a file of URLs (one per line; blank lines and lines
starting with ``#`` skipped), ``-`` for standard input, or any iterable of strings
(library use). Files are opened up front, so a missing file fails before any fetch,
and read one line at a time, so memory does not grow with the input.

Files and standard input are read as bytes, in chunks of at most :data:`MAX_LINE` bytes,
and each line is decoded here, by one rule (the library's strings go by the same rule):

- a leading UTF-8 byte order mark is skipped; a line ends at ``\n``, ``\r\n`` or ``\r``;
- a line that is not valid UTF-8 is not fetched: it becomes an ``invalid-url`` record whose
  ``url`` is the line with each bad byte written as the four characters ``\xHH``;
- a line longer than :data:`MAX_LINE` bytes is not fetched, nor held: it becomes an
  ``invalid-url`` record whose ``url`` is its first :data:`KEPT_OF_LONG` bytes, then
  ``…[N bytes in all, blake2b H]`` (so two long lines that start alike stay two records).

Such a line reaches the engine as a :class:`~fetchpool.urls.Rejected` string: its text is
the record's ``url`` (what ``--resume`` finds in the output), and it carries the reason.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Final

from ..errors import SourceError, UsageError
from ..urls import Rejected

if TYPE_CHECKING:
    from hashlib import blake2b

__all__ = [
    "KEPT_OF_LONG",
    "MAX_LINE",
    "Sources",
    "as_urls",
    "open_sources",
    "read_urls",
    "url_lines",
]

#: The longest line (or library string) taken as a URL, in bytes of UTF-8, without its line
#: break. libcurl refuses URLs of 8 MB and servers commonly any above 8 KB; 64 KiB is plenty.
MAX_LINE: Final = 65536
#: Bytes of an over-long line kept in its record's ``url``.
KEPT_OF_LONG: Final = 256
_BOM: Final = b"\xef\xbb\xbf"
_BAD_UTF8: Final = "not valid UTF-8 (the url shows each bad byte as \\xHH)"


def as_urls(urls: Iterable[str] | str) -> Iterator[str]:
    """The URLs of a library call, each trimmed: one URL (a string) or an iterable of them.
    A non-string item raises UsageError when it is reached. A string with a lone surrogate
    or longer than :data:`MAX_LINE` bytes becomes a Rejected one, as a line would."""
    if isinstance(urls, str):  # one URL, not an iterable of characters
        urls = [urls]
    for url in urls:
        if url.__class__ is str and len(url) <= _SHORT and url.isascii():
            yield url.strip()  # the common case
        elif isinstance(url, Rejected):
            yield url  # from a source: already what its record holds
        elif not isinstance(url, str):
            raise UsageError(f"URLs must be strings, not {type(url).__name__}")
        else:
            yield _checked(url.strip())


#: An ASCII string this long or shorter is within MAX_LINE bytes whatever it holds.
_SHORT: Final = MAX_LINE


def _checked(text: str) -> str:
    """``text``, or a Rejected string when it holds a lone surrogate (bytes that were not
    UTF-8) or is longer than MAX_LINE bytes: the rule of a line read from a file."""
    if len(text) <= _SHORT // 4 and text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        if len(text) <= _SHORT // 4:
            return text
    raw = _bytes_of(text)
    if len(raw) > MAX_LINE:
        return _too_long(raw[:KEPT_OF_LONG], len(raw), _blake2b(raw))
    url = _decoded(raw, skip=False)
    assert url is not None
    return url


def _bytes_of(text: str) -> bytes:
    """The bytes a string stands for: a surrogate from ``surrogateescape`` decoding (as
    Python reads file names and, in some locales, standard input) is its byte again."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # another lone surrogate too: it stands for its own 3 bytes
        return b"".join(
            c.encode("utf-8", "surrogateescape" if 0xDC80 <= ord(c) <= 0xDCFF else "surrogatepass")
            for c in text
        )


def _decoded(raw: bytes, *, skip: bool = True) -> str | None:
    """One line's URL (trimmed), a Rejected string for bytes that are not UTF-8, or None
    for a blank or ``#`` line (when ``skip``)."""
    try:
        text = raw.decode("utf-8").strip()
        bad = False
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "backslashreplace").strip()
        bad = True
    if skip and (not text or text[0] == "#"):
        return None
    return Rejected(text, _BAD_UTF8) if bad else text


def _blake2b(data: bytes) -> blake2b:
    # Imported here: hashlib loads OpenSSL, and only an over-long line needs a digest.
    from hashlib import blake2b

    return blake2b(data, digest_size=10)


def _too_long(head: bytes, size: int, digest: blake2b) -> Rejected:
    start = head.decode("utf-8", "backslashreplace")
    return Rejected(
        f"{start}…[{size} bytes in all, blake2b {digest.hexdigest()}]",
        f"longer than {MAX_LINE} bytes ({size} bytes; the url holds the first {KEPT_OF_LONG})",
    )


def url_lines(stream: Iterable[str]) -> Iterator[str]:
    """The URLs in lines of text: each line trimmed; blank and ``#`` lines skipped; a line
    with a lone surrogate or longer than MAX_LINE bytes becomes a Rejected string."""
    for line in stream:
        text = line.strip()
        if text and not text.startswith("#"):
            yield text if len(text) <= _SHORT // 4 and text.isascii() else _checked(text)


def _text_lines(stream: Iterable[str]) -> Iterator[str]:
    """The lines of a text stream (standard input without bytes below it), its BOM skipped."""
    first = True
    for line in stream:
        if first:
            first = False
            line = line.removeprefix("\ufeff")
        yield line


class _Long:
    """An over-long line being read past: its first bytes, its size and hash so far."""

    __slots__ = ("digest", "head", "size")

    def __init__(self, start: bytes) -> None:
        self.head = start[:KEPT_OF_LONG]
        self.size = len(start)
        self.digest = _blake2b(start)

    def add(self, more: bytes) -> None:
        self.size += len(more)
        self.digest.update(more)

    def url(self) -> Rejected | None:
        """Its Rejected string, or None for a ``#`` line."""
        if self.head.lstrip().startswith(b"#"):
            return None
        return _too_long(self.head, self.size, self.digest)


def read_urls(read: Callable[[int], bytes]) -> Iterator[str]:
    """The URLs of a byte stream (``read(n)``: at most n bytes, b"" at its end; ``read1`` of
    a buffered file or of ``sys.stdin.buffer``), by the rule of the module docstring. At most
    about 2 × MAX_LINE bytes are held at a time, whatever the input."""
    buf = b""  # the start of the line being read, at most MAX_LINE bytes
    long: _Long | None = None  # the over-long line being read past
    url: str | None
    start: bytes | None = b""  # the first bytes, until it is known whether they are a BOM
    while chunk := read(MAX_LINE):
        if start is not None:
            start += chunk
            if len(start) < len(_BOM) and _BOM.startswith(start):
                continue  # a BOM split over reads (a pipe)
            chunk, start = start.removeprefix(_BOM), None
            if not chunk:
                continue
        ended = chunk[-1] in (10, 13)  # the chunk ends with a line break
        lines = chunk.splitlines()
        rest = b"" if ended else lines.pop()
        if lines:
            if long is not None:  # the first line ends the over-long one
                long.add(lines[0])
                url = long.url()
                long = None
                if url is not None:
                    yield url
                lines[0] = b""
            elif buf:
                lines[0] = buf + lines[0]
                buf = b""
            for line in lines:
                url = _Long(line).url() if len(line) > MAX_LINE else _decoded(line)
                if url is not None:
                    yield url
        if rest:
            if long is not None:
                long.add(rest)
            else:
                buf += rest
                if len(buf) > MAX_LINE:
                    long, buf = _Long(buf), b""
    if long is not None:
        url = long.url()
    elif start:
        url = _decoded(start.removeprefix(_BOM))
    else:
        url = _decoded(buf) if buf else None
    if url is not None:
        yield url


def _open(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")
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
    opened: dict[int, IO[bytes]] = {}
    for i, src in enumerate(items):
        if src != "-" and "://" not in src:
            opened[i] = _open(src)
    return Sources(tuple(items), _chain(items, opened, stdin))


def _chain(items: list[str], opened: dict[int, IO[bytes]], stdin: IO[str] | None) -> Iterator[str]:
    try:
        for i, src in enumerate(items):
            if src == "-":
                yield from _stdin_urls(stdin if stdin is not None else sys.stdin)
            elif i in opened:
                with opened.pop(i) as fh:
                    try:
                        yield from read_urls(fh.read1)  # type: ignore[attr-defined]
                    except OSError as exc:
                        raise SourceError(f"cannot read {src}: {exc}") from exc
            else:
                yield from as_urls(src)
    finally:
        for fh in opened.values():
            fh.close()


def _stdin_urls(stdin: IO[str]) -> Iterator[str]:
    """Standard input's URLs: from its bytes when it has them (the same rule as a file)."""
    raw = getattr(stdin, "buffer", None)
    read = getattr(raw, "read1", None)
    if read is None:  # a text stream only (a StringIO)
        return url_lines(_text_lines(stdin))
    return read_urls(read)
