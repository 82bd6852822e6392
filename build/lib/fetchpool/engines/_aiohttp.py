"""The asyncio fetcher: one aiohttp session, used by the ``async`` mode."""

from __future__ import annotations

import asyncio
import socket
import time
from types import TracebackType

import aiohttp

from ..config import Config
from ..extract import new_extraction
from ..records import Record, error_record
from ._policy import REDIRECT_STATUSES, invalid_record, reason, redirect_target

__all__ = ["AsyncFetcher"]


class AsyncFetcher:
    """Fetches URLs on one event loop; use as ``async with AsyncFetcher(config) as f``."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AsyncFetcher:
        cfg = self._config
        connector = aiohttp.TCPConnector(limit=cfg.concurrency, limit_per_host=0, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=dict(cfg.headers),
            cookie_jar=aiohttp.DummyCookieJar(),  # each URL is fetched as a stranger
            auto_decompress=True,
            skip_auto_headers=("User-Agent",) if "User-Agent" in cfg.headers else (),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(self, url: str) -> Record:
        """The record for ``url``: never raises for anything the network or server does."""
        bad = invalid_record(url)
        if bad is not None:
            return bad
        start = time.perf_counter()
        try:
            return await self._fetch(url, start)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a per-URL failure is data, whatever it is
            return _error(url, "internal", f"{type(exc).__name__}: {exc}", start)

    async def _fetch(self, url: str, start: float) -> Record:
        cfg = self._config
        session = self._session
        assert session is not None, "use AsyncFetcher in 'async with'"
        deadline = start + cfg.timeout
        current, seen = url, {url}
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return _error(url, "timeout", f"no answer within {cfg.timeout:g} s", start)
            phase = "headers"
            try:
                async with session.get(
                    current,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=remaining),
                ) as resp:
                    location = resp.headers.get("Location")
                    if location and resp.status in REDIRECT_STATUSES:
                        nxt, why = redirect_target(current, location, seen, cfg.max_redirects)
                        if nxt is None:
                            return _error(url, "redirect", why or "refused", start)
                        current = nxt
                        continue
                    phase = "body"
                    length = 0
                    extraction = new_extraction(cfg.extract, resp.headers.get("Content-Type"))
                    async for chunk in resp.content.iter_any():
                        length += len(chunk)
                        if extraction is not None:
                            extraction.feed(chunk)
                        if cfg.max_bytes is not None and length > cfg.max_bytes:
                            resp.close()
                            return _error(
                                url, "too-large", f"body over {cfg.max_bytes} bytes", start
                            )
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
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                kind, detail = classify(exc, phase, cfg.timeout)
                return _error(url, kind, detail, start)


def _error(url: str, kind: str, detail: str, start: float) -> Record:
    return error_record(url, kind, detail, elapsed=time.perf_counter() - start, attempts=1)


def classify(exc: BaseException, phase: str, timeout: float) -> tuple[str, str]:
    """An aiohttp exception as an error kind and a detail. ``phase``: headers or body."""
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError and aiohttp's timeouts
        return "timeout", f"no complete answer within {timeout:g} s (waiting for the {phase})"
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid-url", reason(exc)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "tls", reason(exc)
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, socket.gaierror) or type(exc).__name__.endswith("DNSError"):
            return "dns", f"cannot resolve {exc.host}"
        return "connect", reason(exc.os_error)
    if isinstance(exc, aiohttp.ClientPayloadError):
        if "encoding" in str(exc).lower() or "decompress" in str(exc).lower():
            return "protocol", f"bad content encoding: {reason(exc)}"
        return "truncated", f"body ended early ({reason(exc)})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        if phase == "body":
            return "truncated", "server disconnected mid-body"
        return "connect", "server closed the connection without a response"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "protocol", f"not a valid HTTP response: {reason(exc)}"
    if isinstance(exc, aiohttp.ClientOSError | OSError):
        what = "connection reset" if isinstance(exc, ConnectionResetError) else "socket error"
        if phase == "body":
            return "truncated", f"{what} mid-body"
        return "connect", f"{what}: {reason(exc)}"
    if isinstance(exc, aiohttp.ClientError):
        return "protocol", reason(exc)
    return "internal", f"{type(exc).__name__}: {exc}"
