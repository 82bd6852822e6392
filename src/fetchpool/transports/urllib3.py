"""The blocking fetcher: one thread-safe urllib3 pool shared by every blocking mode.

One call to :meth:`BlockingFetcher.get` is one GET (redirects are the scheduler's), bounded
end to end by its timeout: the watchdog (:mod:`.deadline`) shuts the request's socket at the
deadline, so a server that drips or stalls cannot hold a thread. The name lookup, which no
watchdog can cut, runs on the fetcher's resolver threads (:mod:`.resolve`) and is waited
for until the deadline at most; the connection then goes to the address found, while the
Host header, SNI and certificate check stay on the name.

Sockets stay bounded: each host's pool holds at most ``min(per_host, concurrency)``
connections (and blocks for a free one, a second guard behind the scheduler's per-host
limit); at most :func:`host_pools` host pools are kept (as many as a run keeps
connections), the least recently used closed first; and past that many connections open
(:class:`OpenConnections`, within half the process's descriptors) a finished one is closed
instead of kept.
A new TLS connection to a host seen before resumes the session of the last one
(:class:`~.tls.Resuming`).
"""

from __future__ import annotations

import http.client
import math
import re
import socket
import ssl
import struct
import threading
import time
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import urllib3
from urllib3 import connection as u3conn
from urllib3 import exceptions as u3
from urllib3.util.connection import create_connection

from ..bodies.hook import no_sink, opened
from ..config import Config
from ..core.outcome import Outcome
from ..core.redirects import REDIRECT_STATUSES
from .body import BodyReader
from .deadline import Deadline, Guard, Watchdog
from .decode import CHUNK
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
from .request import basic_auth, reason, request_headers, without_credentials
from .resolve import LookupTimedOut, Resolver, is_ip_literal, pool_size
from .tls import Resuming, context_for, tls_reason

__all__ = ["BlockingFetcher", "OpenConnections", "classify", "host_pools"]

_DRAIN_AT_MOST = 64 * 1024  # a redirect's body is read (to keep the connection) up to this

# .guard: the Guard of the attempt running on this thread; .resolver: its fetcher's resolver
_current = threading.local()


