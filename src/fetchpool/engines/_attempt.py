"""One attempt at one URL: the narrow interface between the scheduler and a fetcher.

A fetcher makes one attempt (redirects included, under one deadline) and returns an
:class:`Outcome`; it never raises for anything the network or the server does. The
scheduler decides what happens next (a retry, a record). ``FakeFetcher`` answers from a
function, so scheduling and retry logic can be tested without sockets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..records import ERROR_KINDS

__all__ = ["AsyncAttempt", "BlockingAttempt", "FakeFetcher", "Outcome", "safe_attempt"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt gave: a response (``status`` set) or an error (``kind`` set)."""

    status: int | None = None
    length: int | None = None
    final_url: str | None = None
    content_type: str | None = None
    retry_after: str | None = None  # the response's Retry-After header, as sent
    kind: str | None = None  # an error kind from records.ERROR_KINDS
    detail: str = ""

    @classmethod
    def failed(cls, kind: str, detail: str) -> Outcome:
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        return cls(kind=kind, detail=detail)


class BlockingAttempt(Protocol):
    def attempt(self, url: str) -> Outcome: ...


class AsyncAttempt(Protocol):
    async def attempt(self, url: str) -> Outcome: ...


class FakeFetcher:
    """A fetcher that answers with ``answer(url, n)``, n counting attempts at that URL from 1."""

    def __init__(self, answer: Callable[[str, int], Outcome]) -> None:
        self._answer = answer
        self.attempts: dict[str, int] = {}

    def attempt(self, url: str) -> Outcome:
        n = self.attempts[url] = self.attempts.get(url, 0) + 1
        return self._answer(url, n)


def safe_attempt(attempt: Callable[[str], Outcome], url: str) -> Outcome:
    """``attempt(url)``, with a bug in it turned into an ``internal`` outcome, never lost."""
    try:
        return attempt(url)
    except Exception as exc:
        return Outcome.failed("internal", f"{type(exc).__name__}: {exc}")
