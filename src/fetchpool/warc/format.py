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

import functools
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
    "digest",
    "digest_of",
    "http11_head",
    "member",
    "record",
    "record_id",
    "warc_date",
    "warcinfo",
]

#: The revisit profile of a payload already archived.
PROFILE: Final = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
try:  # ISA-L's deflate: at its level 0 a page's member costs a sixth of zlib's fastest level
    from isal import isal_zlib as _deflate
except ImportError:  # no wheel for this platform: zlib
    _deflate = zlib  # type: ignore[no-redef,misc]
#: gzip level of every member: the compressor's fastest (see BENCHMARKS.md).
LEVEL: Final = 0 if _deflate is not zlib else 1

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


@functools.lru_cache(maxsize=4)
def _second(whole: int) -> str:
    # a run's records share their seconds: strftime once for each
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def warc_date(seconds: float) -> str:
    """``2024-05-01T12:34:56.123456Z``: WARC/1.1's date, to the microsecond."""
    whole = int(seconds)
    micro = round((seconds - whole) * 1_000_000)
    if micro == 1_000_000:
        whole, micro = whole + 1, 0
    return f"{_second(whole)}.{micro:06d}Z"


def _spread_steps() -> tuple[tuple[int, int, int], ...]:
    """Masks and shifts that move each 5 bits of a 320-bit number into a byte of its own:
    the 40-bit halves of 80-bit lanes into 64-bit lanes, and so on down to 5 bits a byte."""
    steps = []
    held, lane = 320, 512
    while lane > 8:
        half, half_lane = held // 2, lane // 2
        low = sum(((1 << half) - 1) << (i * lane) for i in range(512 // lane))
        high = sum(((1 << held) - 1) << (i * lane) for i in range(512 // lane)) & ~low
        steps.append((low, high, half_lane - half))
        held, lane = half, half_lane
    return tuple(steps)


(_L0, _H0, _S0), (_L1, _H1, _S1), (_L2, _H2, _S2), (_L3, _H3, _S3), (_L4, _H4, _S4), (
    _L5, _H5, _S5,
) = _spread_steps()  # fmt: skip
#: A byte's low 5 bits -> the base32 digit.
_B32_DIGITS: Final = bytes(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[i & 31] for i in range(256))


def b32(sha256: bytes) -> str:
    """``base64.b32encode`` of a 32-byte digest, as text: the digest's 5-bit groups spread
    one to a byte by six mask-and-shift steps on one integer, then mapped by ``translate``
    (b32encode is pure Python, a loop per 5 bytes; three digests a request made it a tenth
    of the archive's cost). A test holds the two equal."""
    n = int.from_bytes(sha256, "big") << 64  # 320 bits: 64 groups of 5, the last 12 padding
    n = (n & _L0) | ((n & _H0) << _S0)
    n = (n & _L1) | ((n & _H1) << _S1)
    n = (n & _L2) | ((n & _H2) << _S2)
    n = (n & _L3) | ((n & _H3) << _S3)
    n = (n & _L4) | ((n & _H4) << _S4)
    n = (n & _L5) | ((n & _H5) << _S5)
    return n.to_bytes(64, "big")[:52].translate(_B32_DIGITS).decode("ascii") + "===="


def digest(parts: Iterable[bytes]) -> str:
    """``sha256:`` and the base32 SHA-256 of the concatenated ``parts``."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return "sha256:" + b32(h.digest())


def digest_of(data: bytes) -> str:
    """:func:`digest` of one piece."""
    return "sha256:" + b32(hashlib.sha256(data).digest())


block_digest = digest


def http11_head(head: bytes) -> tuple[bytes, str]:
    """A response head in HTTP/1.1 syntax, its ``Transfer-Encoding`` renamed, and the
    protocol it came in (``http/1.1``, ``h2``…)."""
    if head.startswith(b"HTTP/1.1 ") and b"ransfer-" not in head and b"RANSFER-" not in head:
        return head, "http/1.1"  # the common head, as it is
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
    return record("".join(f"{k}: {v}\r\n" for k, v in fields), block, gzip=gzip)


def record(fields: str, block: list[bytes], *, gzip: bool = True) -> bytes:
    """:func:`member` of header lines already written (``Name: value\\r\\n`` each)."""
    length = sum(map(len, block))
    header = f"WARC/1.1\r\n{fields}Content-Length: {length}\r\n\r\n".encode()
    if not gzip:
        return b"".join([header, *block, b"\r\n\r\n"])
    return _deflate.compress(b"".join([header, *block, b"\r\n\r\n"]), LEVEL, 31)  # gzip


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
