"""The scheduler: which request starts next, and what a finished request leads to.

Every engine runs the same loop around it (see :mod:`.drive`): ``poll()`` says start this
:class:`Job` (one GET of ``job.target`` within ``job.time_left`` seconds), hand over this
:class:`Record` (an invalid URL: no request), :class:`Wait` (nothing may start yet), or
None (the run is over); ``finish(job, outcome)`` returns the URL's record, or None when
the URL goes on — to the next redirect hop, or to another attempt. The scheduler holds
every limit — ``concurrency`` in flight, ``per_host`` in flight to one host, ``rate`` and
``host_rate`` requests started a second (redirect hops and retries count like any other
request), retries with backoff, the pause after a 429, the redirect rules — and does no
I/O and no locking: one thread or one event loop owns it. Clocks and randomness are
injected.

An attempt is a request and the redirect hops after it; ``timeout`` bounds the time its
requests are in flight, together (time spent waiting for a turn between hops does not
count). A retry starts a new attempt at the URL that failed.

With ``robots`` (:mod:`.robots`), a URL waits until its origin's robots.txt has been
fetched — an internal job, first in its host's line, under the same limits, whose answer
is no record but the origin's verdict for the run — and a URL it disallows (an input or a
redirect hop) becomes a ``robots`` error record.

Input is read ahead by at most ``lookahead`` URLs (plus those waiting to be retried, which
count against the same budget), so a worker never sits idle behind a busy host while URLs
for other hosts wait in that window, and memory stays O(concurrency + lookahead). Hosts
take turns: after a start, a host goes to the back of the line.

A run can be steered while it goes (:mod:`fetchpool.knob`, applied by the drive loops):
:meth:`Scheduler.set_concurrency` changes the limit in flight (lowering cancels nothing;
the requests in flight end as usual), and while :meth:`Scheduler.pause` holds, nothing
new starts.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import DEFAULT_LOOKAHEAD_PER_SLOT, Config
from ..knob import Knob
from ..records import Record, error_record, response_record
from ..urls import (
    admit,
    escape_surrogates,
    host_key,
    origin,
    redact,
    userinfo,
    with_userinfo,
    without_userinfo,
)
from .limits import HostState, Spacing
from .outcome import Outcome
from .redirects import redirect_target
from .retry import THROTTLE_STATUS, backoff, retryable, server_wait
from .robots import MAX_REDIRECTS as ROBOTS_REDIRECTS
from .robots import Verdict, agent_token, kept_bytes, robots_url, verdict

if TYPE_CHECKING:
    from ..warc.capture import Capture

__all__ = ["FORGET_AFTER", "Job", "Scheduler", "Wait"]

#: Seconds after which a quiet host that was slowed down is forgotten (and trusted again).
FORGET_AFTER = 60.0
_SWEEP_EVERY = 1.0


@dataclass(slots=True, eq=False)
class Job:
    """One URL on its way. ``target`` is the URL to request now (``url`` or where it
    redirected), ``attempt`` the number of the attempt under way (from 1), ``time_left``
    what is left of this attempt's timeout for the next request. ``foreign``: ``target``
    is on another origin than ``url`` (a redirect led there), so the credentials headers
    are not sent to it (unless ``location_trusted``)."""

    url: str
    target: str
    host: str
    seen: set[str]
    attempt: int = 0
    first_start: float = 0.0
    time_left: float = 0.0
    hop: bool = False  # the next start continues an attempt (a redirect), not a new one
    started: float = 0.0  # when the request in flight started
    foreign: bool = False  # target is on another origin than url: send no credentials
    captures: list[Capture] | None = None  # what its requests sent and got (--warc)
    robots: bool = False  # the fetch of an origin's robots.txt (--robots): no record


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing may start now: poll again after ``seconds``, or when an attempt finishes
    (``seconds`` None: only a finish can change anything)."""

    seconds: float | None


Step = Job | Record | Wait | None


