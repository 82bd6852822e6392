"""The libcurl transport of the ``curl`` mode: reusable easy handles on one multi handle.

Only the ``curl`` mode imports this module, so pycurl is loaded in that mode alone.
Each transfer is ONE attempt the scheduler started: one GET of ``job.target``, no redirect
followed (``FOLLOWLOCATION`` off: a redirect comes back as ``Outcome(location=...)``),
within ``job.time_left`` seconds (``TIMEOUT_MS``) and ``connect_timeout``. The body is
decoded here, in bounded steps (:class:`.body.BodyReader`: libcurl's own decoding stays off), so
``max_bytes`` counts decoded bytes and stops a gzip bomb early; it goes to
``config.body_sink`` like in the other fetchers. libcurl does the network work in C;
Python touches each transfer a few times: to start it (:meth:`Transfer.start`), once per
body chunk, and once when it ends (:meth:`Transfer.outcome`); header lines are only
appended to a list as they come (a C call, no Python frame) and read when the body begins.

Names are looked up on the run's resolver threads (:mod:`.resolve`), not by libcurl: a
transfer whose name is not known yet waits off the multi handle, until its deadline at most,
and goes on with the addresses found (``RESOLVE``), so a name that never answers holds
neither a transfer past its time nor a resolver thread another name needs.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import select
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, urlsplit, urlunsplit

try:
    import pycurl
except ImportError as exc:  # pragma: no cover - pycurl is a dependency; a broken install
    from ..errors import UsageError

    raise UsageError(f"the curl mode needs pycurl, which cannot be imported: {exc}") from exc

from ..bodies.hook import OpenedSink, opened
from ..config import Config
from ..core.outcome import Outcome
from ..core.redirects import REDIRECT_STATUSES
from ..core.scheduler import Job
from ..urls import plain_authority
from .body import BodyReader
from .keep import kept_connections
from .proxies import Proxies, from_env, over_tls, proxy_tls_failed, tunnel_refused, unreachable
from .request import reason, request_headers, without_credentials
from .resolve import Address, Resolver, is_ip_literal, pool_size

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["WRITE_ERROR", "CurlError", "Transfer", "Transfers", "ascii_url", "classify"]

#: What libcurl raises when it will not take an option (a URL too long, say).
CurlError = pycurl.error

# libcurl result codes (CURLcode; stable across versions, and some have no pycurl name).
_DNS: Final = frozenset({5, 6})  # COULDNT_RESOLVE_PROXY, COULDNT_RESOLVE_HOST
_CONNECT: Final = frozenset({7, 55, 97})  # COULDNT_CONNECT, SEND_ERROR, PROXY
#: libcurl's message for a failed certificate check: OpenSSL's reason, then its number.
_VERIFY_RESULT: Final = re.compile(r"verify result: (.+?) \(\d+\)\s*$")
_TLS: Final = frozenset({35, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98})
_MALFORMED: Final = 3  # URL_MALFORMAT
_WEIRD_REPLY: Final = frozenset({1, 8, 16, 92, 95, 100})  # HTTP/0.9, WEIRD_SERVER_REPLY, HTTP2…
_PARTIAL: Final = 18  # PARTIAL_FILE: fewer body bytes than Content-Length said
WRITE_ERROR: Final = 23  # our write callback refused a chunk (the size cap)
_TIMEOUT: Final = 28  # OPERATION_TIMEDOUT
_GOT_NOTHING: Final = 52  # the server closed the connection without a response
_RECV_ERROR: Final = 56
_BAD_ENCODING: Final = 61  # BAD_CONTENT_ENCODING
_BUGS: Final = frozenset({2, 27, 43, 48})  # FAILED_INIT, OUT_OF_MEMORY, bad option or argument
_PROXY_UNREACHABLE: Final = frozenset({5, 7})  # COULDNT_RESOLVE_PROXY, COULDNT_CONNECT

#: From this many transfers at once, epoll watches the sockets (see :class:`Transfers`).
#: Measured on 2 cores: select is faster at -c 64 (1.3 s against 2.3 s for 20,000 pages),
#: the two are even at -c 1000, epoll is faster at -c 1500 (1.6 s against 2.1 s).
EPOLL_FROM = 768

if hasattr(select, "epoll"):
    _EPOLL_EVENTS: Final = {
        pycurl.POLL_IN: select.EPOLLIN,
        pycurl.POLL_OUT: select.EPOLLOUT,
        pycurl.POLL_INOUT: select.EPOLLIN | select.EPOLLOUT,
    }
    _READABLE: Final = select.EPOLLIN | select.EPOLLHUP | select.EPOLLRDHUP


def classify(code: int, message: str, got_response: bool, timeout: float) -> tuple[str, str]:
    """A libcurl result code as an error kind and a detail, the same kinds as every mode.

    ``got_response``: the status line had arrived (so a broken connection cut the body);
    ``timeout``: the seconds the attempt was allowed.
    """
    detail = " ".join(message.split()) or f"libcurl error {code}"
    if code == _TIMEOUT:
        phase = "body" if got_response else "headers"
        return "timeout", f"no complete answer within {timeout:g} s (the {phase})"
    if code in _DNS:
        return "dns", detail
    if code in _CONNECT:
        return "connect", detail
    if code == _GOT_NOTHING:
        return "connect", "server closed the connection without a response"
    if code == _PARTIAL:
        return "truncated", f"body ended early ({detail})"
    if code == _RECV_ERROR:
        if got_response:
            return "truncated", f"connection broken mid-body ({detail})"
        return "connect", detail
    if code in _TLS:
        return "tls", detail
    if code == _BAD_ENCODING:
        return "protocol", f"bad content encoding: {detail}"
    if code == _MALFORMED:
        return "invalid-url", detail
    if code in _WEIRD_REPLY:
        if got_response and code in (16, 92):  # an HTTP/2 stream broken mid-body
            return "truncated", f"body ended early ({detail})"
        return "protocol", f"not a valid HTTP response: {detail}"
    if code in _BUGS:
        return "internal", f"libcurl error {code}: {detail}"
    return "protocol", f"libcurl error {code}: {detail}"


def ascii_url(url: str) -> str:
    """``url`` as libcurl takes it: ASCII, the host in IDNA 2008 A-labels after UTS 46
    mapping (as urllib3 and yarl write it: ``BÜCHER`` and ``bücher`` are one host,
    ``straße`` is ``xn--strae-oqa``), other text percent-encoded, no fragment. Raises
    UnicodeError for a host IDNA cannot encode."""
    if url.isascii():
        return url.split("#", 1)[0]
    parts = urlsplit(url)
    info, at, hostport = parts.netloc.rpartition("@")
    host, colon, port = hostport, "", ""
    if not hostport.startswith("["):  # an IPv6 literal is ASCII: left as it is
        host, colon, port = hostport.partition(":")
    if not host.isascii():
        import idna  # here: most runs have no such host, and the tables take 3 ms to load

        host = idna.encode(host, uts46=True).decode("ascii")
    netloc = f"{info}{at}{host}{colon}{port}"
    safe = "!#$%&'()*+,/:;=?@[]~"
    return urlunsplit(
        (parts.scheme, quote(netloc, safe=safe), quote(parts.path, safe=safe),
         quote(parts.query, safe=safe), "")
    )  # fmt: skip


def tls_options(config: Config) -> list[tuple[int, int | bytes]]:
    """The options that make libcurl trust what the other transports trust
    (:mod:`.tls`), for the servers and for an ``https://`` proxy alike: the system store or
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``, or ``cacert``; and no checks with ``insecure``.
    Paths go as the file system's bytes (pycurl takes a str as ASCII only)."""
    # Here, not at the top: finding the system store loads Python's ssl module and its
    # OpenSSL (8 ms), which a run over plain http never needs.
    from .tls import curl_paths

    cafile, capath = curl_paths(config)
    options: list[tuple[int, int | bytes]] = []
    # The same trust for an https:// proxy as for the servers (libcurl keeps a second set).
    if cafile:
        options += [(o, os.fsencode(cafile)) for o in (pycurl.CAINFO, pycurl.PROXY_CAINFO)]
    if capath:
        options += [(o, os.fsencode(capath)) for o in (pycurl.CAPATH, pycurl.PROXY_CAPATH)]
    if config.insecure:
        options += [(pycurl.SSL_VERIFYPEER, 0), (pycurl.SSL_VERIFYHOST, 0)]
        options += [(pycurl.PROXY_SSL_VERIFYPEER, 0), (pycurl.PROXY_SSL_VERIFYHOST, 0)]
    return options


