"""Fields computed from a body while it streams in: ``--extract title,sha256,links``.

Pure logic with no I/O, riding on the per-response body hook of :mod:`fetchpool.bodies.hook`:
:class:`Extractor` is a sink factory; its sink feeds every body chunk to an
:class:`Extraction`, and its ``done(record)`` returns the record with ``title``, ``sha256``
and ``links`` filled in (fields not asked for stay None). The engines add it to
``Config.body_sink`` when ``Config.extract`` names fields (see :func:`with_extractor`),
combined with any other sink (``--save-dir``) by :func:`fetchpool.bodies.hook.combine`. This is
CPU work done inside the fetch, which is what the ``processes`` mode spreads over cores.
"""

from __future__ import annotations

import codecs
import dataclasses
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Final

from ..errors import UsageError
from ..records import Record
from .hook import combine

if TYPE_CHECKING:
    import hashlib

    from ..config import Config
    from .scan import Scan

__all__ = [
    "EXTRACTORS",
    "ExtractSink",
    "Extraction",
    "Extractor",
    "new_extraction",
    "parse_extract",
    "with_extractor",
]

#: Every field ``--extract`` can add, in output order, with what it holds.
EXTRACTORS: Final[dict[str, str]] = {
    "title": "the text of the page's <title>, entities decoded, spaces collapsed (HTML only)",
    "sha256": "the SHA-256 of the body as received after content decoding, in hex",
    "links": "how many <a href> links the page has (HTML only; parses the whole page)",
}

#: A title longer than this is cut: it is a label, not a document.
MAX_TITLE: Final = 1000

_HTML_TYPES: Final = ("html", "xml")


def parse_extract(names: str | Iterable[str]) -> tuple[str, ...]:
    """``"title,sha256"`` or ``["sha256", "title"]`` -> ``("title", "sha256")``.

    Names are checked, duplicates dropped and put in :data:`EXTRACTORS` order; an unknown
    name raises :class:`UsageError` listing the known ones.
    """
    items = names.split(",") if isinstance(names, str) else list(names)
    wanted = set()
    for item in items:
        if not isinstance(item, str):
            raise UsageError(f"fields to extract are names, not {type(item).__name__}")
        name = item.strip().lower()
        if not name:
            continue
        if name not in EXTRACTORS:
            known = ", ".join(EXTRACTORS)
            raise UsageError(f"unknown field to extract {item.strip()!r}; choose from: {known}")
        wanted.add(name)
    return tuple(n for n in EXTRACTORS if n in wanted)


class Extraction:
    """The extraction for one response: :meth:`feed` each chunk, then :meth:`apply`."""

    def __init__(self, names: Iterable[str], content_type: str | None) -> None:
        wanted = set(names)
        self._hash: hashlib._Hash | None = None
        if "sha256" in wanted:
            import hashlib  # here: it loads OpenSSL, which a run without --extract never needs

            self._hash = hashlib.sha256()
        self._want_title = "title" in wanted
        self._want_links = "links" in wanted
        self._scan: Scan | None = None
        self._decoder: codecs.IncrementalDecoder | None = None
        if (self._want_title or self._want_links) and _is_html(content_type):
            from .scan import Scan  # html.parser is loaded by the runs that parse HTML only

            self._scan = Scan(count_links=self._want_links)
            decoder = codecs.getincrementaldecoder(_charset(content_type))
            self._decoder = decoder(errors="replace")

    def feed(self, chunk: bytes) -> None:
        """Take the next piece of the body (after content decoding)."""
        if self._hash is not None:
            self._hash.update(chunk)
        if self._scan is not None and self._decoder is not None and not self._scan.finished:
            self._parse(self._decoder.decode(chunk))

    def _parse(self, text: str, *, final: bool = False) -> None:
        scan = self._scan
        assert scan is not None
        try:
            scan.feed(text)
            if final:
                scan.close()
                scan.end_title()  # an unclosed <title> still names the page
        except Exception:
            # html.parser gives up on some broken markup; keep what was found so far.
            scan.finished = True

    def apply(self, record: Record) -> Record:
        """``record`` with the fields asked for filled in from the whole body."""
        title: str | None = None
        links: int | None = None
        if self._scan is not None and self._decoder is not None:
            if not self._scan.finished:
                self._parse(self._decoder.decode(b"", final=True), final=True)
            title = self._scan.title if self._want_title else None
            links = self._scan.links if self._want_links else None
        digest = self._hash.hexdigest() if self._hash is not None else None
        return dataclasses.replace(record, title=title, sha256=digest, links=links)


def new_extraction(names: tuple[str, ...], content_type: str | None) -> Extraction | None:
    """An :class:`Extraction` for a response, or None when nothing is to be extracted."""
    return Extraction(names, content_type) if names else None


def _is_html(content_type: str | None) -> bool:
    # No Content-Type at all: browsers sniff; a parse costs little and finds nothing in non-HTML.
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return any(kind in media for kind in _HTML_TYPES)


def _charset(content_type: str | None) -> str:
    """The charset a Content-Type names, if Python knows it; otherwise UTF-8."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            try:
                return codecs.lookup(value.strip().strip("\"'")).name
            except LookupError:
                break
    return "utf-8"


class ExtractSink:
    """One response's extraction as a :class:`~fetchpool.bodies.hook.BodySink`."""

    __slots__ = ("_extraction",)

    def __init__(self, extraction: Extraction) -> None:
        self._extraction = extraction

    def __enter__(self) -> ExtractSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pass  # nothing held outside memory: an incomplete body is simply dropped

    def write(self, chunk: bytes) -> None:
        self._extraction.feed(chunk)

    def done(self, record: Record) -> Record:
        return self._extraction.apply(record)


class Extractor:
    """The sink factory of ``--extract``: ``(url, content_type) -> ExtractSink``.

    A plain object holding only the names, so it pickles (the ``processes`` mode sends its
    configuration to the worker processes)."""

    __slots__ = ("names",)

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def __call__(self, url: str, content_type: str | None) -> ExtractSink:
        return ExtractSink(Extraction(self.names, content_type))


def with_extractor(config: Config) -> Config:
    """``config`` with its ``extract`` fields computed by its ``body_sink``: an
    :class:`Extractor`, after any sink already there (so ``--save-dir`` still names the
    file, and the record comes back with both ``path`` and the extracted fields)."""
    if not config.extract:
        return config
    extractor = Extractor(config.extract)
    sink = extractor if config.body_sink is None else combine(config.body_sink, extractor)
    return dataclasses.replace(config, body_sink=sink, extract=())
