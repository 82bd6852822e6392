"""The CDXJ index of an archive, one line per ``response`` and ``revisit`` record, the same
text ``cdxj-indexer`` writes for the same files (unsorted, in archive order):
``SURT 14-digit-timestamp {"url", "mime", "status", "digest", "length", "offset", "filename"}``.

The run writes it in the same pass as the archive (``FILE.cdxj`` beside ``FILE.warc.gz``);
``fetchpool index FILE...`` writes it from the files (:func:`index_files`). The SURT form of
a URL is the ``surt`` package's, as cdxj-indexer's and pywb's (``fetchpool[warc]``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import IO, Final

from ..errors import UsageError

__all__ = ["cdxj_line", "head_fields", "index_files", "index_to", "surt_of"]

_SPACE: Final = re.compile(r"[;\s]")


def surt_of() -> Callable[[str], str]:
    """The SURT function, or UsageError naming the extra it comes with.

    The ``surt`` package is imported when a URL first needs it: it loads tldextract and its
    suffix list (a quarter of a second), and the plain URLs of most runs never do."""
    import importlib.util

    if importlib.util.find_spec("surt") is None:
        raise UsageError(
            "--warc writes a CDXJ index, which needs the surt package: "
            "pip install 'fetchpool[warc]'"
        )

    def slow(url: str) -> str:
        import surt

        try:
            return str(surt.surt(url))
        except Exception:  # as cdxj-indexer: the URL itself when it cannot be SURT'd
            return url

    def key(url: str) -> str:
        fast = _simple_surt(url)
        return slow(url) if fast is None else fast

    return key


#: A URL whose SURT is simple to make: lower-case host of plain labels, a plain path.
_SIMPLE: Final = re.compile(
    r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([1-9][0-9]{0,4}))?(/[A-Za-z0-9._~/-]*)?"
)
_DEFAULT_PORT: Final = {"http": "80", "https": "443"}
_QUAD: Final = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                          r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")  # fmt: skip


def _simple_surt(url: str) -> str | None:
    """The SURT of a plain URL (``http://host:port/path``), as ``surt.surt`` makes it, made
    25 times faster; None for any other URL (``surt`` makes those). A test holds the two
    equal on generated URLs."""
    m = _SIMPLE.fullmatch(url)
    if m is None:
        return None
    scheme, host, port, path = m.groups()
    if host.startswith("www") or (host.replace(".", "").isdigit() and not _QUAD.fullmatch(host)):
        return None  # www stripping, numeric hosts: surt's canonicalizer
    if "0x" in host:
        return None
    path = (path or "/").lower()
    if "//" in path or "/." in path:
        return None  # dot segments and empty ones are resolved by surt
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    host = ",".join(reversed(host.split(".")))
    if port is not None and port != _DEFAULT_PORT[scheme]:
        host += ":" + port
    return host + ")" + path


def _text(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("iso-8859-1")


#: A head with a plain status line and no continuation lines, and its first Content-Type.
_PLAIN_STATUS: Final = re.compile(rb"HTTP/[0-9.]+ +([0-9]{3})(?=[ \r\n])")
_CONTENT_TYPE: Final = re.compile(
    rb"\ncontent-type[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?\n", re.IGNORECASE
)


def head_fields(head: bytes) -> tuple[str | None, str | None]:
    """The status code and the first Content-Type of an HTTP response head, read as warcio
    reads them (so the index says what readers see)."""
    status = _PLAIN_STATUS.match(head)
    if status is not None and b"\n " not in head and b"\n\t" not in head and head.isascii():
        # the common head, read in two searches (a test holds it equal to the full reading)
        end = head.find(b"\r\n\r\n")
        mime = _CONTENT_TYPE.search(head, 0, len(head) if end < 0 else end + 2)
        return status[1].decode(), None if mime is None else mime[1].decode().strip()
    return _head_fields(head)


def _head_fields(head: bytes) -> tuple[str | None, str | None]:
    lines = head.split(b"\n")
    status_line = _text(lines[0]).rstrip()
    parts = status_line.split(" ", 1)
    status = parts[1].strip().split(" ", 1)[0] if len(parts) > 1 else ""
    mime = None
    i = 1
    while i < len(lines):
        line = _text(lines[i]).rstrip()
        if not line:
            break
        i += 1
        name, sep, value = line.partition(":")
        while i < len(lines):  # continuation lines
            nxt = _text(lines[i]).rstrip()
            if not nxt.startswith((" ", "\t")):
                break
            value += nxt
            i += 1
        if sep and name.rstrip(" \t").lower() == "content-type":
            mime = value.lstrip()
            break
    return status, mime


def index_length(length: int, *, gzip: bool) -> int:
    """The ``length`` the index gives a record of ``length`` bytes in the file: a gzip
    member whole, a plain record without its closing CRLF CRLF (as warcio counts it)."""
    return length if gzip else length - 4


def timestamp(warc_date: str) -> str:
    """``2024-05-01T12:34:56.123456Z`` -> ``20240501123456``."""
    d = warc_date
    if len(d) >= 19 and d[4] == d[7] == "-" and d[10] == "T" and d[13] == d[16] == ":":
        stamp = d[0:4] + d[5:7] + d[8:10] + d[11:13] + d[14:16] + d[17:19]  # the writer's own
        if stamp.isdigit():
            return stamp
    digits = re.sub(r"\D", "", warc_date.split(".", 1)[0])
    return (digits + "00000000000000")[:14]


#: Text that json.dumps writes as it is, between quotes: printable ASCII but " and \.
_JSON_PLAIN: Final = re.compile(r"[ !#-\[\]-~]*")


def cdxj_line(
    key: Callable[[str], str],
    *,
    url: str,
    date: str,
    kind: str,
    status: str | None,
    mime: str | None,
    digest: str | None,
    length: int,
    offset: int,
    filename: str,
) -> str:
    """One index line (with its newline), field for field as cdxj-indexer writes it."""
    if mime is not None and kind != "revisit" and mime:
        mime = _SPACE.split(mime, 1)[0].strip()
    plain = _JSON_PLAIN.fullmatch
    if (
        kind != "revisit" and mime is not None and status is not None and digest is not None
        and plain(url) and plain(mime) and plain(status) and plain(digest) and plain(filename)
    ):  # fmt: skip
        # the common line, written as json.dumps writes it (a test holds the two equal)
        return (
            f'{key(url)} {timestamp(date)} {{"url": "{url}", "mime": "{mime}", '
            f'"status": "{status}", "digest": "{digest}", "length": "{length}", '
            f'"offset": "{offset}", "filename": "{filename}"}}\n'
        )
    entry: dict[str, str] = {"url": url}
    if kind == "revisit":
        entry["mime"] = "warc/revisit"
    elif mime is not None:
        entry["mime"] = mime
    if status is not None:
        entry["status"] = status
    if digest is not None:
        entry["digest"] = digest
    entry["length"] = str(length)
    entry["offset"] = str(offset)
    entry["filename"] = filename
    return f"{key(url)} {timestamp(date)} {json.dumps(entry)}\n"


def index_files(paths: Iterable[str], out: IO[str]) -> int:
    """Write the index of the archive files ``paths`` to ``out``; return the lines written."""
    import os

    from .scan import scan

    key = surt_of()
    count = 0
    for path in paths:
        name = os.path.basename(path)
        for m in scan(path):
            if m.kind in ("response", "revisit") and m.target is not None:
                status, mime = head_fields(m.http_head)
                out.write(
                    cdxj_line(
                        key, url=m.target, date=m.date or "", kind=m.kind, status=status,
                        mime=mime, digest=m.payload_digest,
                        length=index_length(m.length, gzip=path.endswith(".gz")), offset=m.offset,
                        filename=name,
                    )
                )  # fmt: skip
                count += 1
    return count


def index_to(paths: Iterable[str], output: str | None, out: IO[str]) -> int:
    """:func:`index_files` into the file ``output`` (replaced), or onto ``out`` when None."""
    if output is None:
        return index_files(paths, out)
    with open(output, "w", encoding="utf-8") as fh:
        return index_files(paths, fh)