#: The response headers a transfer reads, in the lower-cased head: ``name`` then ``:``.
_WANTED_HEADERS: Final = re.compile(
    rb"\n(content-type|content-encoding|location|retry-after)[ \t]*:"
)

#: Any header read but Content-Type, or Content-Type with a space before its colon.
_RARE_HEADERS: Final = re.compile(rb"\n(?:content-encoding|location|retry-after|content-type[ \t])")


def _value(head: bytes, start: int) -> str:
    """The value of the header line whose value starts at ``start`` in ``head``."""
    end = head.find(b"\n", start)
    return head[start : end if end >= 0 else len(head)].strip().decode("latin-1")


#: A redirect's body is read (to keep the connection) up to this, then the transfer is cut.
_DRAIN_AT_MOST: Final = 64 * 1024

_COULDNT_RESOLVE: Final = 6
#: How often (seconds) the loop looks at lookups running for transfers that wait for them.
_LOOKUP_POLL: Final = 0.005
#: A name's addresses are handed to libcurl again after this long (seconds): well before
#: its DNS cache lets them go (60 s, CURLOPT_DNS_CACHE_TIMEOUT's default).
_GIVE_AGAIN: Final = 20.0
#: CurlShare objects a run spreads its hosts over (see :class:`Shares`): made as hosts need
#: them, so a run over one host makes one.
SHARES: Final = 128
_GIVEN_AT_MOST: Final = 100_000


