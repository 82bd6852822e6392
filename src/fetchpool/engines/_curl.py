"""The libcurl transport of the ``curl`` mode: reusable easy handles on one multi handle.

Only the ``curl`` engine imports this module, so pycurl is loaded in that mode alone.
libcurl does the network work in C; Python touches each transfer a few times: to start
it (:meth:`Transfer.request`), once per body chunk (a counter, for ``max_bytes`` after
decoding) and once when it ends (:func:`Transfers.finished` hands back its result code).
What that result means — a record, a redirect to follow — is decided by the engine.
"""

from __future__ import annotations

import contextlib
import select
import ssl
import time
from collections.abc import Iterator
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

try:
    import pycurl
except ImportError as exc:  # pragma: no cover - pycurl is a dependency; a broken install
    from ..errors import UsageError

    raise UsageError(f"the curl mode needs pycurl, which cannot be imported: {exc}") from None

from ..config import Config

__all__ = ["WRITE_ERROR", "Transfer", "Transfers", "ascii_url", "classify"]

# libcurl result codes (CURLcode; stable across versions, and some have no pycurl name).
_DNS: Final = frozenset({5, 6})  # COULDNT_RESOLVE_PROXY, COULDNT_RESOLVE_HOST
_CONNECT: Final = frozenset({7, 55, 97})  # COULDNT_CONNECT, SEND_ERROR, PROXY
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

    ``got_response``: the status line had arrived (so a broken connection cut the body).
    """
    detail = " ".join(message.split()) or f"libcurl error {code}"
    if code == _TIMEOUT:
        phase = "body" if got_response else "headers"
        return "timeout", f"no complete answer within {timeout:g} s (waiting for the {phase})"
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
    """``url`` as libcurl takes it: ASCII, the host in IDNA, other text percent-encoded,
    no fragment. Raises UnicodeError for a host IDNA cannot encode."""
    if url.isascii():
        return url.split("#", 1)[0]
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = parts.netloc
    if not host.isascii():
        netloc = netloc.replace(host, host.encode("idna").decode("ascii"))
    safe = "!#$%&'()*+,/:;=?@[]~"
    return urlunsplit(
        (parts.scheme, quote(netloc, safe=safe), quote(parts.path, safe=safe),
         quote(parts.query, safe=safe), "")
    )  # fmt: skip


def _ca_options() -> list[tuple[int, str]]:
    """Trust the same certificates as Python's ssl module (and so the other modes):
    the system store, or SSL_CERT_FILE / SSL_CERT_DIR when set."""
    paths = ssl.get_default_verify_paths()
    options = []
    if paths.cafile:
        options.append((pycurl.CAINFO, paths.cafile))
    if paths.capath:
        options.append((pycurl.CAPATH, paths.capath))
    return options


class Transfer:
    """One reusable easy handle and the fetch of one URL through it (redirects included).

    The engine owns the fields below; the handle keeps its connection-independent
    options for its whole life, so starting a request sets only the URL and the time left.
    """

    __slots__ = (
        "attempts",
        "cap",
        "current",
        "deadline",
        "handle",
        "length",
        "seen",
        "start",
        "url",
    )

    def __init__(self, config: Config, ca_options: list[tuple[int, str]]) -> None:
        self.url = self.current = ""
        self.seen: set[str] = set()
        self.start = self.deadline = 0.0
        self.length = 0
        self.attempts = 0
        # -1: no cap. The write callback compares against it on every chunk.
        self.cap = -1 if config.max_bytes is None else config.max_bytes
        h = self.handle = pycurl.Curl()
        h.setopt(pycurl.NOSIGNAL, 1)
        h.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        h.setopt(pycurl.FOLLOWLOCATION, 0)  # redirects are a policy decision: see the engine
        h.setopt(pycurl.PROXY, "")  # like the other modes: no proxy from the environment
        h.setopt(pycurl.ACCEPT_ENCODING, "")  # every encoding libcurl decodes; lengths decoded
        h.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in config.headers.items()])
        h.setopt(pycurl.WRITEFUNCTION, self._write)
        for option, value in ca_options:
            h.setopt(option, value)

    def _write(self, data: bytes) -> int | None:
        """Count a chunk of decoded body; refuse it (ending the transfer) past the cap."""
        length = self.length + len(data)
        self.length = length
        if length > self.cap >= 0:
            return 0
        return None

    def over_cap(self) -> bool:
        """True when the body grew past ``max_bytes`` (the write callback stopped it)."""
        return self.length > self.cap >= 0

    def begin(self, url: str) -> None:
        """Reset for a new URL."""
        self.url = self.current = url
        self.seen = {url}
        self.start = time.perf_counter()
        self.attempts = 0

    def request(self, target: str, remaining: float) -> None:
        """Point the handle at ``target`` with ``remaining`` seconds allowed."""
        url = ascii_url(target)  # may raise UnicodeError: then nothing was sent
        self.current = target
        self.length = 0
        self.attempts = max(self.attempts, 1)  # redirects are part of one attempt
        self.handle.setopt(pycurl.URL, url)
        self.handle.setopt(pycurl.TIMEOUT_MS, max(1, int(remaining * 1000 + 0.5)))

    def status(self) -> int:
        """The HTTP status of the last response (0: none came)."""
        code: int = self.handle.getinfo(pycurl.RESPONSE_CODE)
        return code

    def content_type(self) -> str | None:
        value: str | None = self.handle.getinfo(pycurl.CONTENT_TYPE)
        return value

    def redirect_url(self) -> str | None:
        """Where the last response's Location points, made absolute by libcurl."""
        value: str | None = self.handle.getinfo(pycurl.REDIRECT_URL)
        return value


