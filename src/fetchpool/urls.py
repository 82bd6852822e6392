"""URLs: the one place that says whether a URL can be fetched and which host it counts
against. Pure; no I/O.

- :func:`check_url` / :func:`invalid_record`: why a URL cannot be fetched (its
  ``invalid-url`` record), or None;
- :func:`host_key`: the ``host:port`` every per-host limit applies to;
- :func:`admit`: both at once for the scheduler, by one regex match for a plain URL
  (:func:`plain_authority`), the common case, since this runs for every URL;
- :class:`Rejected`: an input line that is no URL whatever its text says (bytes that are not
  UTF-8, a line too long), as the text of its record's ``url``;
- :func:`origin`, :func:`userinfo`, :func:`without_userinfo`, :func:`redact`: the
  credentials rules (credentials go to the input's origin only; a password is never shown).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote, urlsplit

from .records import Record, error_record

__all__ = [
    "Rejected",
    "admit",
    "check_url",
    "escape_surrogates",
    "host_key",
    "invalid_record",
    "origin",
    "plain_authority",
    "plain_key",
    "redact",
    "userinfo",
    "with_userinfo",
    "without_userinfo",
]

_SCHEMES = ("http", "https")
_BAD_HOST_CHARS = frozenset(' \t\r\n<>"{}|\\^`%')
_SURROGATE = re.compile("[\ud800-\udfff]")
_AUTHORITY_END = re.compile("[/?#]")


class Rejected(str):
    """An input line that is not fetched, whatever its text: ``why`` says why (its
    ``invalid-url`` detail), and the text is what its record's ``url`` holds (bytes that
    were not UTF-8 written as ``\\xHH``; an over-long line cut short). Made by
    :mod:`fetchpool.input.sources`; it pickles, so it reaches worker processes as it is."""

    why: str

    def __new__(cls, text: str, why: str) -> Rejected:
        self = super().__new__(cls, text)
        self.why = why
        return self

    def __reduce__(self) -> tuple[type[Rejected], tuple[str, str]]:
        return (Rejected, (str(self), self.why))


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as ``\\xHH`` (one that stands for a byte,
    as ``surrogateescape`` makes them) or ``\\uXXXX``: text every output can encode."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text

    def one(match: re.Match[str]) -> str:
        code = ord(match[0])
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"

    return _SURROGATE.sub(one, text)


# The common case, accepted without taking the URL apart: http(s)://host[:port][/...] with a
# plain DNS name or IPv4 host (group 1) and printable ASCII after it; group 2 is the port.
# Everything else gets the full check.
_PLAIN = re.compile(
    r"[hH][tT][tT][pP][sS]?://"
    r"([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)"
    r"(?::([0-9]{1,5}))?(?:[/?#][!-~]*)?"
)


def plain_authority(url: str) -> tuple[str, int] | None:
    """The host (as written) and port (filled in) of a plain URL — the common case, which
    can be fetched without the full check — or None for any other URL. One regex match:
    this runs for every URL."""
    plain = _PLAIN.fullmatch(url)
    if plain is None or len(plain[1]) > 253:
        return None
    port = plain[2]
    number = (443 if url[4] in "sS" else 80) if port is None else int(port)
    return (plain[1], number) if 0 < number < 65536 else None


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be fetched, or None when it can. Pure; no I/O."""
    return None if plain_authority(url) is not None else _check_fully(url)


def _check_fully(url: str) -> str | None:
    if isinstance(url, Rejected):
        return url.why
    if not url:
        return "empty URL"
    if not url.isascii() and _SURROGATE.search(url) is not None:
        return "not valid UTF-8 (a lone surrogate)"
    # Fast path first: printable ASCII without a space has no whitespace or control character.
    if (" " in url or not (url.isascii() and url.isprintable())) and any(
        c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url
    ):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        return str(exc)
    if not parts.scheme:
        return "no scheme (write http:// or https://)"
    if parts.scheme.lower() not in _SCHEMES:
        return f"scheme {parts.scheme!r} is not http or https"
    host = parts.hostname
    if not host:
        return "no host"
    if port == 0:
        return "port 0"
    if parts.netloc.startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return f"bad IPv6 address {host!r}"
    elif not _BAD_HOST_CHARS.isdisjoint(host) or ".." in host or len(host) > 253:
        return f"bad host {host!r}"
    elif any(len(label) > 63 for label in host.split(".")):  # DNS allows 63 bytes a label
        return f"bad host {host!r}: a part longer than 63 characters"
    return None