@functools.lru_cache(maxsize=4096)  # per start: an address's parse costs 7 times the rest
def _name_key(key: str) -> str | None:
    """``key`` (the scheduler's ``host:port``), or None for an address."""
    return None if is_ip_literal(key.rpartition(":")[0]) else key


def _lookup_key(url: str) -> str | None:
    """``host:port`` of an ASCII URL, for RESOLVE; None for an address, which needs none."""
    plain = plain_authority(url)
    if plain is None:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            return None  # libcurl says why
        host = parts.hostname or ""
        scheme = parts.scheme.lower()
        plain = host, port if port is not None else (443 if scheme == "https" else 80)
    host, port = plain
    if not host or is_ip_literal(host):
        return None
    return f"{host.lower().rstrip('.')}:{port}"


class Shares:
    """The TLS sessions and DNS entries the transfers share, in :data:`SHARES` CurlShare
    objects, a host always in the same one.

    A share keeps the sessions of a few dozen peers only (libcurl's session cache is sized
    for a browser's handful of sites): over 2,000 hosts taking turns, a connection opened
    again found its session in one case out of a hundred. Spread over shares by host, the
    run keeps a session for as many hosts as it keeps connections for."""

    def __init__(self) -> None:
        self._shares: dict[int, pycurl.CurlShare] = {}

    def of(self, host: str) -> pycurl.CurlShare:
        """The share of ``host`` (the scheduler's ``host:port``)."""
        n = hash(host) % SHARES
        share = self._shares.get(n)
        if share is None:
            share = self._shares[n] = pycurl.CurlShare()
            share.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_SSL_SESSION)
            share.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_DNS)
        return share

    def close(self) -> None:
        for share in self._shares.values():
            share.close()
        self._shares.clear()


