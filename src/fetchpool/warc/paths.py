"""The names of an archive's files and of its index."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from ..errors import UsageError

__all__ = ["archive_paths", "existing", "split"]

_EXTS: Final = (".warc.gz", ".warc")


def split(path: str) -> tuple[str, str]:
    for ext in _EXTS:
        if path.endswith(ext) and len(path) > len(ext):
            return path[: -len(ext)], ext
    raise UsageError(f"--warc {path!r}: the archive's name must end in .warc.gz or .warc")


def archive_paths(path: str, max_size: int | None) -> tuple[Callable[[int], str], str]:
    """The name of archive file n (the given name, or ``NAME-00000.warc.gz`` when files roll
    over) and the index's path (``NAME.cdxj``)."""
    stem, ext = split(path)
    if max_size is None:
        return (lambda n: path), stem + ".cdxj"
    return (lambda n: f"{stem}-{n:05d}{ext}"), stem + ".cdxj"


def existing(path: str, max_size: int | None) -> list[str]:
    """The archive files of ``path`` that exist, in order."""
    name, _ = archive_paths(path, max_size)
    found = []
    n = 0
    while os.path.exists(name(n)):
        found.append(name(n))
        if max_size is None:
            break
        n += 1
    return found
