"""``curl``: libcurl's multi interface (pycurl) — the network loop runs in C.

One thread, one multi handle, at most ``concurrency`` easy handles, each reused from
URL to URL (and its connection with it). The loop has three places, kept apart so that
more policy can hook in without touching the transport:

* :func:`_launch` starts the next URL on a free handle (a scheduler for per-host or rate
  limits would decide here *whether* and *when* to start it);
* :func:`_outcome` decides what an ended request means: a record, or the next URL of a
  redirect (a retry decision would go here, returning a delay instead);
* :func:`run` owns the handles and hands records over in batches.

Redirects are followed by fetchpool, not libcurl: ``_policy.redirect_target`` decides,
exactly as in the other modes (a loop, a non-http(s) target or too many → ``redirect:``).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable

from ..config import Config
from ..records import Record, error_record
from ._curl import WRITE_ERROR, Transfer, Transfers, classify
from ._policy import REDIRECT_STATUSES, invalid_record, redirect_target

__all__ = ["run"]

#: Longest wait for network events before the loop looks around again (seconds).
_TICK = 0.5


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    transfers = Transfers(config)
    idle: list[Transfer] = []
    limit = config.concurrency
    source = iter(urls)
    exhausted = False
    ready: list[Record] = []
    try:
        while True:
            # Start URLs while a handle is free; a bad URL becomes its record at once. Stop
            # reading while `limit` records wait, so memory stays O(concurrency).
            while not exhausted and transfers.running < limit and len(ready) < limit:
                url = next(source, None)
                if url is None:
                    exhausted = True
                    break
                bad = invalid_record(url)
                if bad is not None:
                    ready.append(bad)
                    continue
                transfer = idle.pop() if idle else transfers.new()
                transfer.begin(url)
                record = _launch(transfers, transfer, url, config)
                if record is not None:
                    ready.append(record)
                    idle.append(transfer)
            if ready:
                batch, ready = ready, []
                yield from batch
                continue
            if not transfers.running:
                return
            for transfer, code, message in transfers.finished(_TICK):
                outcome = _outcome(transfer, code, message, config)
                if isinstance(outcome, Record):
                    ready.append(outcome)
                    idle.append(transfer)
                    continue
                record = _launch(transfers, transfer, outcome, config)
                if record is not None:
                    ready.append(record)
                    idle.append(transfer)
    except KeyboardInterrupt:
        yield from ready  # hand over what finished, then let the interrupt through
        raise
    finally:
        transfers.close()


def _launch(transfers: Transfers, transfer: Transfer, target: str, config: Config) -> Record | None:
    """Start a request for ``target`` (the URL itself or a redirect's target); a record
    when it cannot start (no time left, or a URL libcurl cannot be given)."""
    remaining = transfer.start + config.timeout - time.perf_counter()
    if remaining <= 0:
        return _error(transfer, "timeout", f"no answer within {config.timeout:g} s")
    try:
        transfer.request(target, remaining)
    except UnicodeError as exc:
        return _error(transfer, "invalid-url", f"cannot encode the host: {exc}")
    transfers.add(transfer)
    return None


def _outcome(transfer: Transfer, code: int, message: str, config: Config) -> Record | str:
    """What an ended request means: the URL's record, or the next URL to request."""
    status = transfer.status()
    if code:
        if code == WRITE_ERROR and transfer.over_cap():
            return _error(transfer, "too-large", f"body over {transfer.cap} bytes")
        kind, detail = classify(code, message, status > 0, config.timeout)
        return _error(transfer, kind, detail)
    if status in REDIRECT_STATUSES:
        location = transfer.redirect_url()
        if location:
            target, why = redirect_target(
                transfer.current, location, transfer.seen, config.max_redirects
            )
            if target is None:
                return _error(transfer, "redirect", why or "refused")
            return target
    return Record(
        url=transfer.url,
        status=status,
        length=transfer.length,
        elapsed=time.perf_counter() - transfer.start,
        final_url=transfer.current,
        content_type=transfer.content_type(),
        attempts=transfer.attempts,
    )


def _error(transfer: Transfer, kind: str, detail: str) -> Record:
    elapsed = time.perf_counter() - transfer.start
    return error_record(transfer.url, kind, detail, elapsed=elapsed, attempts=transfer.attempts)
