"""The asyncio fetcher: one aiohttp session, used by the ``async`` mode.

One call to :meth:`AsyncFetcher.get` is one GET (redirects are the scheduler's), bounded
end to end by its timeout with ``asyncio.timeout`` (which cancels a name lookup, a stalled
read or a drip alike; the lookups run on the resolver's threads, :mod:`.aioresolve`, so an
abandoned one holds none of the loop's). Sockets stay bounded by the concurrency: at most
``concurrency`` connections in use, ``min(per_host, concurrency)`` to one host, and at most
``concurrency`` idle keep-alive connections kept, the oldest closed first.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections import deque
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from ..bodies.hook import no_sink, opened
from ..config import Config
from ..core.outcome import Outcome
from ..core.redirects import REDIRECT_STATUSES
from ..urls import origin, without_userinfo
from .aioresolve import PoolResolver
from .body import BodyReader
from .deadline import Deadline
from .keep import kept_connections
from .proxies import (
    Proxies,
    from_env,
    os_reason,
    over_tls,
    proxy_tls_failed,
    tunnel_refused,
    unreachable,
)
from .request import CREDENTIALS, reason, request_headers, without_credentials
from .resolve import Resolver, pool_size
from .tls import ResumingContext, resuming_context_for, tls_reason

__all__ = ["AsyncFetcher", "classify"]


class _Phase:
    """Where an attempt is, for the detail of a timeout."""

    __slots__ = ("name",)

    def __init__(self) -> None:
        self.name = "headers"


class AsyncFetcher:
    """Makes attempts on one event loop; use as ``async with AsyncFetcher(config) as f``."""

    def __init__(self, config: Config, proxies: Proxies | None = None) -> None:
        self._config = config
        self._sink = config.body_sink or no_sink
        self._proxies = (
            proxies if proxies is not None else (from_env() if config.trust_env else Proxies())
        )
        self._session: aiohttp.ClientSession | None = None
        self._resolver = Resolver(pool_size(config.concurrency))
        self._tls = resuming_context_for(config)
        # The session sends the headers every request gets; the credentials go with each
        # request to the input's origin (None: there are none, the common case).
        headers = request_headers(config)
        self._headers = without_credentials(headers)
        self._credentials = {k: v for k, v in headers.items() if k.lower() in CREDENTIALS} or None
        self._has_auth = self._credentials is not None and any(
            k.lower() == "authorization" for k in self._credentials
        )

    async def __aenter__(self) -> AsyncFetcher:
        cfg = self._config
        connector = _BoundedConnector(
            idle_cap=kept_connections(cfg.concurrency),
            limit=cfg.concurrency,
            limit_per_host=min(cfg.per_host, cfg.concurrency),
            # The resolver caches answers for the run and shares a name's lookup among its
            # callers; aiohttp's own cache would shield each lookup from cancellation, so an
            # abandoned one could never be dropped from the resolver's queue.
            use_dns_cache=False,
            resolver=PoolResolver(self._resolver),
            ssl=self._tls,  # the run's one context, resuming sessions (see .tls)
        )
        headers = self._headers
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=headers,
            cookie_jar=aiohttp.DummyCookieJar(),  # each URL is fetched as a stranger
            auto_decompress=False,  # decoded here, in bounded steps (see .body and .decode)
            trust_env=False,  # proxies come from fetchpool.transports.proxies, as in every mode
            skip_auto_headers=("User-Agent",) if "User-Agent" in headers else (),
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

    async def get(
        self, url: str, timeout: float, foreign: bool = False, origin: str | None = None
    ) -> Outcome:
        """One GET of ``url`` within ``timeout`` seconds (``foreign``: without the
        credentials headers): never raises for anything the network or the server does.
        aiohttp sends a ``user:password@`` of the URL as Basic auth, as curl does, unless
        an Authorization header is sent (it wins, as in curl). ``origin``: the input URL
        (``url`` may be where it redirected), the one the body sink is told."""
        phase = _Phase()
        credentials = None if foreign else self._credentials
        if credentials is not None and self._has_auth and "@" in url:
            url = without_userinfo(url)  # aiohttp refuses both at once
        try:
            async with asyncio.timeout(timeout):
                return await self._get(url, Deadline(timeout), phase, credentials, origin or url)
        except TimeoutError:
            if phase.name == "headers" and self._resolver.looking_up(urlsplit(url).hostname):
                phase.name = "name lookup"  # no answer for the name in time: abandoned
            return _timed_out(timeout, f"the {phase.name}")
        except Exception as exc:  # a per-URL failure is data, whatever it is
            return Outcome.failed("internal", f"{type(exc).__name__}: {exc}")

    async def _get(
        self,
        url: str,
        deadline: Deadline,
        phase: _Phase,
        headers: dict[str, str] | None,
        origin: str,
    ) -> Outcome:
        cfg = self._config
        session = self._session
        assert session is not None, "use AsyncFetcher in 'async with'"
        proxy = self._proxies.for_url(url)
        try:
            async with session.get(
                url,
                allow_redirects=False,
                headers=headers,
                proxy=proxy,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=deadline.connect(cfg.connect_timeout)
                ),
            ) as resp:
                location = resp.headers.get("Location")
                v = resp.version
                version = None if v is None else f"{v.major}.{v.minor}"
                if location and resp.status in REDIRECT_STATUSES:
                    return Outcome(status=resp.status, location=location, http_version=version)
                phase.name = "body"
                content_type = resp.headers.get("Content-Type")
                with opened(self._sink(origin, content_type)) as sink:
                    body = BodyReader(sink, resp.headers.get("Content-Encoding"), cfg.max_bytes)
                    async for raw in resp.content.iter_any():
                        if (failed := body.feed(raw)) is not None:
                            resp.close()  # never hand a half-read connection back
                            return failed
                    if (failed := body.finish()) is not None:
                        return failed
                    return Outcome(
                        status=resp.status,
                        length=body.length,
                        content_type=content_type,
                        retry_after=resp.headers.get("Retry-After"),
                        body=sink.keep(),
                        http_version=version,
                    )
        except asyncio.CancelledError:
            raise
        except aiohttp.ClientHttpProxyError as exc:  # the proxy answered CONNECT, not 200
            return tunnel_refused(proxy or "", exc.status)
        except aiohttp.ClientProxyConnectionError as exc:
            err = exc.os_error  # its strerror is aiohttp's "Connect call failed (...)"
            why = os.strerror(err.errno) if err.errno else os_reason(str(err))
            return unreachable(proxy or "", why)
        except aiohttp.ClientSSLError as exc:
            if proxy and _is_proxy(proxy, exc.host, exc.port):  # TLS with the proxy itself
                return proxy_tls_failed(proxy, tls_reason(exc) or reason(exc))
            kind, detail = classify(exc, phase.name, cfg.timeout)
            return Outcome.failed(kind, detail)
        except Exception as exc:
            kind, detail = classify(exc, phase.name, cfg.timeout)
            return Outcome.failed(kind, detail)


def _is_proxy(proxy: str, host: str, port: int | None) -> bool:
    """Whether ``host:port`` (where a connection failed) is the ``https://`` proxy's."""
    if not over_tls(proxy):
        return False
    _, proxy_host, proxy_port = origin(proxy)
    return proxy_host == host.strip("[]").lower().rstrip(".") and proxy_port == port


