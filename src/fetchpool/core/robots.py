"""robots.txt (``--robots``): what one origin's file allows, decided once per run. Pure.

The rules are RFC 9309's, as protego (the parser Scrapy uses) reads them, matched against
the product token of the run's User-Agent (``fetchpool`` unless ``-H User-Agent`` says
otherwise). What the fetch of ``/robots.txt`` gave decides the verdict for its origin
(scheme, host, port) for the whole run:

- a 2xx: its rules (the first :data:`MAX_BYTES` of it; ``Crawl-delay`` or ``Request-rate``
  for the token, or for ``*``, spaces that host's requests at least that far apart);
- a 4xx other than 407 and 429 ("unavailable"), or redirects past :data:`MAX_REDIRECTS`
  hops: everything allowed;
- a 407 (a proxy's, not the site's), a 429, a 5xx, or no answer at all (DNS, connect,
  TLS, timeout...) after the run's retries ("unreachable"): everything disallowed, as
  RFC 9309 asks — for this run; a later run asks again.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from ..bodies.hook import BodySink, KeptBody, SinkFactory, no_sink
from ..records import Record
from .outcome import Outcome

if TYPE_CHECKING:
    from protego import Protego  # imported where a robots.txt is read: it costs a run 27 ms

__all__ = [
    "MAX_BYTES",
    "MAX_REDIRECTS",
    "KeepRobots",
    "Verdict",
    "agent_token",
    "kept_bytes",
    "robots_url",
    "verdict",
]

#: The part of a robots.txt that is read (RFC 9309 asks for at least 500 KiB).
MAX_BYTES: Final = 500 * 1024
#: Redirects of a robots.txt followed (RFC 9309: at least five).
MAX_REDIRECTS: Final = 5


def robots_url(url: str) -> str:
    """The robots.txt of ``url``'s origin (no ``user:password``, no query)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme.lower()}://{host}/robots.txt"


def agent_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against: ``fetchpool`` of
    ``fetchpool/1.2``, ``MyBot`` of ``MyBot/2.0 (+https://example.com/bot)``."""
    first = user_agent.strip().split(None, 1)[0] if user_agent.strip() else ""
    return first.split("/", 1)[0] or "fetchpool"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an origin's robots.txt says, for the run. ``rules`` None: ``allow_all`` says."""

    source: str  # the robots.txt URL
    rules: Protego | None = None
    allow_all: bool = True
    why: str = ""  # why everything is disallowed (no rules)
    delay: float | None = None  # seconds between two requests to the host, at least

    def refusal(self, url: str, agent: str) -> str | None:
        """Why ``url`` may not be fetched (the detail of its ``robots`` error), or None."""
        if self.rules is None:
            return None if self.allow_all else self.why
        if self.rules.can_fetch(url, agent):
            return None
        return f"disallowed by {self.source}"


def verdict(source: str, outcome: Outcome, body: bytes | None, agent: str) -> Verdict:
    """The verdict for the origin of ``source`` (its robots.txt URL) from the outcome of its
    fetch (after redirects and retries) and the body it had (None: none kept)."""
    if outcome.kind is not None:
        if outcome.kind == "redirect":  # too many hops, or a loop: "unavailable"
            return Verdict(source)
        return Verdict(
            source,
            allow_all=False,
            why=f"{source} unreachable ({outcome.kind}: {outcome.detail}): "
            "every URL of the origin disallowed for this run",
        )
    status = outcome.status or 0
    if 200 <= status < 300:
        from protego import Protego

        text = (body or b"")[:MAX_BYTES].decode("utf-8", "replace")
        rules = Protego.parse(text)
        return Verdict(source, rules=rules, delay=_delay(rules, agent))
    if status in _NOT_THE_SITES_WORD or status >= 500:
        return Verdict(
            source,
            allow_all=False,
            why=f"{source} answered {status}: every URL of the origin disallowed for this run",
        )
    return Verdict(source)  # 4xx (and anything else): no rules, everything allowed


#: 4xx answers that say nothing of the site's wishes: too many requests, and a proxy's own
#: "Proxy Authentication Required" (an http_proxy that wants credentials).
_NOT_THE_SITES_WORD: Final = frozenset({407, 429})


def _delay(rules: Protego, agent: str) -> float | None:
    """Seconds between requests the rules ask of ``agent``: the larger of ``Crawl-delay``
    and ``Request-rate`` (n requests per s seconds: s/n), None when neither is given."""
    delays = []
    crawl = rules.crawl_delay(agent)
    if crawl is not None and crawl > 0:
        delays.append(float(crawl))
    rate = rules.request_rate(agent)
    if rate is not None and rate.requests > 0 and rate.seconds > 0:
        delays.append(rate.seconds / rate.requests)
    return max(delays) if delays else None


class _Tee:
    """The sink of a ``/robots.txt`` response: keeps its first :data:`MAX_BYTES` for the
    scheduler and hands every chunk on to the run's own sink (an input URL may be a
    robots.txt too, and then its body is the run's)."""

    __slots__ = ("_inner", "kept")

    def __init__(self, inner: BodySink) -> None:
        self._inner = inner
        self.kept = bytearray()

    def __enter__(self) -> _Tee:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)

    def write(self, chunk: bytes) -> None:
        room = MAX_BYTES - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]
        self._inner.write(chunk)

    def done(self, record: Record) -> Record:
        return self._inner.done(record)


class KeepRobots:
    """A body sink factory (``Config.body_sink``) that keeps the body of every response
    for a ``/robots.txt`` URL, for the scheduler; every other body goes to ``inner``."""

    __slots__ = ("_inner",)

    def __init__(self, inner: SinkFactory | None) -> None:
        self._inner = inner or no_sink

    def __call__(self, url: str, content_type: str | None) -> BodySink:
        inner = self._inner(url, content_type)
        if url.endswith("/robots.txt") and urlsplit(url).path == "/robots.txt":
            return _Tee(inner)
        return inner

    def check(self) -> None:
        """The inner factory's kept failure, if it keeps one (see bodies.hook)."""
        check = getattr(self._inner, "check", None)
        if check is not None:
            check()


def kept_bytes(body: KeptBody | None) -> bytes | None:
    """The robots.txt bytes a response's kept body holds (None: none), the body let go."""
    if body is None:
        return None
    sink = body.sink
    body.discard()
    return bytes(sink.kept) if isinstance(sink, _Tee) else None