class Transfer:
    """One reusable easy handle, and the attempt it is making for a :class:`Job`.

    The handle keeps its connection-independent options for its whole life; starting an
    attempt sets the URL, the time allowed when it changed (and the proxy, when the
    environment names one). The header lines of the response are only kept as they come;
    they are read once, when the body begins or the transfer ends.
    """

    __slots__ = (
        "_body",
        "_cap",
        "_capture",
        "_connect_ms",
        "_encoding",
        "_fail",
        "_foreign",
        "_headers",
        "_lines",
        "_make_sink",
        "_pipewait",
        "_proxies",
        "_proxy",
        "_shared",
        "_shares",
        "_sink",
        "_started",
        "_timeout_ms",
        "_trust",
        "content_type",
        "drained",
        "handle",
        "http_version",
        "interrupted",
        "job",
        "location",
        "lookup",
        "retry_after",
        "status",
        "timeout",
    )

    def __init__(
        self,
        config: Config,
        proxies: Proxies,
        trust: Callable[[], list[tuple[int, int | bytes]]],
        shares: Shares | None = None,
    ) -> None:
        self._proxies = proxies if (proxies.http or proxies.https) else None
        self._proxy = ""
        self._make_sink = config.body_sink  # None: bodies are only counted
        self._cap = config.max_bytes
        ct = config.connect_timeout
        self._connect_ms = None if ct is None else max(1, int(ct * 1000 + 0.5))
        self.job: Job | None = None
        self.lookup: str | None = None  # the name to look up before it goes, "host:port"
        self.timeout = 0.0
        self._timeout_ms = -1  # TIMEOUT_MS as last set on the handle
        self._lines: list[bytes] = []  # header lines as libcurl hands them over
        self._reset()
        h = self.handle = pycurl.Curl()
        h.setopt(pycurl.NOSIGNAL, 1)
        h.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        h.setopt(pycurl.FOLLOWLOCATION, 0)  # redirects are the scheduler's
        h.setopt(pycurl.PROXY, "")  # proxies come from fetchpool.transports.proxies, per URL
        h.setopt(pycurl.NOPROXY, "")  # and so does no_proxy: libcurl reads no environment
        h.setopt(pycurl.HTTP_CONTENT_DECODING, 0)  # decoded here, in bounded steps
        h.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)  # HTTP/2 where TLS offers it
        self._pipewait = False  # PIPEWAIT as last set on the handle (see start)
        self._shares = shares
        self._shared: pycurl.CurlShare | None = None  # the share as last set on the handle
        headers = request_headers(config)
        # HTTPHEADER to the input's origin, and to another one (without the credentials):
        # set again only when a transfer goes where the last one did not.
        self._headers = (
            [f"{k}: {v}" for k, v in headers.items()],
            [f"{k}: {v}" for k, v in without_credentials(headers).items()],
        )
        self._foreign = False
        h.setopt(pycurl.HTTPHEADER, self._headers[0])
        h.setopt(pycurl.HEADERFUNCTION, self._lines.append)
        h.setopt(pycurl.WRITEFUNCTION, self._write)
        # The TLS trust options (tls_options), set before the handle's first https transfer.
        self._trust: Callable[[], list[tuple[int, int | bytes]]] | None = trust
        self._capture = None  # the exact bytes, when the run archives (--warc)
        if config.archive is not None:
            from .capture import CurlCapture

            self._capture = CurlCapture(h)

    def _reset(self) -> None:
        self._lines.clear()
        self._started = False  # the body began: headers read, sink opened
        self._encoding: str | None = None  # the Content-Encoding
        self._body: BodyReader | None = None  # from the body's first chunk on
        self._sink: OpenedSink | None = None
        self._fail: Outcome | None = None  # why the write callback stopped the transfer
        self.interrupted = False
        self.status = 0
        self.drained = 0  # bytes of a redirect's body read
        self.content_type: str | None = None
        self.location: str | None = None
        self.retry_after: str | None = None
        self.http_version: str | None = None

    def start(self, job: Job) -> None:
        """Point the handle at ``job.target`` with ``job.time_left`` seconds allowed, and
        the credentials headers unless ``job.foreign``. Raises UnicodeError for a host IDNA
        cannot encode, pycurl.error for a URL libcurl refuses (then nothing was sent)."""
        target = job.target
        url = target.split("#", 1)[0] if target.isascii() else ascii_url(target)  # its fast path
        self._reset()
        if self._capture is not None:
            self._capture.reset()
        self.job = job
        self.timeout = job.time_left
        h = self.handle
        h.setopt(pycurl.URL, url)
        https = url[:6].lower() == "https:"
        proxy = ""
        if self._proxies is not None:
            proxy = self._proxies.for_url(job.target) or ""
            if proxy != self._proxy:
                h.setopt(pycurl.PROXY, proxy)
                self._proxy = proxy
        # The handle's first transfer over TLS (to the server, or to an https:// proxy)
        if self._trust is not None and (https or (proxy and over_tls(proxy))):
            for option, value in self._trust():
                h.setopt(option, value)
            self._trust = None  # only once all are set: else the next https start sets them
        # An https transfer waits for a connection that may carry it as another HTTP/2 stream
        # rather than open one more (as curl -Z does): a handful of connections to a host,
        # not one per transfer in flight. Over plain http (HTTP/1.1 only) it would wait for
        # the first response to learn that no stream can share it: a slow page's time.
        if https is not self._pipewait:
            h.setopt(pycurl.PIPEWAIT, https)
            self._pipewait = https
        if self._shares is not None:
            share = self._shares.of(job.host)
            if share is not self._shared:  # the host's TLS sessions and DNS entries
                if self._shared is not None:
                    h.unsetopt(pycurl.SHARE)  # pycurl will not move a handle between shares
                h.setopt(pycurl.SHARE, share)
                self._shared = share
        if job.foreign is not self._foreign:  # rare: a redirect to another origin, or back
            h.setopt(pycurl.HTTPHEADER, self._headers[job.foreign])
            self._foreign = job.foreign
        total_ms = max(1, int(job.time_left * 1000 + 0.5))
        if total_ms != self._timeout_ms:  # mostly the whole --timeout, as last time
            h.setopt(pycurl.TIMEOUT_MS, total_ms)
            self._timeout_ms = total_ms
        if self._connect_ms is not None:
            h.setopt(pycurl.CONNECTTIMEOUT_MS, min(self._connect_ms, total_ms))
        if proxy:
            self.lookup = None  # the proxy looks the name up
        elif job.target.isascii():
            self.lookup = _name_key(job.host)  # the scheduler's host:port is libcurl's
        else:
            self.lookup = _lookup_key(url)

    def go_to(self, addresses: list[Address]) -> None:
        """Connect to ``addresses`` for the name (the Host header, SNI and certificate
        check stay on it). libcurl keeps them in the multi handle's DNS cache, which every
        transfer on it uses, for a minute."""
        assert self.lookup is not None
        listed = ",".join(f"[{a}]" if ":" in a else a for _, a in addresses)  # IPv6 has ":"
        # "+": the entry ages out of libcurl's DNS cache like a lookup of its own
        self.handle.setopt(pycurl.RESOLVE, [f"+{self.lookup}:{listed}"])

    def limit(self, left: float) -> None:
        """Allow the transfer ``left`` seconds: what its name's lookup left of the time."""
        total_ms = max(1, int(left * 1000 + 0.5))
        if total_ms != self._timeout_ms:
            self.handle.setopt(pycurl.TIMEOUT_MS, total_ms)
            self._timeout_ms = total_ms
        if self._connect_ms is not None:
            self.handle.setopt(pycurl.CONNECTTIMEOUT_MS, min(self._connect_ms, total_ms))

    def fail(self, outcome: Outcome) -> None:
        """End the attempt before it reached libcurl (its name did not resolve in time)."""
        self._fail = outcome

    # -- callbacks (libcurl calls them from inside perform / socket_action) ----------------

    def _read_headers(self) -> None:
        raw = b"".join(self._lines)
        # Only the last response's head counts (after a 100 Continue or a proxy's CONNECT).
        cut = raw.rfind(b"\nHTTP/")
        head = raw if cut < 0 else raw[cut + 1 :]
        parts = head.split(None, 2)
        if len(parts) >= 2 and parts[1].isdigit():
            self.status = int(parts[1])
            self.http_version = parts[0][5:].decode("latin-1")  # b"HTTP/2" -> "2"
        low = head.lower()
        encoding = None
        if _RARE_HEADERS.search(low) is None:
            # The common head: of the four headers read, at most Content-Type, written
            # "name:" (one search in C, a third of the cost of the general way below).
            found = low.rfind(b"\ncontent-type:")
            if found >= 0:
                self.content_type = _value(head, found + 14)
        else:
            # The four headers read, found in one pass in C (a loop over every line in
            # Python cost more than the rest of this method); the last of each counts.
            for match in _WANTED_HEADERS.finditer(low):
                value = _value(head, match.end())
                name = match[1]
                if name == b"content-type":
                    self.content_type = value
                elif name == b"content-encoding":
                    encoding = value
                elif name == b"location":
                    self.location = value or None
                else:
                    self.retry_after = value
        if self.location is not None and self.status not in REDIRECT_STATUSES:
            self.location = None  # a Location on any other status is not a redirect
        self._encoding = encoding

    def _begin_body(self) -> None:
        self._started = True
        self._read_headers()
        if self.location is None and self._make_sink is not None and self.job is not None:
            sink = opened(self._make_sink(self.job.url, self.content_type))
            self._sink = sink.__enter__()
        self._body = BodyReader(self._sink, self._encoding, self._cap)

    def _write(self, data: bytes) -> int | None:
        """Count (and hand on) a chunk of body; refuse it, ending the transfer, past the cap."""
        try:
            if self._capture is not None:
                self._capture.body.append(data)
            if not self._started:
                self._begin_body()
            if self.location is not None:  # a redirect's body: read a little, then cut
                self.drained += len(data)
                return 0 if self.drained > _DRAIN_AT_MOST else None
            body = self._body
            assert body is not None
            failed = body.feed(data)
            if failed is None:
                return None
            self._fail = failed
        except KeyboardInterrupt:  # Ctrl-C landed here: pycurl would only print it
            self.interrupted = True
            self._fail = Outcome.failed("interrupted", "the run was stopped")
        except Exception as exc:  # a bug, or a sink that raised: the URL's error, not lost
            self._fail = Outcome.failed("internal", f"{type(exc).__name__}: {exc}")
        return 0

    # -- the end -----------------------------------------------------------------------------

    def outcome(self, code: int, message: str) -> Outcome:
        """What the ended attempt gave (``code``: libcurl's result, 0 for a whole response).
        The handle may be started again afterwards."""
        sink = self._sink
        try:
            outcome = self._outcome(code, message)
            if self._capture is not None and code == 0 and outcome.status is not None:
                outcome.capture = self._capture.take(self.handle, self._lines)
            return outcome
        except Exception as exc:  # a sink's done/flush raising must not lose the URL
            return Outcome.failed("internal", f"{type(exc).__name__}: {exc}")
        finally:
            if sink is not None:  # not kept: an incomplete body is thrown away
                sink.__exit__(None, None, None)
            self._sink = None
            self.job = None

    def _outcome(self, code: int, message: str) -> Outcome:
        if self._fail is not None:
            return self._fail
        if not self._started:
            if code == 0:
                self._begin_body()  # an empty body: the headers are all there is
            elif self._lines:
                self._read_headers()  # for the status: did the response begin?
        if self.location is not None:  # as the other fetchers: the headers decide
            return Outcome(
                status=self.status, location=self.location, http_version=self.http_version
            )
        if code:
            if self._proxy and (failed := self._proxy_failed(code, message)) is not None:
                return failed
            kind, detail = classify(code, message, self.status > 0, self.timeout)
            return Outcome.failed(kind, detail)
        body = self._body
        assert body is not None  # started: the headers are all there, a body (maybe empty) began
        if (failed := body.finish()) is not None:
            return failed
        kept = None
        if self._sink is not None:
            kept = self._sink.keep()
        return Outcome(
            status=self.status,
            length=body.length,
            content_type=self.content_type,
            retry_after=self.retry_after,
            body=kept,
            http_version=self.http_version,
        )

    def _proxy_failed(self, code: int, message: str) -> Outcome | None:
        """The same outcome as in every mode for a proxy that failed (see :mod:`.proxies`),
        or None when the failure was not the proxy's."""
        h = self.handle
        tunnel = h.getinfo(pycurl.HTTP_CONNECTCODE)  # the proxy's answer to CONNECT, or 0
        if tunnel and not 200 <= tunnel < 300:
            return tunnel_refused(self._proxy, tunnel)
        if code in _PROXY_UNREACHABLE:  # with a proxy, libcurl connects to it alone
            errno = h.getinfo(pycurl.OS_ERRNO)
            why = os.strerror(errno) if errno else "cannot resolve its name"
            return unreachable(self._proxy, why)
        # TLS with an https:// proxy failed before any tunnel (an http URL has none): its own
        if code in _TLS and over_tls(self._proxy) and not tunnel:
            found = _VERIFY_RESULT.search(message)  # OpenSSL's words, as the others give them
            return proxy_tls_failed(self._proxy, found[1] if found else message)
        return None