class Transfers:
    """The multi handle: transfers running at once, driven from one thread, two ways.

    Below :data:`EPOLL_FROM` at once, libcurl's own ``fdset``, ``select`` and ``perform``
    drive it: the least Python per request. ``select`` cannot watch a socket numbered 1024
    or more, and each wake-up costs in proportion to the transfers running, so from there
    on (on Linux) the sockets are watched with epoll and libcurl is told which one is ready
    (``socket_action``): more Python per request, but any number of sockets.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._ca = _ca_options()
        self._multi = pycurl.CurlMulti()
        # Keep as many idle connections as may run at once, and no more: sockets stay bounded.
        self._multi.setopt(pycurl.M_MAXCONNECTS, config.concurrency)
        self._by_handle: dict[pycurl.Curl, Transfer] = {}
        self.running = 0
        use_epoll = hasattr(select, "epoll") and config.concurrency >= EPOLL_FROM
        self._epoll = select.epoll() if use_epoll else None
        self._watched: dict[int, int] = {}  # socket -> the epoll events wanted
        self._due: float | None = None  # when libcurl wants its timer call (monotonic)
        if self._epoll is not None:
            self._multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
            self._multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)

    def new(self) -> Transfer:
        transfer = Transfer(self._config, self._ca)
        self._by_handle[transfer.handle] = transfer
        return transfer

    def add(self, transfer: Transfer) -> None:
        self._multi.add_handle(transfer.handle)
        self.running += 1

    def finished(self, wait: float) -> Iterator[tuple[Transfer, int, str]]:
        """Drive the transfers for up to ``wait`` seconds; yield each that ended, with its
        libcurl result code (0: a complete response) and message. A yielded transfer is
        already off the multi handle and may be started again at once."""
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
        for handle in self._by_handle:
            with contextlib.suppress(pycurl.error):  # it was not on the multi handle
                self._multi.remove_handle(handle)
            handle.close()
        self._by_handle.clear()
        self._multi.close()
        if self._epoll is not None:
            self._epoll.close()
        self.running = 0
