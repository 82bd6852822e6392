"""Reading an archive back, record by record, as written: where each record starts, how long
it is in the file, its WARC headers and the start of its block (the HTTP head). Used to
index a file and to resume a run; it stops at a torn last record (:attr:`Scan.torn_at`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Member", "Scan", "scan"]

_READ = 1 << 20
_KEEP = 1 << 16  # bytes of a block kept: the HTTP head is within them


@dataclass(slots=True)
class Member:
    offset: int
    length: int  # bytes in the file (the gzip member, or the plain record)
    kind: str | None
    target: str | None
    date: str | None
    record_id: str | None
    payload_digest: str | None
    http_head: bytes  # the HTTP head of a request, response or revisit block, else b""


@dataclass(slots=True)
class Scan:
    """The whole records of one file (iterate it), then: ``end``, the offset after the last
    whole record; ``torn_at``, the offset of a record cut short, or None."""

    path: str
    end: int = 0
    torn_at: int | None = None
    members: list[Member] = field(default_factory=list)


def _parse(data: bytes, offset: int, length: int) -> Member | None:
    """A record's facts from its first bytes; None if they are not a WARC record head."""
    cut = data.find(b"\r\n\r\n")
    if not data.startswith(b"WARC/") or cut < 0:
        return None
    fields: dict[str, str] = {}
    for line in data[:cut].split(b"\r\n")[1:]:
        name, _, value = line.decode("utf-8", "replace").partition(":")
        fields.setdefault(name.strip().lower(), value.strip())
    block = data[cut + 4 :]
    head = b""
    if fields.get("content-type", "").startswith("application/http"):
        end = block.find(b"\r\n\r\n")
        head = block[: end + 4] if end >= 0 else block
    return Member(
        offset=offset,
        length=length,
        kind=fields.get("warc-type"),
        target=fields.get("warc-target-uri"),
        date=fields.get("warc-date"),
        record_id=fields.get("warc-record-id"),
        payload_digest=fields.get("warc-payload-digest"),
        http_head=head,
    )


def _gzip_members(fh: object, result: Scan) -> Iterator[Member]:
    read = fh.read  # type: ignore[attr-defined]
    pending = b""
    offset = 0  # where the member being read starts
    while True:
        z = zlib.decompressobj(31)
        kept = b""
        consumed = 0
        started = False
        while not z.eof:
            if not pending:
                pending = read(_READ)
                if not pending:
                    break
            started = True
            try:
                out = z.decompress(pending)
            except zlib.error:
                result.torn_at = offset
                return
            if len(kept) < _KEEP:
                kept += out[: _KEEP - len(kept)]
            used = len(pending) - len(z.unused_data)
            consumed += used
            pending = z.unused_data
        if not z.eof:
            if started:
                result.torn_at = offset  # the file ends inside this member
            return
        member = _parse(kept, offset, consumed)
        if member is None:
            result.torn_at = offset
            return
        offset += consumed
        result.end = offset
        yield member


def _plain_records(fh: object, result: Scan) -> Iterator[Member]:
    data_read = fh.read  # type: ignore[attr-defined]
    seek = fh.seek  # type: ignore[attr-defined]
    offset = 0
    while True:
        seek(offset)
        first = data_read(_KEEP)
        if not first:
            return
        cut = first.find(b"\r\n\r\n")
        length = None
        if first.startswith(b"WARC/") and cut >= 0:
            for line in first[:cut].split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length" and value.strip().isdigit():
                    length = int(value.strip())
        if length is None:
            result.torn_at = offset
            return
        total = cut + 4 + length + 4
        seek(offset + total - 4)
        if data_read(4) != b"\r\n\r\n":
            result.torn_at = offset
            return
        member = _parse(first, offset, total)
        if member is None:
            result.torn_at = offset
            return
        offset += total
        result.end = offset
        yield member


def scan(path: str, result: Scan | None = None) -> Iterator[Member]:
    """The whole records of the archive file ``path``, in order (``.gz``: gzip members)."""
    result = result if result is not None else Scan(path)
    with open(path, "rb") as fh:
        if path.endswith(".gz"):
            yield from _gzip_members(fh, result)
        else:
            yield from _plain_records(fh, result)


def scan_all(path: str) -> Scan:
    """Every whole record of ``path``, with where the file stops being whole."""
    result = Scan(path)
    result.members = list(scan(path, result))
    return result