class BlockingFetcher:
    """Makes attempts at URLs; safe to call from many threads at once."""

    def __init__(self, config: Config, proxies: Proxies | None = None) -> None:
        self._config = config
        self._sink = config.body_sink or no_sink
        self._proxies = proxies if proxies is not None else _env_proxies(config)
        per_host = min(config.per_host, config.concurrency)
        # The headers of a request to the input's origin (the pools' own) and to another one.
        self._headers = request_headers(config)
        self._foreign_headers = without_credentials(self._headers)
        self._has_auth = any(k.lower() == "authorization" for k in self._headers)
        # The run's shared context, resuming each host's last TLS session (see .tls).
        self._tls = Resuming(context_for(config))
        if config.insecure:  # asked for: no warning per host on stderr (curl -k prints none)
            urllib3.disable_warnings(u3.InsecureRequestWarning)
        self._pool = _guarded(
            urllib3.PoolManager(
                num_pools=host_pools(config.concurrency, per_host),
                maxsize=per_host,
                block=True,
                retries=False,
                headers=request_headers(config),
                **_tls(config, self._tls),
            )
        )
        self._proxy_pools: dict[str, urllib3.PoolManager] = {}
        self._lock = threading.Lock()
        self._watchdog = Watchdog()
        self._resolver = Resolver(pool_size(config.concurrency))
        self._open = OpenConnections(kept_connections(config.concurrency))

    def close(self) -> None:
        self._watchdog.stop()
        self._pool.clear()
        for pool in self._proxy_pools.values():
            pool.clear()

    def get(
        self, url: str, timeout: float, foreign: bool = False, origin: str | None = None
    ) -> Outcome:
        """One GET of ``url`` within ``timeout`` seconds (``foreign``: without the
        credentials headers): never raises for anything the network or the server does.
        ``origin``: the input URL (``url`` may be where it redirected), the one the body
        sink is told."""
        deadline = Deadline(timeout)
        with self._watchdog.guard(deadline.at) as guard:
            _current.guard = guard
            _current.resolver = self._resolver
            _current.open = self._open
            try:
                headers = self._headers_for(url, foreign)
                return self._get(url, deadline, guard, headers, origin or url)
            except Exception as exc:  # a per-URL failure is data, whatever it is
                if guard.fired:
                    return _timed_out(timeout, "the answer")
                return Outcome.failed("internal", f"{type(exc).__name__}: {exc}")
            finally:
                _current.guard = _current.resolver = _current.open = None

    def _manager(self, url: str) -> urllib3.PoolManager:
        proxy = self._proxies.for_url(url)
        if proxy is None:
            return self._pool
        with self._lock:
            manager = self._proxy_pools.get(proxy)
            if manager is None:
                manager = self._proxy_pools[proxy] = _proxy_manager(proxy, self._config, self._tls)
            return manager

    def _headers_for(self, url: str, foreign: bool) -> dict[str, str] | None:
        """The headers of this request, or None for the pools' own (the common case). A
        ``user:password@`` in the URL is sent as Basic auth, as curl does, unless an
        Authorization header is sent (it wins, as in curl)."""
        headers = self._foreign_headers if foreign else None
        if "@" in url:
            auth = basic_auth(url)
            has_auth = self._has_auth and not foreign
            if auth is not None and not has_auth:
                headers = dict(self._foreign_headers if foreign else self._headers)
                headers["Authorization"] = auth
        return headers

    def _keep_session(self, conn: Any) -> None:
        """Keep a new TLS connection's session for the next one to its host (once per
        connection: reading a session copies it, certificate and all)."""
        sock = getattr(conn, "sock", None)
        if sock is not None and getattr(conn, "fetchpool_session_of", None) is not sock:
            conn.fetchpool_session_of = sock
            self._tls.keep(sock)

    def _get(
        self,
        url: str,
        deadline: Deadline,
        guard: Guard,
        headers: dict[str, str] | None,
        origin: str,
    ) -> Outcome:
        cfg = self._config
        phase = "headers"
        resp: Any = None
        clean = False  # the response was read to its end: its connection may be reused
        try:
            left = deadline.remaining()
            resp = self._manager(url).request(
                "GET",
                url,
                preload_content=False,
                decode_content=False,
                redirect=False,
                retries=False,
                headers=headers,
                timeout=urllib3.Timeout(connect=deadline.connect(cfg.connect_timeout), read=left),
                pool_timeout=left,
            )
            self._keep_session(resp.connection)
            location = resp.headers.get("Location")
            if location and resp.status in REDIRECT_STATUSES:
                clean = _finish_quietly(resp)
                return Outcome(
                    status=resp.status, location=location, http_version=_version(resp.version)
                )
            phase = "body"
            content_type = resp.headers.get("Content-Type")
            with opened(self._sink(origin, content_type)) as sink:
                body = BodyReader(sink, resp.headers.get("Content-Encoding"), cfg.max_bytes)
                while raw := resp.read1(CHUNK, decode_content=False):
                    if (failed := body.feed(raw)) is not None:
                        return failed
                failed = body.finish()
                if failed is not None and failed.kind == "protocol":
                    return failed
                if guard.fired:  # the cut looks like the end of a body sent until close
                    return _timed_out(deadline.seconds, "the body")
                if failed is not None:
                    return failed
                clean = True
                return Outcome(
                    status=resp.status,
                    length=body.length,
                    content_type=content_type,
                    retry_after=resp.headers.get("Retry-After"),
                    body=sink.keep(),
                    http_version=_version(resp.version),
                )
        except Exception as exc:
            if isinstance(exc, LookupTimedOut):
                return _timed_out(deadline.seconds, "the name lookup")
            if guard.fired:
                return _timed_out(deadline.seconds, f"the {phase}")
            if isinstance(exc, u3.ProxyError):
                return _proxy_failed(self._proxies.for_url(url) or "", exc)
            kind, detail = classify(exc, phase)
            return Outcome.failed(kind, detail)
        finally:
            if resp is not None:
                if not clean or self._open.over():
                    # never hand a half-read connection back to the pool, nor one past the
                    # connections a run keeps open
                    resp.close()
                resp.release_conn()  # a closed connection frees its place in the pool


