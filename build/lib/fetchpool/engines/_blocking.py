"""The blocking fetcher: one thread-safe urllib3 pool shared by every blocking mode."""

from __future__ import annotations

import http.client
import socket
import ssl
import time

import urllib3
from urllib3 import exceptions as u3

from ..config import Config
from ..extract import new_extraction
from ..records import Record, error_record
from ._policy import REDIRECT_STATUSES, invalid_record, reason, redirect_target

__all__ = ["BlockingFetcher"]

_CHUNK = 64 * 1024


class BlockingFetcher:
    """Fetches one URL at a time per calling thread; safe to call from many threads at once.

    The pool keeps up to ``config.concurrency`` connections per host, so every thread
    of a run can hold one without a new handshake per request.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._pool = urllib3.PoolManager(
            num_pools=max(64, config.concurrency),
            maxsize=config.concurrency,
            block=False,
            retries=False,
            headers=dict(config.headers),
        )

    def close(self) -> None:
        self._pool.clear()

    def fetch(self, url: str) -> Record:
        """The record for ``url``: never raises for anything the network or server does."""
        bad = invalid_record(url)
        if bad is not None:
            return bad
        start = time.perf_counter()
        try:
            return self._fetch(url, start)
        except Exception as exc:  # a per-URL failure is data, whatever it is
            kind, detail = "internal", f"{type(exc).__name__}: {exc}"
            return error_record(url, kind, detail, elapsed=time.perf_counter() - start, attempts=1)

    def _fetch(self, url: str, start: float) -> Record:
        cfg = self._config
        deadline = start + cfg.timeout
        current, seen = url, {url}
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return self._error(url, "timeout", f"no answer within {cfg.timeout:g} s", start)
            phase = "headers"
            try:
                resp = self._pool.request(
                    "GET",
                    current,
                    preload_content=False,
                    redirect=False,
                    retries=False,
                    timeout=urllib3.Timeout(connect=remaining, read=remaining),
                )
                location = resp.headers.get("Location")
                if location and resp.status in REDIRECT_STATUSES:
                    resp.drain_conn()
                    resp.release_conn()
                    nxt, why = redirect_target(current, location or "", seen, cfg.max_redirects)
                    if nxt is None:
                        return self._error(url, "redirect", why or "refused", start)
                    current = nxt
                    continue
                phase = "body"
                length = 0
                extraction = new_extraction(cfg.extract, resp.headers.get("Content-Type"))
                try:
                    for chunk in resp.stream(_CHUNK, decode_content=True):
                        length += len(chunk)
                        if extraction is not None:
                            extraction.feed(chunk)
                        if cfg.max_bytes is not None and length > cfg.max_bytes:
                            resp.close()  # never hand a half-read connection back to the pool
                            return self._error(
                                url, "too-large", f"body over {cfg.max_bytes} bytes", start
                            )
                        if time.perf_counter() > deadline:
                            resp.close()
                            return self._error(
                                url, "timeout", f"body not complete within {cfg.timeout:g} s", start
                            )
                finally:
                    resp.release_conn()
            except Exception as exc:
                kind, detail = classify(exc, phase)
                return self._error(url, kind, detail, start)
            record = Record(
                url=url,
                status=resp.status,
                length=length,
                elapsed=time.perf_counter() - start,
                final_url=current,
                content_type=resp.headers.get("Content-Type"),
                attempts=1,
            )
            return record if extraction is None else extraction.apply(record)

    @staticmethod
    def _error(url: str, kind: str, detail: str, start: float) -> Record:
        return error_record(url, kind, detail, elapsed=time.perf_counter() - start, attempts=1)


def classify(exc: BaseException, phase: str) -> tuple[str, str]:
    """An urllib3 exception as an error kind and a detail. ``phase``: headers or body."""
    if isinstance(exc, u3.NameResolutionError):
        return "dns", f"cannot resolve {exc.conn.host}"
    if isinstance(exc, u3.ReadTimeoutError):
        return "timeout", f"read timed out waiting for the {phase}"
    if isinstance(exc, u3.SSLError):
        return "tls", reason(exc)
    if isinstance(exc, u3.NewConnectionError):  # a subclass of ConnectTimeoutError in urllib3 2
        return "connect", reason(exc).split(": ", 1)[-1]
    if isinstance(exc, u3.ConnectTimeoutError):
        return "timeout", "connect timed out"
    if isinstance(exc, u3.DecodeError):
        return "protocol", f"bad content encoding: {reason(exc)}"
    if isinstance(exc, u3.LocationValueError | u3.LocationParseError):
        return "invalid-url", reason(exc)
    if isinstance(exc, u3.ProtocolError | u3.HTTPError | http.client.HTTPException | OSError):
        inner = exc.args[-1] if exc.args else exc
        if isinstance(inner, http.client.IncompleteRead | u3.IncompleteRead):
            return "truncated", f"body ended early ({reason(inner)})"
        if isinstance(inner, http.client.RemoteDisconnected):
            return "connect", "server closed the connection without a response"
        if isinstance(inner, http.client.BadStatusLine | http.client.LineTooLong):
            return "protocol", f"not an HTTP response: {reason(inner)}"
        if isinstance(inner, ssl.SSLError):
            return "tls", reason(inner)
        if isinstance(inner, socket.timeout | TimeoutError):
            return "timeout", f"read timed out waiting for the {phase}"
        if isinstance(inner, OSError):
            what = "connection reset" if isinstance(inner, ConnectionResetError) else "socket error"
            if phase == "body":
                return "truncated", f"{what} mid-body"
            return "connect", f"{what}: {reason(inner)}"
        if isinstance(exc, http.client.HTTPException):
            return "protocol", reason(exc)
        return ("truncated" if phase == "body" else "protocol"), reason(exc)
    return "internal", f"{type(exc).__name__}: {exc}"
