"""WARC/1.1 records as bytes: one gzip member each (or plain, for a ``.warc``).

Written by hand rather than with warcio's writer: warcio computes the payload digest of a
chunked response over the chunk framing (its issue #74) and rewrites nothing we need, while
here the block is exactly the bytes received and both digests are computed once, over the
pieces as they are, without joining the body.

What a response record holds: the status line and header lines as the server sent them —
except that an HTTP/2 (or 3) answer is written in HTTP/1.1 syntax (``HTTP/1.1 200 OK``) with
``WARC-Protocol: h2``, and that the body is stored with its transfer coding removed, so a
``Transfer-Encoding`` header is renamed ``X-Crawler-Transfer-Encoding`` (Common Crawl's
practice, which FastWARC's documentation describes: a reader must not de-chunk the body
again) — then the body, content coding kept. ``WARC-Payload-Digest`` is over that body
(after the transfer coding is removed, before any content coding is); ``WARC-Block-Digest``
over the whole block.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
import zlib
from collections.abc import Iterable
from http import HTTPStatus
from typing import Final

from ..config import USER_AGENT

__all__ = [
    "PROFILE",
    "block_digest",
    "http11_head",
    "member",
    "record_id",
    "warc_date",
    "warcinfo",
]

#: The revisit profile of a payload already archived.
PROFILE: Final = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
#: gzip level of every member: 1, the fastest (see BENCHMARKS.md for what 6 costs).
LEVEL: Final = 1

_STATUS_LINE: Final = re.compile(rb"^HTTP/(\d(?:\.\d)?)[ \t]+(\d{3})([^\r\n]*)\r?\n")
_REQUEST_LINE: Final = re.compile(rb"^([^ \r\n]+) ([^ \r\n]+) HTTP/(\d(?:\.\d)?)\r?\n")
_TE: Final = re.compile(rb"(^|\n)(transfer-encoding)([ \t]*:)", re.IGNORECASE)
_PROTOCOLS: Final = {b"1.0": "http/1.0", b"1.1": "http/1.1", b"2": "h2", b"3": "h3"}


class RecordIds:
    """``<urn:uuid:…>`` record IDs, unique: a random version-4 UUID per writer whose last
    48 bits count up (uuid4() for each record cost more than the rest of its header)."""

    def __init__(self) -> None:
        self._prefix = str(uuid.uuid4())[:24]
        self._next = int.from_bytes(os.urandom(4)) << 8

    def __call__(self) -> str:
        n = self._next = (self._next + 1) & 0xFFFFFFFFFFFF
        return f"<urn:uuid:{self._prefix}{n:012x}>"


record_id = RecordIds()


def warc_date(seconds: float) -> str:
    """``2024-05-01T12:34:56.123456Z``: WARC/1.1's date, to the microsecond."""
    whole = int(seconds)
    micro = round((seconds - whole) * 1_000_000)
    if micro == 1_000_000:
        whole, micro = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micro:06d}Z"


_B32: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_PAIRS: Final = [a + b for a in _B32 for b in _B32]  # 10 bits -> 2 characters
_SHIFTS: Final = tuple(range(270, -1, -10))


def b32(sha256: bytes) -> str:
    """``base64.b32encode`` of a 32-byte digest, as text, in one big-int pass (b32encode is
    pure Python, a loop per 5 bytes; three digests a request made it a tenth of the cost).
    A test holds the two equal."""
    n = int.from_bytes(sha256 + b"\0\0\0", "big")  # 35 bytes: 28 pairs of 5-bit digits
    return "".join([_B32_PAIRS[(n >> s) & 1023] for s in _SHIFTS])[:52] + "===="


def digest(parts: Iterable[bytes]) -> str:
    """``sha256:`` and the base32 SHA-256 of the concatenated ``parts``."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return "sha256:" + b32(h.digest())


block_digest = digest


def http11_head(head: bytes) -> tuple[bytes, str]:
    """A response head in HTTP/1.1 syntax, its ``Transfer-Encoding`` renamed, and the
    protocol it came in (``http/1.1``, ``h2``…)."""
    match = _STATUS_LINE.match(head)
    protocol = "http/1.1"
    if match is not None:
        version = match[1]
        protocol = _PROTOCOLS.get(version, "http/" + version.decode("ascii"))
        if version in (b"2", b"3"):  # "HTTP/2 200": no reason phrase in HTTP/2
            code = int(match[2])
            try:
                reason = HTTPStatus(code).phrase
            except ValueError:
                reason = ""
            head = b"HTTP/1.1 %d %s\r\n" % (code, reason.encode("ascii")) + head[match.end() :]
    if b"ransfer-" in head or b"RANSFER-" in head:
        head = _TE.sub(rb"\1X-Crawler-\2\3", head)
    return head, protocol


def http11_request(head: bytes) -> bytes:
    """A request head in HTTP/1.1 syntax (libcurl shows an HTTP/2 request as ``GET / HTTP/2``)."""
    match = _REQUEST_LINE.match(head)
    if match is not None and match[3] in (b"2", b"3"):
        return b"%s %s HTTP/1.1\r\n" % (match[1], match[2]) + head[match.end() :]
    return head


def member(fields: list[tuple[str, str]], block: list[bytes], *, gzip: bool = True) -> bytes:
    """One record: ``WARC/1.1``, ``fields``, ``Content-Length``, the block, two CRLFs;
    one gzip member when ``gzip``."""
    length = sum(map(len, block))
    text = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields)
    header = (text + f"Content-Length: {length}\r\n\r\n").encode("utf-8")
    if not gzip:
        return b"".join([header, *block, b"\r\n\r\n"])
    # A window just big enough for the record (zlib sets up the whole window and hash table
    # for each member: 32 KB and memLevel 8 cost more than compressing a page).
    window = min(15, max(9, (len(header) + length + 4).bit_length()))
    z = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + window, 4)
    # one call for the whole record: each call lets the GIL go and takes it back
    return z.compress(b"".join([header, *block, b"\r\n\r\n"])) + z.flush()


def warcinfo(filename: str, date: float, rid: str, *, gzip: bool = True) -> bytes:
    """The ``warcinfo`` record that begins every file."""
    body = (
        f"software: {USER_AGENT}\r\n"
        "format: WARC File Format 1.1\r\n"
        "conformsTo: http://iipc.github.io/warc-specifications/specifications/"
        "warc-format/warc-1.1/\r\n"
    ).encode()
    fields = [
        ("WARC-Type", "warcinfo"),
        ("WARC-Record-ID", rid),
        ("WARC-Date", warc_date(date)),
        ("WARC-Filename", filename),
        ("Content-Type", "application/warc-fields"),
        ("WARC-Block-Digest", digest([body])),
    ]
    return member(fields, [body], gzip=gzip)