_TUNNEL_FAILED = re.compile(r"Tunnel connection failed: (\d{3})")


def _proxy_failed(proxy: str, exc: u3.ProxyError) -> Outcome:
    """The same outcome as in every mode for a proxy that failed (see :mod:`.proxies`)."""
    text = str(exc.original_error or exc)
    refused = _TUNNEL_FAILED.search(text)
    if refused is not None:
        return tunnel_refused(proxy, int(refused[1]))
    if over_tls(proxy) and (why := tls_reason(exc)) is not None:
        return proxy_tls_failed(proxy, why)
    return unreachable(proxy, os_reason(text))


def _timed_out(timeout: float, waiting_for: str) -> Outcome:
    return Outcome.failed("timeout", f"no complete answer within {timeout:g} s ({waiting_for})")


def _version(number: int) -> str:
    """http.client's version number (11) as the record writes it ("1.1")."""
    return "1.1" if number == 11 else f"{number // 10}.{number % 10}"


def _finish_quietly(resp: Any) -> bool:
    """Done with a redirect: read its body if small, to keep the connection (True)."""
    try:
        declared = int(resp.headers.get("Content-Length", "-1"))
    except ValueError:
        declared = -1
    if 0 <= declared <= _DRAIN_AT_MOST:
        resp.drain_conn()
        return True
    return False


# -- the watchdog's hold on urllib3 connections ------------------------------------


def _watch(conn: Any) -> None:
    """Let the running attempt's guard cut ``conn`` at the deadline — while it is still the
    one using it (a pooled connection moves on to other attempts)."""
    guard: Guard | None = getattr(_current, "guard", None)
    if guard is None:
        return
    conn.fetchpool_guard = guard

    def cut() -> None:
        sock = conn.sock
        if conn.fetchpool_guard is guard and sock is not None:
            # Linger 0: when the fetcher then closes the socket, a reset tells the server
            # at once (a FIN can sit unnoticed behind a full send buffer on its side).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # The base method, so an SSLSocket is shut at the TCP level (no TLS alert
            # written from this thread while another reads).
            socket.socket.shutdown(sock, socket.SHUT_RDWR)

    guard.on_expiry(cut)


