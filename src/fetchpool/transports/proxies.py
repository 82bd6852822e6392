"""Proxies from the usual environment variables, as curl and requests read them.

This is the one place fetchpool reads the environment. For a URL with scheme ``http``,
``http_proxy`` (or ``HTTP_PROXY``) names the proxy; for ``https``, ``https_proxy`` (or
``HTTPS_PROXY``); ``all_proxy`` (or ``ALL_PROXY``) serves both when those are unset. The
lower-case name wins when both are set, and an empty value counts as unset. A value with
no scheme is an ``http://`` proxy. ``no_proxy`` (or ``NO_PROXY``) lists, separated by commas
or spaces, hosts to reach directly: ``*`` (every host), a domain (``example.com`` also
covers ``www.example.com``; a leading ``.`` or ``*.`` is allowed), an IP address or a
network (``10.0.0.0/8``), each optionally with ``:port``.

http and https proxies are supported; another kind (``socks5://``) is a :class:`UsageError`
before anything is fetched. A ``user:password@`` in a proxy's URL is sent to that proxy
only (``Proxy-Authorization``), and never shown: a proxy is named without it in every error.

A proxy that fails gives the same ``connect`` error in every mode (:func:`unreachable`,
:func:`tunnel_refused`). An http URL through a proxy that answers it with a status (a 407)
gets that status as its record, as any response; an https URL, whose tunnel (``CONNECT``)
the proxy refused, gets ``connect: proxy ... refused the tunnel: 407 ...``. An ``https://``
proxy is reached over TLS and trusted as the servers are (``--cacert``, ``SSL_CERT_FILE``,
the system store; ``--insecure`` checks neither); one whose handshake or certificate fails
gives ``tls: proxy ...: <why>``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..core.outcome import Outcome
from ..errors import UsageError
from ..urls import without_userinfo

__all__ = [
    "Proxies",
    "from_env",
    "os_reason",
    "over_tls",
    "proxy_tls_failed",
    "tunnel_refused",
    "unreachable",
]

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class _Bypass:
    """One ``no_proxy`` entry."""

    domain: str | None = None
    network: _Net | None = None
    port: int | None = None

    def matches(self, host: str, port: int | None) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.network is not None:
            addr = _ip(host)
            return addr is not None and addr in self.network
        assert self.domain is not None
        return host == self.domain or host.endswith("." + self.domain)


@dataclass(frozen=True, slots=True)
class Proxies:
    """Which proxy, if any, each URL goes through. Pure once built."""

    http: str | None = None
    https: str | None = None
    bypass_all: bool = False
    bypass: tuple[_Bypass, ...] = ()

    def for_url(self, url: str) -> str | None:
        """The proxy URL for ``url``, or None to connect directly."""
        parts = urlsplit(url)
        proxy = self.https if parts.scheme.lower() == "https" else self.http
        if proxy is None or self.bypass_all:
            return None
        host = (parts.hostname or "").lower().rstrip(".")
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            port = None
        if any(b.matches(host, port) for b in self.bypass):
            return None
        return proxy


def from_env(environ: Mapping[str, str] | None = None) -> Proxies:
    """The proxies the environment asks for (``os.environ`` unless given)."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        for key in (name.lower(), name.upper()):
            value = env.get(key, "").strip()
            if value:
                return value
        return None

    fallback = get("all_proxy")
    http = _proxy_url(get("http_proxy") or fallback)
    https = _proxy_url(get("https_proxy") or fallback)
    no_proxy = get("no_proxy") or ""
    entries = [e for e in no_proxy.replace(",", " ").split() if e]
    if "*" in entries:
        return Proxies(http=http, https=https, bypass_all=True)
    return Proxies(http=http, https=https, bypass=tuple(_bypass(e) for e in entries))


def _proxy_url(value: str | None) -> str | None:
    if value is None:
        return None
    url = value if "://" in value else f"http://{value}"
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise UsageError(
            f"proxy {without_userinfo(value)!r} from the environment is a {scheme} proxy; "
            "only http:// and https:// proxies are supported"
        )
    if not urlsplit(url).hostname:
        raise UsageError(f"proxy {without_userinfo(value)!r} from the environment has no host")
    return url


def _bypass(entry: str) -> _Bypass:
    text = entry.lower()
    port: int | None = None
    if text.startswith("["):  # [v6]:port
        addr, _, rest = text[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        text = addr
    elif text.count(":") == 1:
        host, _, tail = text.partition(":")
        if tail.isdigit():
            text, port = host, int(tail)
    try:
        return _Bypass(network=ipaddress.ip_network(text, strict=False), port=port)
    except ValueError:
        pass
    domain = text.removeprefix("*").lstrip(".").rstrip(".")
    return _Bypass(domain=domain, port=port)


def _ip(host: str) -> _IP | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def unreachable(proxy: str, why: str) -> Outcome:
    """The outcome of a request whose proxy could not be reached (refused, down, no such
    host): ``why`` is the system's word for it (``Connection refused``)."""
    return Outcome.failed("connect", f"proxy {without_userinfo(proxy)} unreachable: {why}")


def over_tls(proxy: str) -> bool:
    """Whether ``proxy`` (a URL from :class:`Proxies`) is an ``https://`` one, reached over TLS."""
    return proxy[:8].lower() == "https://"


def proxy_tls_failed(proxy: str, why: str) -> Outcome:
    """The outcome of a request whose ``https://`` proxy failed the TLS handshake or its
    certificate check (it is trusted as the servers are: ``--cacert``, ``SSL_CERT_FILE``,
    the system store; ``--insecure`` checks neither): ``why`` is the TLS library's word."""
    return Outcome.failed("tls", f"proxy {without_userinfo(proxy)}: {' '.join(why.split())}")


def tunnel_refused(proxy: str, status: int) -> Outcome:
    """The outcome of an https request whose tunnel (``CONNECT``) the proxy answered with
    ``status``, not 200: a 407 (credentials missing or wrong), a 403, a 502..."""
    import http  # here: only a refused tunnel needs the phrase

    try:
        phrase = f" {http.HTTPStatus(status).phrase}"
    except ValueError:
        phrase = ""
    detail = f"proxy {without_userinfo(proxy)} refused the tunnel: {status}{phrase}"
    return Outcome.failed("connect", detail)


_ERRNO = re.compile(r"\[Errno (-?\d+)\] ([^'\)\]]+)")


def os_reason(text: str) -> str:
    """The system's words in an exception's text (``[Errno 111] Connection refused`` ->
    ``Connection refused``), else the text, short."""
    found = _ERRNO.search(text)
    if found is not None:
        return found[2].strip()
    return " ".join(text.split())[:200] or "unknown"
