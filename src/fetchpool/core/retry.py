"""Retry decisions: which outcomes are worth another attempt, and how long to wait first.
Pure functions; the clock and the random source are arguments.
"""

from __future__ import annotations

from .outcome import Outcome

__all__ = [
    "RETRY_ERRORS",
    "RETRY_STATUSES",
    "THROTTLE_STATUS",
    "backoff",
    "parse_retry_after",
    "retryable",
    "server_wait",
]

#: Statuses that say "try again later": timeout, too many requests, server trouble.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Error kinds that may pass: the connection failed, stalled or broke off mid-body.
#: Not retried: dns, tls, protocol, redirect, too-large, invalid-url — another try gives the same.
RETRY_ERRORS = frozenset({"connect", "timeout", "truncated"})
#: The status that also slows the whole host down.
THROTTLE_STATUS = 429


def retryable(outcome: Outcome) -> bool:
    if outcome.kind is not None:
        return outcome.kind in RETRY_ERRORS
    return outcome.status in RETRY_STATUSES


def backoff(attempt: int, base: float, cap: float, rand: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): ``base`` doubling
    each time, at most ``cap``, then jittered to between half and all of it (``rand`` in
    [0, 1)), so clients that failed together do not come back together.
    """
    full = min(cap, base * 2.0 ** min(attempt - 1, 60))
    return full * (0.5 + rand / 2)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """A Retry-After header in seconds from ``now`` (Unix time), or None when absent or
    unreadable. It is either whole seconds (``120``) or an HTTP date; a date in the past is 0.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(int(text[:12]))  # a digit string of any length stays a sane float
    # Imported here: a Retry-After date is rare, and email.utils costs every start 7 ms.
    from datetime import UTC
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, said without a zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def server_wait(outcome: Outcome, now: float, cap: float) -> float | None:
    """What the server's Retry-After asks for, capped at ``cap``; None if it asks nothing."""
    asked = parse_retry_after(outcome.retry_after, now)
    return None if asked is None else min(asked, cap)
