"""Whom a run trusts: one TLS client context per trust setting, built once and shared.

Loading a CA store is the dear part of a TLS connection (about 28 ms of CPU for the 145
certificates of a Debian system store, against 0.2 ms for a handshake with it loaded):
made per connection, as urllib3 does when it is given no context, it dominates a run over
thousands of HTTPS hosts. So every transport takes its context from :func:`client_context`,
which makes each one once per process and trust setting: the system store (with
``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, as Python's ssl module and curl read them),
a CA file (``--cacert``), or no checks at all (``--insecure``). libcurl has its own TLS
library; :func:`curl_paths` gives it the same trust.

A new connection to a host seen before can skip the rest of a full handshake (the server's
certificate sent and checked, a key exchange signed) by resuming the session of the last one:
:class:`Resuming` hands Python's ssl, which resumes only when given a session, the one kept
for the name and port; :class:`ResumingContext` does it for asyncio's connections (the async
mode), which aiohttp makes with an SSLContext and never resumes either.
"""

from __future__ import annotations

import functools
import os
import socket
import ssl
import sys
from typing import Any, TypeVar

from ..config import Config
from ..errors import UsageError

_C = TypeVar("_C", bound=ssl.SSLContext)

__all__ = [
    "Resuming",
    "ResumingContext",
    "client_context",
    "context_for",
    "curl_paths",
    "resuming_context_for",
    "tls_reason",
]


def context_for(config: Config) -> ssl.SSLContext:
    """The shared context for ``config``'s trust setting."""
    return client_context(*_trust(config))


def _trust(config: Config) -> tuple[str | None, bool, str | None, str | None]:
    """What a context trusts: the CA file, no checks, and the environment's store (part
    of the key so that a changed environment gets a fresh context)."""
    env = os.environ
    return config.cacert, config.insecure, env.get("SSL_CERT_FILE"), env.get("SSL_CERT_DIR")


@functools.cache
def client_context(
    cacert: str | None, insecure: bool, cert_file: str | None, cert_dir: str | None
) -> ssl.SSLContext:
    """A client context trusting ``cacert`` (a PEM file of CA certificates) or else the
    default store (``cert_file`` and ``cert_dir`` are the environment's, part of the key
    so a changed environment gets a fresh context); ``insecure``: no certificate or
    host name checks. Raises UsageError for a CA file that cannot be loaded."""
    return _trusting(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), cacert, insecure)


def _trusting(context: _C, cacert: str | None, insecure: bool) -> _C:
    """``context`` set up as ssl.create_default_context sets up a client's."""
    try:
        if cacert is not None:
            context.load_verify_locations(cafile=cacert)
        else:  # the default store (and the environment's): loaded once, here
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    except (OSError, ssl.SSLError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"cannot use the CA file {cacert}: {why}") from exc
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        context.keylog_filename = keylog
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class ResumingContext(ssl.SSLContext):
    """:class:`Resuming` for asyncio (the async mode's aiohttp), which wraps memory BIOs:
    ``wrap_bio`` offers a new connection the session kept for its server name, and
    :meth:`keep` keeps a connection's. (A subclass, not a wrapper: aiohttp takes only an
    SSLContext.) At most ``size`` sessions are kept, then the table starts again."""

    def __init__(self, protocol: int = ssl.PROTOCOL_TLS_CLIENT, size: int = 4096) -> None:
        self._sessions: dict[str, ssl.SSLSession] = {}
        self._size = size

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        if session is None and not server_side and isinstance(server_hostname, str):
            session = self._sessions.get(server_hostname)
        return super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)

    def keep(self, sslobj: object) -> None:
        """Keep the session of ``sslobj`` (an ``ssl_object`` of a transport, or None) for the
        next connection to its name (not its port: ``wrap_bio`` is not told it); call it
        when the connection is handed back, its answer read (a TLS 1.3 server sends its
        ticket after the handshake). Once per connection: reading a session copies it,
        certificate chain and all (half a millisecond each time)."""
        if not isinstance(sslobj, ssl.SSLObject) or getattr(sslobj, "fetchpool_kept", False):
            return
        sslobj.fetchpool_kept = True  # type: ignore[attr-defined]
        if sslobj.session_reused:
            return
        name = sslobj.server_hostname
        if name:
            _put(self._sessions, name, sslobj.session, self._size)


