"""The policy of a run: one frozen object, applied the same way by every engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from . import __version__
from .errors import UsageError
from .extract import parse_extract

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_MODE",
    "DEFAULT_TIMEOUT",
    "MODES",
    "USER_AGENT",
    "Config",
]

#: Every way of running, in the order the lesson teaches them.
MODES: Final[tuple[str, ...]] = (
    "sequential",
    "threadpool",
    "to-thread",
    "threading",
    "async",
    "processes",
)
DEFAULT_MODE: Final = "async"
DEFAULT_CONCURRENCY: Final = 32
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_REDIRECTS: Final = 10
USER_AGENT: Final = f"fetchpool/{__version__}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """How to fetch: limits and request settings. Validated on creation.

    ``timeout`` bounds each request end to end (connect, headers and the whole body).
    ``max_bytes`` stops reading a body past that many bytes after content decoding (None: no cap).
    ``headers`` are sent with every request; a ``User-Agent`` among them replaces fetchpool's.
    ``extract`` names fields computed from each body (see :data:`fetchpool.extract.EXTRACTORS`).
    ``processes`` is the number of worker processes of the ``processes`` mode
    (None: one per usable core; never more than ``concurrency``).
    """

    mode: str = DEFAULT_MODE
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    max_bytes: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    extract: tuple[str, ...] = ()
    processes: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"unknown mode {self.mode!r}; choose one of: {', '.join(MODES)}")
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int):
            raise UsageError(f"concurrency must be a whole number, not {self.concurrency!r}")
        if self.concurrency < 1:
            raise UsageError(f"concurrency must be at least 1, not {self.concurrency}")
        if not self.timeout > 0:
            raise UsageError(f"timeout must be a positive number of seconds, not {self.timeout}")
        if self.max_redirects < 0:
            raise UsageError(f"max_redirects must be 0 or more, not {self.max_redirects}")
        if self.max_bytes is not None and self.max_bytes < 0:
            raise UsageError(f"max_bytes must be 0 or more, not {self.max_bytes}")
        object.__setattr__(self, "extract", parse_extract(self.extract))
        if self.processes is not None and (
            isinstance(self.processes, bool)
            or not isinstance(self.processes, int)
            or self.processes < 1
        ):
            raise UsageError(f"processes must be a whole number, 1 or more, not {self.processes!r}")
        merged = {"User-Agent": USER_AGENT}
        for name, value in self.headers.items():
            for known in list(merged):
                if known.lower() == name.lower():
                    del merged[known]
            merged[name] = value
        object.__setattr__(self, "headers", MappingProxyType(merged))


def parse_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` -> ``('Name', 'value')``; a bad line raises UsageError."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(c in name for c in " \t\r\n"):
        raise UsageError(f"bad header {text!r}; write it as 'Name: value'")
    if "\r" in value or "\n" in value:
        raise UsageError(f"bad header {text!r}: a value cannot hold a line break")
    return name, value.strip()