class Scheduler:
    """Decides, for one run, when each attempt starts and when a URL is done."""

    def __init__(
        self,
        urls: Iterable[str],
        config: Config,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self._source = iter(urls)
        self._cfg = config
        self._clock, self._wall = clock, wall
        self._rand = _uniform if rand is None else rand  # a retry's jitter
        self._exhausted = False
        self._hosts: dict[str, HostState] = {}
        self._waiting: dict[str, HostState] = {}  # hosts with queued jobs, in turn order
        self._delayed: list[tuple[float, int, Job]] = []  # retries, by when they are due
        self._seq = itertools.count()
        self._rate = Spacing(config.rate)
        self._held = 0  # jobs queued or delayed: read, not in flight, not done
        self._in_flight = 0
        self._next_sweep = 0.0
        # Read on every poll: kept here, not looked up through the config each time.
        self._limit = config.concurrency
        self._read_ahead = config.read_ahead
        # --robots: each origin's verdict, the jobs waiting for one, records to hand over.
        self._verdicts: dict[tuple[str, str, int | None], Verdict] = {}
        self._parked: dict[tuple[str, str, int | None], list[Job]] = {}
        self._ready: deque[Record] = deque()
        self._delays: dict[str, float] = {}  # host key -> seconds between its requests
        if config.robots_memory is not None:  # verdicts a cluster's batches share
            self._verdicts = config.robots_memory
            for known in self._verdicts.values():
                if known.delay is not None:
                    host = host_key(known.source)
                    self._delays[host] = max(known.delay, self._delays.get(host, 0.0))
        self._robots = config.robots
        self._agent = agent_token(config.headers.get("User-Agent", ""))
        self._paused = False

    @property
    def concurrency(self) -> int:
        return self._cfg.concurrency

    @property
    def knob(self) -> Knob | None:
        """What steers this run while it goes (the config's), or None."""
        return self._cfg.knob

    def set_concurrency(self, n: int) -> None:
        """From now on at most ``n`` requests in flight (0: none start). Lowering cancels
        nothing: the requests in flight end as usual, and none start until fewer than
        ``n`` are. Never more than the config's ``most_in_flight`` (1 in the sequential
        mode). The default look-ahead grows with it, so a free host is still found."""
        n = min(n, self._cfg.most_in_flight)
        self._limit = n
        if self._cfg.lookahead is None:
            self._read_ahead = max(self._cfg.read_ahead, DEFAULT_LOOKAHEAD_PER_SLOT * n)

    def pause(self, paused: bool) -> None:
        """While paused, nothing new starts (redirect hops and retries included)."""
        self._paused = paused

    def busiest(self, count: int) -> list[tuple[str, int]]:
        """The ``count`` hosts with the most requests in flight, and how many each."""
        busy = [(key, h.in_flight) for key, h in self._hosts.items() if h.in_flight]
        return heapq.nlargest(count, busy, key=lambda pair: pair[1])

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def held(self) -> int:
        return self._held

    @property
    def hosts_known(self) -> int:
        return len(self._hosts)

    def poll(self) -> Step:
        now = self._clock()
        if self._ready:
            return self._ready.popleft()  # URLs a robots.txt just disallowed
        # The checks of _release_due and _intake written out first: this runs once or twice
        # for every request, and most polls have nothing due and nothing to read.
        if self._delayed or now >= self._next_sweep:
            self._release_due(now)
        if not self._exhausted and self._held < self._read_ahead:
            bad = self._intake()
            if bad is not None:
                return bad
        if self._in_flight >= self._limit or (self._paused and self._held):
            return Wait(None)
        wake = math.inf
        rate_at = self._rate.next_at
        for key, host in self._waiting.items():
            # host.has_room() and host.ready_at(), written out (the same arithmetic).
            if host.in_flight >= max(1, int(host.window)):
                continue  # a finish there will poll again
            at = host.spacing.next_at
            if host.paused_until > at:
                at = host.paused_until
            if at <= now:
                if rate_at <= now:
                    return self._start(key, host, now)
                return Wait(rate_at - now)  # nothing at all may start before that
            wake = min(wake, at)
        if self._delayed:
            wake = min(wake, self._delayed[0][0])
        if wake < math.inf:
            return Wait(max(0.0, wake - now))
        if self._in_flight:
            return Wait(None)
        # Nothing in flight, nothing held: every URL is done.
        assert self._held == 0 and self._exhausted, "scheduler stalled"
        return None

    def finish(self, job: Job, outcome: Outcome) -> Record | None:
        """Account for a finished request; the URL's record, or None if it goes on."""
        now = self._clock()
        cfg = self._cfg
        self._in_flight -= 1
        host = self._hosts[job.host]
        throttled = outcome.status == THROTTLE_STATUS
        wait = self._wait(job, outcome) if throttled else 0.0
        host.finish(throttled=throttled, pause=wait, now=now)
        if not host.queue and not host.in_flight:  # else it cannot be forgotten: skip the call
            self._forget_if_idle(job.host, now)
        job.time_left -= now - job.started
        if outcome.capture is not None:
            if job.captures is None:
                job.captures = []
            job.captures.append(outcome.capture)
        if outcome.location is not None:
            hops = ROBOTS_REDIRECTS if job.robots else cfg.max_redirects
            nxt, why = redirect_target(job.target, outcome.location, job.seen, hops)
            if nxt is None:
                if job.robots:
                    self._robots_known(job, Outcome.failed("redirect", why or "refused"))
                    return None
                return self._archived(
                    job,
                    _record(job, Outcome.failed("redirect", why or "refused"), now, self._wall()),
                )
            foreign = False if cfg.location_trusted else origin(nxt) != origin(job.url)
            info = userinfo(job.url)
            if info is not None and not foreign and userinfo(nxt) is None:
                nxt = with_userinfo(nxt, info)  # the input's user:password, as curl keeps them
            job.target, job.host, job.foreign = nxt, host_key(nxt), foreign
            if job.time_left > 0:
                job.hop = True
                if self._robots and not job.robots:
                    return self._robots_gate(job, now)  # where it leads may be disallowed
                self._queue(job, front=True)  # a hop goes before its host's fresh URLs
                return None
            outcome = Outcome.failed(
                "timeout", f"no complete answer within {cfg.timeout:g} s (redirects)"
            )
        if job.attempt <= cfg.retries and retryable(outcome):
            if outcome.body is not None:
                outcome.body.discard()  # this response is not the URL's answer
            job.hop = False
            if not throttled:
                wait = self._wait(job, outcome)
            heapq.heappush(self._delayed, (now + wait, next(self._seq), job))
            self._held += 1
            return None
        if job.robots:
            self._robots_known(job, outcome)
            return None
        record = _record(job, outcome, now, self._wall())
        if job.captures is not None:
            self._archived(job, record)
        return record if outcome.body is None else outcome.body.done(record)

    # -- inside ------------------------------------------------------------------

    def _archived(self, job: Job, record: Record) -> Record:
        """Hand the captures of ``job``'s requests to the run's archive (--warc)."""
        archive = self._cfg.archive
        if job.captures is not None and archive is not None:
            archive.captured(job.url, job.captures)
            job.captures = None
        return record

    def _wait(self, job: Job, outcome: Outcome) -> float:
        """How long the host (after a 429) or the URL (before a retry) waits: what the
        server's Retry-After asks, else the backoff for this attempt. Asked only when
        needed: most answers are neither."""
        cfg = self._cfg
        asked = server_wait(outcome, self._wall(), cfg.max_wait)
        if asked is None:
            return backoff(job.attempt, cfg.backoff, cfg.max_wait, self._rand())
        return asked

    def _intake(self) -> Record | None:
        """Read URLs until the look-ahead is full; an invalid one is returned at once."""
        if self._exhausted:
            return None
        source, read_ahead = self._source, self._read_ahead
        while self._held < read_ahead:
            url = next(source, None)
            if url is None:
                self._exhausted = True
                break
            key = admit(url)
            if not isinstance(key, str):
                return key  # the invalid-url record
            job = Job(url, url, key, {url})  # positional: a third cheaper
            if not self._robots:
                self._queue(job, front=False)
            elif (refused := self._robots_gate(job, 0.0)) is not None:
                return refused
        return None

    # -- robots.txt (--robots) --------------------------------------------------------

    def _robots_gate(self, job: Job, now: float) -> Record | None:
        """Queue ``job`` if its target's robots.txt allows it; its ``robots`` record if not;
        park it (and queue the robots.txt fetch, once) while its verdict is not known."""
        key = origin(job.target)
        known = self._verdicts.get(key)
        if known is None:
            parked = self._parked.get(key)
            if parked is None:
                parked = self._parked[key] = []
                src = robots_url(job.target)
                fetch = Job(url=src, target=src, host=host_key(src), seen={src}, robots=True)
                self._queue(fetch, front=True)
            parked.append(job)
            self._held += 1
            return None
        why = known.refusal(without_userinfo(job.target), self._agent)
        if why is None:
            self._queue(job, front=job.hop)
            return None
        if job.target != job.url:
            why += f" (a redirect led to {without_userinfo(job.target)[:200]})"
        record = error_record(
            job.url,
            "robots",
            why,
            elapsed=now - job.first_start if job.attempt else 0.0,
            attempts=job.attempt,
        )
        return self._archived(job, record)

    def _robots_known(self, job: Job, outcome: Outcome) -> None:
        """The robots.txt fetch ``job`` is over: its origin's verdict, for the run; the
        jobs that waited for it go on (or become records)."""
        body = kept_bytes(outcome.body)
        job.captures = None  # not a URL of the input: nothing to archive under its name
        key = origin(job.url)
        found = self._verdicts[key] = verdict(job.url, outcome, body, self._agent)
        if found.delay is not None:
            host = host_key(job.url)
            delay = self._delays[host] = max(found.delay, self._delays.get(host, 0.0))
            state = self._hosts.get(host)
            if state is None:  # forgotten as the fetch ended: the spacing starts from it
                state = self._hosts[host] = HostState(self._cfg.per_host, self._cfg.host_rate)
            _slow(state, delay, self._clock())
        for parked in self._parked.pop(key, []):
            self._held -= 1
            refused = self._robots_gate(parked, self._clock())
            if refused is not None:
                self._ready.append(refused)

    def _queue(self, job: Job, *, front: bool) -> None:
        host = self._hosts.get(job.host)
        if host is None:
            host = self._hosts[job.host] = HostState(self._cfg.per_host, self._cfg.host_rate)
            if self._delays and (delay := self._delays.get(job.host)) is not None:
                _slow(host, delay, -math.inf)  # robots.txt's Crawl-delay (--robots)
        if front:
            host.queue.appendleft(job)
        else:
            host.queue.append(job)
        self._waiting.setdefault(job.host, host)
        self._held += 1

    def _release_due(self, now: float) -> None:
        while self._delayed and self._delayed[0][0] <= now:
            _, _, job = heapq.heappop(self._delayed)
            self._held -= 1
            job.host = host_key(job.target)
            self._queue(job, front=True)  # a retry goes before its host's fresh URLs
        if now >= self._next_sweep:
            self._next_sweep = now + _SWEEP_EVERY
            for key in [k for k, h in self._hosts.items() if h.forgettable(now, FORGET_AFTER)]:
                del self._hosts[key]

    def _start(self, key: str, host: HostState, now: float) -> Job:
        job = host.queue.popleft()
        del self._waiting[key]
        if host.queue:
            self._waiting[key] = host  # to the back of the line
        # host.start(now) and self._rate.take(now), written out (a spacing of 0: no limit).
        host.in_flight += 1
        if host.spacing.interval:
            host.spacing.take(now)
        if self._rate.interval:
            self._rate.take(now)
        self._held -= 1
        self._in_flight += 1
        if not job.hop:  # a new attempt, with a whole timeout
            job.attempt += 1
            job.time_left = self._cfg.timeout
            if job.attempt == 1:
                job.first_start = now
        job.started = now
        return job

    def _forget_if_idle(self, key: str, now: float) -> None:
        host = self._hosts.get(key)
        if host is not None and host.forgettable(now, FORGET_AFTER):
            del self._hosts[key]


def _uniform() -> float:
    """``random.random()``: random is imported at the first retry (with hashlib's SHA-512
    it costs every run's start 0.5 ms, and most runs retry nothing)."""
    import random

    return random.random()


def _slow(host: HostState, delay: float, now: float) -> None:
    """Space ``host``'s starts ``delay`` seconds apart at least, from ``now`` on."""
    spacing = host.spacing
    if delay > spacing.interval:
        spacing.interval = delay
    spacing.next_at = max(spacing.next_at, now + delay)


def _record(job: Job, outcome: Outcome, now: float, wall: float) -> Record:
    elapsed = now - job.first_start
    started = wall - elapsed  # the Unix time of the first attempt's start
    if outcome.kind is not None:
        detail = outcome.detail
        if "@" in job.url or "@" in job.target:  # never a password in an error's detail
            detail = redact(detail, job.url, job.target)
        return error_record(
            job.url, outcome.kind, detail, elapsed=elapsed, attempts=job.attempt, started=started
        )
    final, content_type = job.target, outcome.content_type
    if "@" in final:  # the input's user:password stays in the record's url only
        final = without_userinfo(final)
    if content_type is not None and not content_type.isascii():
        content_type = escape_surrogates(content_type)  # aiohttp keeps bad bytes as surrogates
    return response_record(
        job.url, outcome.status, outcome.length, elapsed, final, content_type, job.attempt,
        outcome.http_version, started,
    )  # fmt: skip
