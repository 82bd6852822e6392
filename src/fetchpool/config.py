"""The policy of a run: one frozen object, applied the same way by every engine."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, TypedDict

from . import __version__
from .bodies.extract import parse_extract
from .bodies.hook import SinkFactory
from .errors import UsageError
from .knob import Knob
from .warc.capture import Archive

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_LOOKAHEAD_PER_SLOT",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_MODE",
    "DEFAULT_PER_HOST",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "MODES",
    "USER_AGENT",
    "Config",
    "Settings",
    "config_of",
    "parse_cluster",
]

#: Every way of running, in the order the lesson teaches them.
MODES: Final[tuple[str, ...]] = (
    "sequential",
    "threadpool",
    "to-thread",
    "threading",
    "async",
    "curl",
    "processes",
)
DEFAULT_MODE: Final = "curl"
DEFAULT_CONCURRENCY: Final = 32
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_REDIRECTS: Final = 10
DEFAULT_RETRIES: Final = 2
DEFAULT_BACKOFF: Final = 1.0
DEFAULT_MAX_WAIT: Final = 60.0
DEFAULT_PER_HOST: Final = 8
#: URLs read ahead per unit of concurrency, to find one whose host is free (see Config).
DEFAULT_LOOKAHEAD_PER_SLOT: Final = 8
USER_AGENT: Final = f"fetchpool/{__version__}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """How to fetch: limits and request settings. Validated on creation.

    ``timeout`` bounds each attempt end to end (the name lookup, connect, headers, redirects
    and the whole body); ``connect_timeout`` (None: the same as ``timeout``) bounds making a
    connection.
    ``retries`` more attempts are made after a connection error, a timeout, a truncated body
    or a 408, 429, 500, 502, 503 or 504, waiting ``backoff`` × 2^(n-1) seconds with jitter
    (or what ``Retry-After`` asks), never more than ``max_wait`` seconds.
    ``per_host`` requests at most are in flight to one host (``host:port``), ``concurrency``
    in total; ``rate`` and ``host_rate`` (None: no limit) cap attempts started per second,
    overall and per host. ``lookahead`` URLs at most are read ahead of the ones in flight,
    to find one whose host is free (None: ``DEFAULT_LOOKAHEAD_PER_SLOT`` × ``concurrency``).
    ``max_bytes`` stops reading a body past that many bytes after content decoding (None: no cap).
    ``headers`` are sent with every request; a ``User-Agent`` among them replaces fetchpool's.
    ``Authorization``, ``Cookie`` and ``Proxy-Authorization`` among them, and the input URL's
    ``user:password@``, go only to the input URL's origin (scheme, host, port): a redirect to
    another origin is requested without them, as curl, requests and httpx do, unless
    ``location_trusted`` (curl's ``--location-trusted``) sends them wherever it leads.
    ``trust_env``: take proxies from the usual environment variables (see ``proxies``).
    ``body_sink`` makes a sink for each response body (see :mod:`fetchpool.bodies.hook`);
    None: bodies are only counted.
    ``extract`` names fields computed from each body
    (see :data:`fetchpool.bodies.extract.EXTRACTORS`).
    ``processes`` is the number of worker processes of the ``processes`` mode
    (None: one per usable core; never more than ``concurrency``).
    ``cluster`` runs the fetches on a Dask cluster (see :mod:`fetchpool.distributed.cluster`):
    a scheduler's address (``tcp://host:8786``) or ``local:N`` (a cluster of N worker
    processes on this machine); each worker runs the engine ``mode`` names. None: here.
    ``cacert``: trust the CA certificates in this PEM file instead of the system store
    (which honours ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``); ``insecure``: check no
    certificate and no host name (curl's ``--cacert`` and ``-k``). Both serve an
    ``https://`` proxy as they serve the servers.
    ``robots``: fetch each origin's robots.txt once, first, and fetch no URL it disallows
    (see :mod:`fetchpool.core.robots`; such a URL gets a ``robots`` error record).
    ``archive`` takes the exact bytes of every request of a URL when its record is made
    (see :mod:`fetchpool.warc`; set by ``fetchpool.run(warc=...)``); None: nothing is captured.
    ``robots_memory`` (with ``robots``): the robots.txt verdicts of origins fetched already,
    by origin, which the run uses instead of fetching them again and adds to as it learns
    more (set by ``--cluster``, whose batches of a host share them; None: the run's own).
    ``knob`` steers the run while it goes: pause, resume, the concurrency turned up or down,
    stop (see :class:`fetchpool.Knob`); None: the run goes as configured.
    """

    mode: str = DEFAULT_MODE
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    max_bytes: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    connect_timeout: float | None = None
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF
    max_wait: float = DEFAULT_MAX_WAIT
    per_host: int = DEFAULT_PER_HOST
    rate: float | None = None
    host_rate: float | None = None
    lookahead: int | None = None
    trust_env: bool = True
    location_trusted: bool = False
    body_sink: SinkFactory | None = None
    extract: tuple[str, ...] = ()
    processes: int | None = None
    cluster: str | None = None
    cacert: str | None = None
    insecure: bool = False
    robots: bool = False
    archive: Archive | None = None
    knob: Knob | None = None
    robots_memory: dict[Any, Any] | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"unknown mode {self.mode!r}; choose one of: {', '.join(MODES)}")
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int):
            raise UsageError(f"concurrency must be a whole number, not {self.concurrency!r}")
        if self.concurrency < 1:
            raise UsageError(f"concurrency must be at least 1, not {self.concurrency}")
        if not self.timeout > 0:
            raise UsageError(f"timeout must be a positive number of seconds, not {self.timeout}")
        if self.max_redirects < 0:
            raise UsageError(f"max_redirects must be 0 or more, not {self.max_redirects}")
        if self.max_bytes is not None and self.max_bytes < 0:
            raise UsageError(f"max_bytes must be 0 or more, not {self.max_bytes}")
        _check_limits(self)
        object.__setattr__(self, "extract", parse_extract(self.extract))
        if self.processes is not None and (
            isinstance(self.processes, bool)
            or not isinstance(self.processes, int)
            or self.processes < 1
        ):
            raise UsageError(f"processes must be a whole number, 1 or more, not {self.processes!r}")
        if self.cacert is not None and not isinstance(self.cacert, str):
            raise UsageError(f"cacert must be the path of a file, not {self.cacert!r}")
        if self.cluster is not None:
            parse_cluster(self.cluster)
            if self.mode == "processes":
                raise UsageError(
                    "--cluster runs a fetch engine on each Dask worker, and the processes "
                    "mode cannot be one: leave -m out (curl) or choose another mode"
                )
        merged = {"User-Agent": USER_AGENT}
        for name, value in self.headers.items():
            for known in list(merged):
                if known.lower() == name.lower():
                    del merged[known]
            merged[name] = value
        object.__setattr__(self, "headers", MappingProxyType(merged))

    @property
    def read_ahead(self) -> int:
        """URLs read ahead of the ones in flight: ``lookahead``, or its default."""
        if self.lookahead is not None:
            return self.lookahead
        return DEFAULT_LOOKAHEAD_PER_SLOT * self.concurrency

    @property
    def most_in_flight(self) -> int:
        """The most requests that may ever be in flight at once: ``concurrency``, or, with
        a ``knob``, the highest it can be turned to (but 1 in the sequential mode, whatever
        the knob says). The modes with a pool of threads size it to this (threads start
        only as they are needed)."""
        if self.mode == "sequential":
            return 1
        if self.knob is None:
            return self.concurrency
        return max(self.concurrency, self.knob.most)


class Settings(TypedDict, total=False):
    """The fields of :class:`Config` as keyword arguments (``fetch(urls, timeout=5)``):
    the library's calls take ``**settings: Unpack[Settings]``, so their keywords are the
    config's and type-checked. A test keeps the two in step. ``extract`` may also be
    given as text (``"title,sha256"``) or a list."""

    mode: str
    concurrency: int
    timeout: float
    max_redirects: int
    max_bytes: int | None
    headers: Mapping[str, str]
    connect_timeout: float | None
    retries: int
    backoff: float
    max_wait: float
    per_host: int
    rate: float | None
    host_rate: float | None
    lookahead: int | None
    trust_env: bool
    location_trusted: bool
    body_sink: SinkFactory | None
    extract: str | Iterable[str]
    processes: int | None
    cluster: str | None
    cacert: str | None
    insecure: bool
    robots: bool
    archive: Archive | None
    knob: Knob | None
    robots_memory: dict[Any, Any] | None


def config_of(config: Config | None, settings: Settings) -> Config:
    """``config`` when given (then no other setting may be), else a Config of ``settings``."""
    if config is not None:
        if settings:
            names = ", ".join(sorted(settings))
            raise UsageError(f"give either config= or settings ({names}), not both")
        return config
    given = dict(settings)
    given["extract"] = parse_extract(settings.get("extract", ()))
    return Config(**given)  # type: ignore[arg-type]  # the same keys, checked by a test


def _whole(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name} must be a whole number, not {value!r}")
    if value < low:
        raise UsageError(f"{name} must be at least {low}, not {value}")


def _number(name: str, value: object, what: str, *, zero: bool = False) -> None:
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > 0 or (zero and value == 0))
    ):
        return
    least = "0 or more" if zero else "more than 0"
    raise UsageError(f"{name} must be {least} {what}, not {value!r}")


def _check_limits(cfg: Config) -> None:
    """The retry and limit settings, each checked with a message naming it."""
    _whole("retries", cfg.retries, 0)
    _whole("per_host", cfg.per_host, 1)
    if cfg.lookahead is not None:
        _whole("lookahead", cfg.lookahead, 1)
    _number("backoff", cfg.backoff, "seconds", zero=True)
    _number("max_wait", cfg.max_wait, "seconds", zero=True)
    if cfg.connect_timeout is not None:
        _number("connect_timeout", cfg.connect_timeout, "seconds")
    if cfg.rate is not None:
        _number("rate", cfg.rate, "requests per second")
    if cfg.host_rate is not None:
        _number("host_rate", cfg.host_rate, "requests per second")


#: The address schemes Dask's comms speak; ``local:N`` is fetchpool's own.
_CLUSTER_SCHEMES: Final = ("tcp", "tls", "inproc", "ucx", "ws", "wss")


def parse_cluster(text: object) -> str | int:
    """A ``cluster`` value: the N of ``local:N`` (an int), or a scheduler address as given.
    Anything else raises UsageError in one line."""
    if isinstance(text, str):
        scheme, sep, rest = text.partition(":")
        if scheme == "local" and sep:
            if rest.isdigit() and int(rest) >= 1:
                return int(rest)
        elif scheme in _CLUSTER_SCHEMES and rest.startswith("//") and len(rest) > 2:
            return text
    raise UsageError(
        f"bad cluster {text!r}: give a Dask scheduler's address (tcp://host:8786) "
        "or local:N with N worker processes, 1 or more"
    )


def parse_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` -> ``('Name', 'value')``; a bad line raises UsageError."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(c in name for c in " \t\r\n"):
        raise UsageError(f"bad header {text!r}; write it as 'Name: value'")
    if "\r" in value or "\n" in value:
        raise UsageError(f"bad header {text!r}: a value cannot hold a line break")
    return name, value.strip()