def _timed_out(timeout: float, waiting_for: str) -> Outcome:
    return Outcome.failed("timeout", f"no complete answer within {timeout:g} s ({waiting_for})")


class _BoundedConnector(aiohttp.TCPConnector):
    """aiohttp limits connections in use but keeps idle keep-alive ones per host for 15 s,
    without a total: a run over many hosts would pile up open sockets without end. This
    one keeps at most ``idle_cap`` idle (see :mod:`.keep`), closing the oldest."""

    def __init__(self, *, idle_cap: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._idle_cap = idle_cap
        self._releases = 0

    def _release(self, key: Any, protocol: Any, *, should_close: bool = False) -> None:
        transport = protocol.transport
        tls = self._ssl
        if transport is not None and isinstance(tls, ResumingContext):
            # a connection handed back has read its answer, and so the TLS 1.3 ticket sent
            # after the handshake: its session is the one to offer the host's next connection
            tls.keep(transport.get_extra_info("ssl_object"))
        super()._release(key, protocol, should_close=should_close)
        idle: dict[Any, deque[tuple[Any, float]]] = self._conns
        if len(idle) * (self.limit_per_host or self._idle_cap) <= self._idle_cap:
            return  # cannot be over: no need to count
        self._releases += 1
        if self._releases % 32:
            return  # counting walks every host: a few over the cap for a moment is fine
        total = sum(len(q) for q in idle.values())
        while total > self._idle_cap:
            oldest = min(idle, key=lambda k: idle[k][0][1])
            proto, _ = idle[oldest].popleft()
            if not idle[oldest]:
                del idle[oldest]
            proto.close()
            total -= 1


def classify(exc: BaseException, phase: str, timeout: float) -> tuple[str, str]:
    """An aiohttp exception as an error kind and a detail. ``phase``: headers or body."""
    if isinstance(exc, TimeoutError):  # aiohttp's connect timeout
        return "timeout", f"no connection within the time allowed (waiting for the {phase})"
    if isinstance(exc, aiohttp.InvalidURL | UnicodeError):  # UnicodeError: a host IDNA refuses
        return "invalid-url", reason(exc)
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return "connect", f"proxy: {reason(exc.os_error)}"
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
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return "connect", f"proxy answered {exc.status}: {reason(exc)}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "protocol", f"not a valid HTTP response: {reason(exc)}"
    if isinstance(exc, aiohttp.ClientOSError | OSError):
        reset = isinstance(exc, ConnectionResetError) or exc.errno == errno.ECONNRESET
        what = "connection reset" if reset else "socket error"
        if phase == "body":
            return "truncated", f"{what} mid-body"
        return "connect", f"{what}: {reason(exc)}"
    if isinstance(exc, aiohttp.ClientError):
        return "protocol", reason(exc)
    return "internal", f"{type(exc).__name__}: {exc}"