class Transfers:
    """The multi handle: transfers running at once, driven from one thread, two ways.

    Below :data:`EPOLL_FROM` at once, libcurl's own ``fdset``, ``select`` and ``perform``
    drive it: the least Python per request. ``select`` cannot watch a socket numbered 1024
    or more, and each wake-up costs in proportion to the transfers running, so from there
    on (on Linux) the sockets are watched with epoll and libcurl is told which one is ready
    (``socket_action``): more Python per request, but any number of sockets. ``many_hosts``
    (the run has more hosts in sight than the select path could keep a connection open for)
    takes the epoll path too, so that a connection per host stays open while hosts take
    turns (see :func:`idle_connections`).
    """

    def __init__(
        self, config: Config, proxies: Proxies | None = None, *, many_hosts: bool = False
    ) -> None:
        self._config = config
        if proxies is None:
            proxies = from_env() if config.trust_env else Proxies()
        self._proxies = proxies
        self._tls: list[tuple[int, int | bytes]] | None = None  # see _trust
        self._multi = pycurl.CurlMulti()
        # Many hosts in sight: more connections kept than select could watch, so epoll.
        use_epoll = hasattr(select, "epoll") and (config.concurrency >= EPOLL_FROM or many_hosts)
        self.kept = kept_connections(config.concurrency, select=not use_epoll)
        self._multi.setopt(pycurl.M_MAXCONNECTS, self.kept)
        # TLS sessions (and the DNS cache) shared by every handle: a host's connection opened
        # again, by whichever handle, resumes its session instead of a full handshake.
        self._shares = Shares()
        self._by_handle: dict[pycurl.Curl, Transfer] = {}
        self._resolver = Resolver(pool_size(config.concurrency))
        # When each name's addresses were last handed to libcurl ("host:port" -> monotonic
        # time): set again only after a while, since setting them costs for every transfer.
        self._given: dict[str, float] = {}
        # Transfers waiting for their name: the lookup's future and the attempt's deadline.
        self._resolving: list[tuple[Transfer, Future[list[Address]], float]] = []
        self.running = 0
        self._epoll = select.epoll() if use_epoll else None
        self._watched: dict[int, int] = {}  # socket -> the epoll events wanted
        self._due: float | None = None  # when libcurl wants its timer call (monotonic)
        if self._epoll is not None:
            self._multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
            self._multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)

    def new(self) -> Transfer:
        transfer = Transfer(self._config, self._proxies, self._trust, self._shares)
        self._by_handle[transfer.handle] = transfer
        return transfer

    def add(self, transfer: Transfer) -> None:
        self.running += 1
        name = transfer.lookup
        if name is not None:
            now = time.monotonic()
            if now - self._given.get(name, -_GIVE_AGAIN) >= _GIVE_AGAIN:
                host = name.rpartition(":")[0]
                found = self._resolver.cached(host)
                if found is None:  # the name's first lookup of the run: off the multi handle
                    future = self._resolver.submit(host)
                    self._resolving.append((transfer, future, now + transfer.timeout))
                    return
                transfer.go_to(found)
                self._give(name, now)
        self._multi.add_handle(transfer.handle)

    def _trust(self) -> list[tuple[int, int | bytes]]:
        """tls_options, found once, when the run's first https transfer starts."""
        if self._tls is None:
            self._tls = tls_options(self._config)
        return self._tls

    def _give(self, name: str, now: float) -> None:
        """``name``'s addresses are in libcurl's DNS cache from ``now`` on."""
        if len(self._given) >= _GIVEN_AT_MOST:
            self._given.clear()  # memory stays bounded on a run over millions of hosts
        self._given[name] = now

    def _looked_up(self) -> list[tuple[Transfer, int, str]]:
        """Send each transfer whose name is found; return those whose name failed or whose
        time ran out first (already off the books, whatever the caller does next)."""
        now = time.monotonic()
        waiting = []
        ended: list[tuple[Transfer, int, str]] = []
        for transfer, future, deadline in self._resolving:
            if future.done():
                try:
                    found = future.result()
                except Exception as exc:  # socket.gaierror, or a bug: the URL's error
                    host = (transfer.lookup or "").rpartition(":")[0]
                    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else None
                    detail = f"cannot resolve {host}: {why or reason(exc)}"
                    transfer.fail(Outcome.failed("dns", detail))
                    ended.append((transfer, _COULDNT_RESOLVE, detail))
                    continue
                transfer.go_to(found)
                transfer.limit(deadline - now)
                self._give(transfer.lookup or "", now)
                self._multi.add_handle(transfer.handle)
            elif now >= deadline:
                future.cancel()  # abandoned: the thread ends on its own
                what = f"no complete answer within {transfer.timeout:g} s (the name lookup)"
                transfer.fail(Outcome.failed("timeout", what))
                ended.append((transfer, _TIMEOUT, what))
            else:
                waiting.append((transfer, future, deadline))
        self._resolving = waiting
        self.running -= len(ended)
        return ended

    def finished(self, wait: float) -> Iterator[tuple[Transfer, int, str]]:
        """Drive the transfers for up to ``wait`` seconds; yield each that ended, with its
        libcurl result code (0: a complete response) and message. A yielded transfer is
        already off the multi handle and may be started again at once."""
        if self._resolving:
            yield from self._looked_up()
            # lookups end on other threads, which cannot wake libcurl's wait: look often
            wait = min(wait, _LOOKUP_POLL)
        if self._epoll is not None:
            self._drive_epoll(wait)
        else:
            self._drive_select(wait)
        multi = self._multi
        by_handle = self._by_handle
        while True:
            queued, ok, failed = multi.info_read()
            for handle in ok:
                multi.remove_handle(handle)
                self.running -= 1
                yield by_handle[handle], 0, ""
            for handle, code, message in failed:
                multi.remove_handle(handle)
                self.running -= 1
                yield by_handle[handle], code, message
            if not queued:
                return

    # -- epoll and socket_action ------------------------------------------------------------

    def _on_socket(self, what: int, fd: int, multi: object, data: object) -> None:
        """libcurl: watch ``fd`` for ``what`` (or stop watching it)."""
        epoll = self._epoll
        assert epoll is not None
        if what == pycurl.POLL_REMOVE:
            if self._watched.pop(fd, None) is not None:
                with contextlib.suppress(OSError):  # already closed: the kernel forgot it
                    epoll.unregister(fd)
            return
        events = _EPOLL_EVENTS[what]
        try:
            if fd in self._watched:
                epoll.modify(fd, events)
            else:
                epoll.register(fd, events)
        except FileNotFoundError:  # closed and reopened under the same number
            epoll.register(fd, events)
        except FileExistsError:
            epoll.modify(fd, events)
        self._watched[fd] = events

    def _on_timer(self, timeout_ms: int) -> None:
        """libcurl: call back in ``timeout_ms`` (-1: no timer)."""
        self._due = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000

    def _drive_epoll(self, wait: float) -> None:
        epoll = self._epoll
        assert epoll is not None
        action = self._multi.socket_action
        due = self._due
        if due is not None:
            wait = min(wait, max(0.0, due - time.monotonic()))
        for fd, events in epoll.poll(wait):
            flags = 0
            if events & _READABLE:
                flags |= pycurl.CSELECT_IN
            if events & select.EPOLLOUT:
                flags |= pycurl.CSELECT_OUT
            if events & select.EPOLLERR:
                flags |= pycurl.CSELECT_ERR
            action(fd, flags)
        due = self._due
        if due is not None and time.monotonic() >= due:
            self._due = None
            action(pycurl.SOCKET_TIMEOUT, 0)

    # -- fdset and select (no epoll) --------------------------------------------------------

    def _drive_select(self, wait: float) -> None:
        multi = self._multi
        timer = multi.timeout()  # ms until libcurl has something to do without I/O (-1: none)
        if timer != 0:
            if timer > 0:
                wait = min(wait, timer / 1000)
            if multi.select(wait) <= 0 and not any(multi.fdset()):
                # No socket to wait on (libcurl waits on a timer only): sleep instead of spinning.
                time.sleep(min(wait, 0.005))
        while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass

    def close(self) -> None:
        for _, future, _ in self._resolving:
            future.cancel()  # a lookup not begun yet is not made
        self._resolving = []
        for handle in self._by_handle:
            with contextlib.suppress(pycurl.error):  # it was not on the multi handle
                self._multi.remove_handle(handle)
            handle.close()
        self._by_handle.clear()
        self._multi.close()
        self._shares.close()
        if self._epoll is not None:
            self._epoll.close()
        self.running = 0