def resuming_context_for(config: Config) -> ResumingContext:
    """The async mode's context for ``config``'s trust setting, made once per run."""
    return _resuming_context(*_trust(config))


@functools.cache
def _resuming_context(
    cacert: str | None, insecure: bool, cert_file: str | None, cert_dir: str | None
) -> ResumingContext:
    return _trusting(ResumingContext(ssl.PROTOCOL_TLS_CLIENT), cacert, insecure)


def tls_reason(exc: BaseException) -> str | None:
    """What the TLS library said, from the first ssl error in ``exc``, its causes or its
    arguments (the clients wrap it): a failed certificate check's reason (``unable to get
    local issuer certificate``, as OpenSSL and curl word it), else the error's own. None
    when there is no ssl error in it."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        e = todo.pop(0)
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        # aiohttp's errors are ssl errors too, without the words: the one they wrap has them
        inner = getattr(e, "certificate_error", None) or getattr(e, "os_error", None)
        if isinstance(inner, BaseException) and inner is not e:
            todo.insert(0, inner)
            continue
        if isinstance(e, ssl.SSLError):
            return str(getattr(e, "verify_message", None) or getattr(e, "reason", None) or e)
        todo += [e.__cause__, e.__context__, *e.args]
    return None


def curl_paths(config: Config) -> tuple[str | None, str | None]:
    """The CA file and directory libcurl should trust for ``config`` (None: not set)."""
    if config.cacert is not None:
        return config.cacert, None
    paths = ssl.get_default_verify_paths()
    return paths.cafile, paths.capath


class Resuming:
    """A client context that offers each new connection the TLS session of the last
    connection to the same name and port, so the server may resume it instead of a full
    handshake (the certificate was checked when the session was made, for that name).
    Everything else is the wrapped context's own (urllib3 sets and reads its attributes and
    calls its methods through this). At most ``size`` sessions are kept, then the table
    starts again."""

    context: ssl.SSLContext
    _sessions: dict[tuple[str | None, int], ssl.SSLSession]
    _size: int

    def __init__(self, context: ssl.SSLContext, size: int = 4096) -> None:
        object.__setattr__(self, "context", context)
        object.__setattr__(self, "_sessions", {})
        object.__setattr__(self, "_size", size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.context, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.context, name, value)

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        if session is None and not server_side:
            key = _key(server_hostname, sock)
            session = None if key is None else self._sessions.get(key)
        return self.context.wrap_socket(
            sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            session=session,
        )

    def keep(self, sock: object) -> None:
        """Keep the session of ``sock`` (any socket: only a TLS one has a session) for the
        next connection to its name and port. Call it once the response head is read: a
        TLS 1.3 server sends the ticket to resume with after the handshake."""
        if not isinstance(sock, ssl.SSLSocket) or sock.server_side or sock.session_reused:
            return  # a resumed session is the one kept already
        key = _key(sock.server_hostname, sock)
        if key is not None:
            _put(self._sessions, key, sock.session, self._size)


def _put(sessions: dict[Any, ssl.SSLSession], key: Any, session: ssl.SSLSession | None,
         size: int) -> None:  # fmt: skip
    """Keep ``session`` (one that can be resumed) under ``key``; past ``size`` keys the
    table starts again."""
    if session is None or not (session.has_ticket or session.id):
        return
    if len(sessions) >= size:
        sessions.clear()
    sessions[key] = session


def _key(name: str | None, sock: socket.socket) -> tuple[str | None, int] | None:
    try:
        port = sock.getpeername()[1]
    except (OSError, IndexError):
        return None
    return name, int(port)