def _connect(conn: u3conn.HTTPConnection) -> socket.socket | None:
    """A socket to ``conn``'s host (the proxy, when there is one), its name looked up on
    the fetcher's resolver within the attempt's deadline; None to let urllib3 connect (an
    address, or no attempt running). Raises what urllib3's own ``_new_conn`` raises, and
    LookupTimedOut."""
    resolver: Resolver | None = getattr(_current, "resolver", None)
    guard: Guard | None = getattr(_current, "guard", None)
    host = conn.host
    if resolver is None or guard is None or is_ip_literal(host):
        return None
    try:
        addresses = resolver.resolve(host, guard.at)
    except socket.gaierror as exc:
        raise u3.NameResolutionError(host, conn, exc) from exc
    timeout = conn.timeout
    if isinstance(timeout, int | float):  # what the lookup left of the time
        timeout = min(timeout, max(0.001, guard.at - time.monotonic()))
    error: OSError | None = None
    for _, address in addresses:  # each in turn, as socket.create_connection does
        try:
            return create_connection(
                (address, conn.port),
                timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except OSError as exc:
            error = exc
    if isinstance(error, TimeoutError):
        raise u3.ConnectTimeoutError(
            conn, f"Connection to {host} timed out. (connect timeout={conn.timeout})"
        ) from error
    raise u3.NewConnectionError(conn, f"Failed to establish a new connection: {error}") from error


class OpenConnections:
    """The connections of one fetcher open at once, idle or busy, against how many it keeps
    (:func:`~.keep.kept_connections`): past that, a connection is closed once its response is
    read instead of going back to its host's pool, so the many host pools (:func:`host_pools`)
    never hold more sockets than that, however full each one could get."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.count = 0
        self._lock = threading.Lock()

    def add(self, delta: int) -> None:
        with self._lock:
            self.count += delta

    def over(self) -> bool:
        return self.count > self.keep


def _counted(conn: Any) -> None:
    """Count ``conn``'s new socket against the running attempt's fetcher (see :func:`_uncount`)."""
    counter: OpenConnections | None = getattr(_current, "open", None)
    if counter is not None and getattr(conn, "fetchpool_open", None) is None:
        counter.add(1)
        conn.fetchpool_open = counter


def _uncount(conn: Any) -> None:
    counter: OpenConnections | None = getattr(conn, "fetchpool_open", None)
    if counter is not None:
        conn.fetchpool_open = None
        counter.add(-1)


class _GuardedHTTPConnection(u3conn.HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = _connect(self) or super()._new_conn()
        _counted(self)
        _watch(self)  # covers everything after the TCP connect
        return sock

    def close(self) -> None:
        _uncount(self)
        super().close()

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        if self.sock is not None:  # a connection reused from the pool
            _watch(self)
        super().request(*args, **kwargs)


class _GuardedHTTPSConnection(u3conn.HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = _connect(self) or super()._new_conn()
        _counted(self)
        _watch(self)  # the TLS handshake itself is bounded by the connect timeout per read
        return sock

    def close(self) -> None:
        _uncount(self)
        super().close()

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        if self.sock is not None:
            _watch(self)
        super().request(*args, **kwargs)


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def _guarded(manager: urllib3.PoolManager) -> urllib3.PoolManager:
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager


def _proxy_manager(proxy: str, config: Config, tls: Resuming) -> urllib3.PoolManager:
    parts = urlsplit(proxy)
    proxy_headers = None
    if parts.username is not None:
        auth = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        proxy_headers = urllib3.make_headers(proxy_basic_auth=auth)
    return _guarded(
        urllib3.ProxyManager(
            proxy,
            num_pools=host_pools(config.concurrency, config.per_host),  # CONNECT: a pool a host
            headers=request_headers(config),
            proxy_headers=proxy_headers,
            maxsize=config.concurrency,  # every proxied request shares the proxy's pool
            block=True,
            retries=False,
            # an https:// proxy is trusted as the servers are (urllib3 would use the system
            # store); Resuming stands in for the SSLContext it wraps, as for ssl_context
            proxy_ssl_context=cast(ssl.SSLContext, tls) if over_tls(proxy) else None,
            **_tls(config, tls),
        )
    )


def host_pools(concurrency: int, per_host: int) -> int:
    """How many host pools (each with its idle connections) the blocking modes keep: as many
    as :func:`~.keep.kept_connections` says a run keeps connections, so hosts taking turns
    find theirs still open (the sockets they hold together are capped by
    :class:`OpenConnections`); never fewer than ``2 × concurrency / per_host``, the least
    recently used host's pool closed first."""
    return max(2, math.ceil(2 * concurrency / per_host), kept_connections(concurrency))


def _tls(config: Config, tls: Resuming) -> dict[str, Any]:
    """The pools' TLS settings: the run's one shared context (:mod:`.tls`), resuming
    sessions, and no checks with ``insecure`` (urllib3 sets these on the context for every
    connection)."""
    settings: dict[str, Any] = {"ssl_context": tls}
    if config.insecure:
        settings.update(cert_reqs="CERT_NONE", assert_hostname=False)
    return settings


def _env_proxies(config: Config) -> Proxies:
    return from_env() if config.trust_env else Proxies()


def classify(exc: BaseException, phase: str) -> tuple[str, str]:
    """An urllib3 exception as an error kind and a detail. ``phase``: headers or body."""
    if isinstance(exc, u3.NameResolutionError):
        return "dns", f"cannot resolve {exc.conn.host}"
    if isinstance(exc, u3.EmptyPoolError):
        return "timeout", "no free connection to the host in time"
    if isinstance(exc, u3.ReadTimeoutError):
        return "timeout", f"read timed out waiting for the {phase}"
    if isinstance(exc, u3.ProxyError):
        return "connect", f"proxy: {reason(exc.original_error or exc)}"
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
        if isinstance(exc, u3.IncompleteRead | http.client.IncompleteRead):
            inner = exc
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
