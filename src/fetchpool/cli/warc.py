"""The archive's flags of ``fetchpool fetch`` (``--warc`` and friends) and ``fetchpool index``."""

from __future__ import annotations

import argparse
import re
from typing import IO, Any

__all__ = ["add_index", "add_warc_flags", "run_index", "size"]

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def size(text: str) -> int:
    """``1000``, ``500K``, ``100M``, ``1G`` (powers of 1024; a trailing ``B``/``iB`` allowed)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (like 1000, 500K, 100M, 1G)")
    return int(float(match[1]) * _UNITS[match[2].lower()])


def add_warc_flags(f: argparse.ArgumentParser) -> None:
    f.add_argument(
        "--warc",
        metavar="FILE",
        help="also archive every request and response, exactly as sent and received, in "
        "FILE (.warc.gz: one gzip member per record, or .warc), with its CDXJ index beside "
        "it (FILE without .warc.gz, plus .cdxj); each record's warc_file and warc_offset say "
        "where its response lies (curl mode only; see README)",
    )
    f.add_argument(
        "--warc-dedup",
        action="store_true",
        help="a payload already archived in this run gets a revisit record instead of a copy",
    )
    f.add_argument(
        "--warc-max-size",
        type=size,
        metavar="SIZE",
        help="start a new archive file past SIZE bytes (500M, 1G): FILE-00000.warc.gz, "
        "FILE-00001.warc.gz, ...",
    )


def add_index(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "index",
        help="write the CDXJ index of WARC files",
        description="Write the CDXJ index of WARC files (one line per response and revisit "
        "record, as cdxj-indexer writes it), in the files' order.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="a .warc.gz or .warc file")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write the index to FILE (default: stdout)"
    )


def run_index(args: argparse.Namespace, out: IO[str]) -> int:
    from ..errors import SourceError
    from ..warc.index import index_to

    try:
        index_to(args.files, args.output, out)
    except OSError as exc:
        raise SourceError(f"cannot index: {exc.strerror or exc}: {exc.filename}") from exc
    return 0