def plain_key(url: str) -> str | None:
    """:func:`host_key` of a plain URL (:func:`plain_authority`), without urlsplit (several
    times slower); None for any other URL."""
    plain = plain_authority(url)
    return None if plain is None else f"{plain[0].lower()}:{plain[1]}"


def host_key(url: str) -> str:
    """The host a URL's limits apply to: ``host:port``, lower case, the port filled in."""
    return plain_key(url) or _host_key_parsed(url)


def _host_key_parsed(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if parts.scheme.lower() == "https" else 80
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def invalid_record(url: str) -> Record | None:
    """The ``invalid-url`` record for a URL that cannot be fetched, or None when it can."""
    why = check_url(url)
    if why is None:
        return None
    return error_record(escape_surrogates(str(url)), "invalid-url", redact(why, url))


#: Host keys of the authorities of plain URLs seen lately (``"http://host:port"`` ->
#: ``"host:port"``): a URL whose authority is there, with a plain path after it, is admitted
#: without the regex (a fifth of the cost; lists name few hosts many times). Cleared when full.
_KEYS: dict[str, str] = {}
_KEYS_MAX = 4096


def admit(url: str) -> str | Record:
    """The host key (:func:`host_key`) of a URL that can be fetched, or its ``invalid-url``
    record. A plain URL, the common case, is checked and keyed by one regex match, or by a
    look-up of its authority when one like it came before."""
    if url.__class__ is Rejected:  # whatever its text looks like
        return error_record(str(url), "invalid-url", url.why)  # type: ignore[attr-defined]
    cut = url.find("/", 8)  # the slash that starts the path, after "https://" and a host
    if cut > 0:
        key = _KEYS.get(url[:cut])
        # A known plain authority, then "/" and printable ASCII without a space, as _PLAIN.
        if key is not None and url.isascii() and url.isprintable() and " " not in url:
            return key
    # plain_key, written out: this runs for every URL, and two calls cost a third of it.
    plain = _PLAIN.fullmatch(url)
    if plain is not None and len(plain[1]) <= 253:
        port = plain[2]
        number = (443 if url[4] in "sS" else 80) if port is None else int(port)
        if 0 < number < 65536:
            key = f"{plain[1].lower()}:{number}"
            if cut > 0 and plain.end(1 if port is None else 2) == cut:  # the path starts there
                if len(_KEYS) >= _KEYS_MAX:
                    _KEYS.clear()
                _KEYS[url[:cut]] = key
            return key
    bad = invalid_record(url)
    return host_key(url) if bad is None else bad


# -- credentials --------------------------------------------------------------------------


def origin(url: str) -> tuple[str, str, int | None]:
    """A URL's origin: scheme, host (lower case) and port (filled in), as curl, requests and
    httpx compare them before sending credentials on a redirect."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if scheme == "https" else 80
    return scheme, (parts.hostname or "").rstrip("."), port


def userinfo(url: str) -> str | None:
    """The ``user:password`` (as written, percent-encoded) of a URL, or None. Cheap for the
    common URL, which has no ``@``."""
    if "@" not in url:
        return None
    _, sep, rest = url.partition("://")
    netloc = _AUTHORITY_END.split(rest if sep else url, maxsplit=1)[0]  # as urlsplit cuts it
    info, sep, _ = netloc.rpartition("@")
    return info if sep else None


def without_userinfo(url: str) -> str:
    """``url`` without its ``user:password@``: how it is shown anywhere but the record's url."""
    info = userinfo(url)
    if info is None:
        return url
    scheme, sep, rest = url.partition("://")
    return scheme + sep + rest.replace(info + "@", "", 1)


def with_userinfo(url: str, info: str) -> str:
    """``url`` with ``info@`` in front of its host (it has no userinfo of its own)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{info}@{rest}"


def redact(text: str, *urls: str) -> str:
    """``text`` (an error's detail) with the password of each of ``urls`` written ``***``,
    percent-encoded or not (where it stands as a word of its own), and each URL's
    ``user:password@`` taken out."""
    for url in urls:
        info = userinfo(url)
        if info is None:
            continue
        text = text.replace(info + "@", "")
        password = info.partition(":")[2]
        for form in {password, unquote(password)} - {""}:
            # Only as a word of its own: a password "p" must not turn "http" into "htt***".
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", "***", text)
    return text
