"""The record: what happened to one URL. The same fields go to every output."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Final

__all__ = ["ERROR_KINDS", "FIELDS", "Record", "error_record", "response_record"]

#: Every kind an ``error`` may start with, each followed by ``": detail"``.
ERROR_KINDS: Final[dict[str, str]] = {
    "invalid-url": "the input is not an http(s) URL fetchpool can request",
    "dns": "the host name does not resolve",
    "connect": "the connection was refused, reset or could not be made",
    "timeout": "no complete answer within the time allowed",
    "truncated": "the connection ended before the whole body arrived",
    "too-large": "the body grew past --max-bytes",
    "redirect": "too many redirects, a loop, or a redirect to a scheme other than http(s)",
    "protocol": "the server's reply is not valid HTTP",
    "tls": "the TLS handshake or certificate check failed",
    "robots": "the origin's robots.txt disallows the URL, or could not be had (--robots)",
    "interrupted": "the run stopped before this URL was fetched",
    "worker-died": "the worker process fetching this URL died (killed, out of memory, a crash)",
    "internal": "a bug in fetchpool: please report it",
}


@dataclass(frozen=True, slots=True)
class Record:
    """The outcome of fetching one URL.

    An HTTP response of any status is data: ``status`` is set and ``error`` is None.
    ``error`` is set only when no complete response was had, as one line ``kind: detail``
    with ``kind`` one of :data:`ERROR_KINDS`.

    ``title``, ``sha256`` and ``links`` are computed from the body when asked for
    (``--extract``; see :mod:`fetchpool.bodies.extract`) and are None otherwise.
    ``warc_file`` and ``warc_offset`` say where the last response archived for the URL
    lies (``--warc``; see :mod:`fetchpool.warc`), None otherwise.
    ``http_version`` is the protocol the last response came in ("1.0", "1.1", "2"), None
    when no response came.
    ``started`` is the Unix time the URL's first attempt started (for throughput over
    time, as ``fetchpool report`` draws it), None when no request was made.
    """

    url: str
    status: int | None = None
    length: int | None = None
    elapsed: float = 0.0
    error: str | None = None
    final_url: str | None = None
    content_type: str | None = None
    attempts: int = 0
    path: str | None = None  # where the body was saved (--save-dir), or None
    title: str | None = None
    sha256: str | None = None
    links: int | None = None
    # Where the URL's response lies in the WARC archive (--warc): the file's name and the
    # offset of its record there. None when the run does not archive.
    warc_file: str | None = None
    warc_offset: int | None = None
    http_version: str | None = None
    # The Unix time (seconds) the URL's first attempt started; None when none did (an
    # invalid URL, a URL a dead worker held).
    started: float | None = None

    @property
    def ok(self) -> bool:
        """True when a response came back with a 2xx or 3xx status."""
        return self.error is None and self.status is not None and self.status < 400

    @property
    def error_kind(self) -> str | None:
        """The part of ``error`` before the colon, or None."""
        return None if self.error is None else self.error.split(":", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Field names in output order (JSONL keys, CSV columns).
FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(Record))


def error_record(
    url: str,
    kind: str,
    detail: str,
    *,
    elapsed: float = 0.0,
    attempts: int = 0,
    started: float | None = None,
) -> Record:
    """A record for a URL that got no complete response."""
    if kind not in ERROR_KINDS:
        raise ValueError(f"unknown error kind {kind!r}; known: {', '.join(ERROR_KINDS)}")
    line = " ".join(detail.split())  # always one line
    return Record(
        url=url, elapsed=elapsed, error=f"{kind}: {line}", attempts=attempts, started=started
    )


class _Unfrozen:
    """A :class:`Record` under construction: the same slots, in the same order, without the
    frozen check, so each field is stored by a plain attribute store (a frozen dataclass pays
    a call of ``object.__setattr__`` per field, over four times the cost of the whole record
    made this way). Its class is then set to Record: the layouts are the same, so Python
    allows it, and the object is from then on a Record like any other."""

    __slots__ = FIELDS


_new = object.__new__


def response_record(
    url: str,
    status: int | None,
    length: int | None,
    elapsed: float,
    final_url: str,
    content_type: str | None,
    attempts: int,
    http_version: str | None = None,
    started: float | None = None,
) -> Record:
    """``Record(url=url, status=status, ...)`` for a response, the other fields None — made
    without the frozen dataclass's ``__init__`` (see :class:`_Unfrozen`), because the engines
    make one for every URL."""
    rec: Any = _new(_Unfrozen)
    rec.url = url
    rec.status = status
    rec.length = length
    rec.elapsed = elapsed
    rec.error = None
    rec.final_url = final_url
    rec.content_type = content_type
    rec.attempts = attempts
    rec.path = None
    rec.title = None
    rec.sha256 = None
    rec.links = None
    rec.warc_file = None
    rec.warc_offset = None
    rec.http_version = http_version
    rec.started = started
    rec.__class__ = Record
    return rec  # type: ignore[no-any-return]
