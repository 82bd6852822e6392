"""Continuing an archive after a crash (``--resume``): the records output is the truth.

The writer makes a record reach the output only after its WARC records are fsync'd, and
writes URLs to both in the same order, so after ``kill -9`` the archive holds every
recorded URL's records and maybe more: the records of URLs whose record never reached the
output, and a torn last gzip member. Those URLs are fetched again by the resumed run, so
everything past the last recorded response is cut off (later rolled-over files removed):
the archive then holds exactly one final response per recorded URL, and the resumed run
appends. The CDXJ index is rewritten from what is kept, and the ``--warc-dedup`` table
rebuilt from it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3

from ..config import Config
from ..errors import OutputError
from ..outputs import Writer, format_for
from . import format as fmt
from .index import cdxj_line, head_fields, index_length, surt_of
from .paths import existing
from .scan import scan_all
from .writer import ArchiveWriter

__all__ = ["archiving", "last_location", "open_archive"]

_EMPTY = fmt.digest([])


def last_location(records: str | None) -> tuple[str, int] | None:
    """The ``(warc_file, warc_offset)`` of the last record of the output that has one."""
    if records is None or records == "-" or not os.path.isfile(records):
        return None
    kind = format_for(records)
    try:
        if kind == "sqlite":
            db = sqlite3.connect(records)
            try:
                have = {row[1] for row in db.execute("PRAGMA table_info(results)")}
                if "warc_file" not in have:
                    return None
                row = db.execute(
                    "SELECT warc_file, warc_offset FROM results WHERE warc_file IS NOT NULL "
                    "ORDER BY rowid DESC LIMIT 1"
                ).fetchone()
            finally:
                db.close()
            return None if row is None else (str(row[0]), int(row[1]))
        last = None
        with open(records, "rb") as fh:
            for line in fh:
                if b'"warc_file": "' in line and line.endswith(b"\n"):
                    last = line
        if last is None:
            return None
        row = json.loads(last)
        return str(row["warc_file"]), int(row["warc_offset"])
    except (OSError, sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        raise OutputError(f"cannot resume the archive from {records}: {exc}") from exc


def open_archive(
    path: str,
    *,
    dedup: bool = False,
    max_size: int | None = None,
    resume: bool = False,
    records: str | None = None,
) -> ArchiveWriter:
    """The writer of the archive ``path``: a new one, or (``resume``) the old one cut back to
    the last response the records output ``records`` points at."""
    writer = ArchiveWriter(path, dedup=dedup, max_size=max_size)
    try:
        files = existing(path, max_size)
        last = last_location(records) if resume and files else None
        if last is None:
            writer.start_new()  # nothing recorded points into the old archive: start again
            return writer
        _continue(writer, files, last)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return writer


def _continue(writer: ArchiveWriter, files: list[str], last: tuple[str, int]) -> None:
    name, offset = last
    names = [os.path.basename(f) for f in files]
    if name not in names:
        raise OutputError(
            f"cannot resume: the records point into {name}, which is not among the archive's "
            f"files ({', '.join(names)}); use --overwrite to start again"
        )
    k = names.index(name)
    key = surt_of()
    lines: list[str] = []
    size = 0
    info_id = ""
    for i, path in enumerate(files[: k + 1]):
        members = scan_all(path).members
        if i == k:
            cut = next((j for j, m in enumerate(members) if m.offset == offset), None)
            if cut is None or members[cut].kind not in ("response", "revisit"):
                raise OutputError(
                    f"cannot resume: {name} has no response record at offset {offset}, where "
                    "the records output says one is; use --overwrite to start again"
                )
            members = members[: cut + 1]
            size = offset + members[-1].length
            if members[0].kind == "warcinfo" and members[0].record_id:
                info_id = members[0].record_id
        for m in members:
            if m.kind not in ("response", "revisit") or m.target is None:
                continue
            digest = m.payload_digest
            if m.kind == "response" and digest and digest != _EMPTY:
                writer.seen.setdefault(digest, (m.target, m.date or "", m.record_id or ""))
            status, mime = head_fields(m.http_head)
            lines.append(
                cdxj_line(
                    key, url=m.target, date=m.date or "", kind=m.kind, status=status, mime=mime,
                    digest=digest, length=index_length(m.length, gzip=path.endswith(".gz")),
                    offset=m.offset, filename=names[i],
                )
            )  # fmt: skip
    for later in files[k + 1 :]:
        os.unlink(later)
    writer.continue_at(k, size, info_id, "".join(lines))


def archiving(
    path: str,
    config: Config,
    writer: Writer,
    records: str | None,
    *,
    resume: bool,
    dedup: bool,
    max_size: int | None,
) -> tuple[Config, Writer]:
    """The run's config and writer when it archives: the config hands each URL's captures
    to the archive, whose writer feeds the records output ``writer``. On failure here the
    records output is closed."""
    try:
        archive = open_archive(path, dedup=dedup, max_size=max_size, resume=resume, records=records)
    except BaseException:
        writer.close()
        raise
    return dataclasses.replace(config, archive=archive), archive.start(writer)
