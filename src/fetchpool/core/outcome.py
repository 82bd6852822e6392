"""One request: the narrow interface between the scheduler and a fetcher.

A fetcher makes one GET (no redirects followed) within a time limit, with or without the
credentials (``foreign``: the URL is on another origin than the input's), and returns an
:class:`Outcome`; it never raises for anything the network or the server does. The
scheduler decides what happens next — follow a redirect, retry, or make the record — so
every request, redirect hops included, passes the same limits. ``FakeFetcher`` answers
from a function, so scheduling, redirect and retry logic can be tested without sockets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..bodies.hook import KeptBody
from ..records import ERROR_KINDS

if TYPE_CHECKING:
    from ..warc.capture import Capture

__all__ = ["AsyncGet", "BlockingGet", "FakeFetcher", "Outcome", "safe_get"]


@dataclass(slots=True)
class Outcome:
    """What one request gave: a response (``status`` set) or an error (``kind`` set).
    A redirect (301, 302, 303, 307, 308 with a Location) has ``location`` set instead of
    a body length: the scheduler decides whether and when to follow it.

    Treat it as read-only. It is not frozen only because one is made for every request,
    and a frozen dataclass takes five times as long to make."""

    status: int | None = None
    length: int | None = None
    content_type: str | None = None
    retry_after: str | None = None  # the response's Retry-After header, as sent
    location: str | None = None  # a redirect's Location header, as sent
    kind: str | None = None  # an error kind from records.ERROR_KINDS
    detail: str = ""
    # A whole body handed to a sink (--save-dir), waiting for the scheduler's verdict:
    # `done(record)` if this response makes the record, `discard()` if it is retried.
    body: KeptBody | None = None
    # The exact bytes of this request and its response, when the run archives (--warc).
    capture: Capture | None = None
    # The protocol the response came in: "1.1", "2" (None: no response).
    http_version: str | None = None

    @classmethod
    def failed(cls, kind: str, detail: str) -> Outcome:
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        return cls(kind=kind, detail=detail)


# ``origin``: the input URL the request is for (``url`` may be where it redirected); the body
# sink is told that one, the record's ``url``, in every mode.
class BlockingGet(Protocol):
    def get(
        self, url: str, timeout: float, foreign: bool = False, origin: str | None = None
    ) -> Outcome: ...


class AsyncGet(Protocol):
    async def get(
        self, url: str, timeout: float, foreign: bool = False, origin: str | None = None
    ) -> Outcome: ...


class FakeFetcher:
    """A fetcher that answers with ``answer(url, n)``, n counting requests for that URL from 1."""

    def __init__(self, answer: Callable[[str, int], Outcome]) -> None:
        self._answer = answer
        self.requests: dict[str, int] = {}

    def get(
        self, url: str, timeout: float, foreign: bool = False, origin: str | None = None
    ) -> Outcome:
        n = self.requests[url] = self.requests.get(url, 0) + 1
        return self._answer(url, n)


def safe_get(
    get: Callable[[str, float, bool, str | None], Outcome],
    url: str,
    timeout: float,
    foreign: bool = False,
    origin: str | None = None,
) -> Outcome:
    """``get(url, timeout, foreign, origin)``, with a bug in it turned into an ``internal``
    outcome, never lost. ``foreign``: the URL is on another origin than the input's (a
    redirect led there): send it no credentials (see
    :attr:`~fetchpool.core.scheduler.Job.foreign`). ``origin``: the input URL, the one the
    body sink is told."""
    try:
        return get(url, timeout, foreign, origin)
    except Exception as exc:
        return Outcome.failed("internal", f"{type(exc).__name__}: {exc}")
