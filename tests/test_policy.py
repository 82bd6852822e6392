"""The shared policy as pure logic: retry decisions, backoff, Retry-After, limits, the
scheduler in simulated time (an injected clock and a fake fetcher), content decoding,
proxies from the environment, and the watchdog. No sockets."""

from __future__ import annotations

import gzip
import heapq
import itertools
import math
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fetchpool import Config, Record, UsageError
from fetchpool.core.drive import drive
from fetchpool.core.limits import HostState, Spacing
from fetchpool.core.outcome import FakeFetcher, Outcome
from fetchpool.core.retry import backoff, parse_retry_after, retryable, server_wait
from fetchpool.core.scheduler import Job, Scheduler, Wait
from fetchpool.transports.deadline import Deadline, Watchdog
from fetchpool.transports.decode import CHUNK, DecodeError, Decoder
from fetchpool.transports.proxies import from_env
from fetchpool.urls import host_key

pytestmark = pytest.mark.timeout(60)

OK = Outcome(status=200, length=10)

# -- retry decisions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Outcome(status=200), False),
        (Outcome(status=404), False),
        (Outcome(status=501), False),
        *[(Outcome(status=s), True) for s in (408, 429, 500, 502, 503, 504)],
        *[(Outcome.failed(k, "x"), True) for k in ("connect", "timeout", "truncated")],
        *[
            (Outcome.failed(k, "x"), False)
            for k in ("dns", "tls", "protocol", "redirect", "too-large", "invalid-url")
        ],
    ],
)
def test_which_outcomes_are_retried(outcome: Outcome, expected: bool) -> None:
    assert retryable(outcome) is expected


def test_backoff_doubles_is_capped_and_jittered_within_half_to_all() -> None:
    assert [backoff(n, 1.0, 60, 1.0 - 1e-12) for n in (1, 2, 3, 4)] == pytest.approx([1, 2, 4, 8])
    assert [backoff(n, 1.0, 60, 0.0) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert backoff(10, 1.0, 5.0, 0.999) <= 5.0
    assert backoff(10_000, 1.0, 5.0, 0.5) == pytest.approx(3.75)  # no overflow
    assert backoff(3, 0.0, 60, 0.7) == 0.0


@given(st.integers(1, 50), st.floats(0, 100), st.floats(0, 100), st.floats(0, 1, exclude_max=True))
def test_backoff_stays_between_half_and_the_capped_full_wait(
    attempt: int, base: float, cap: float, rand: float
) -> None:
    full = min(cap, base * 2.0 ** (attempt - 1))
    assert full / 2 - 1e-9 <= backoff(attempt, base, cap, rand) <= full + 1e-9


def test_retry_after_seconds_and_dates() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now) == pytest.approx(30, abs=1)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now) == 0.0  # past: now
    for bad in (None, "", "soon", "-5", "1.5", "Wed, 99 Foo 2015 07:28:00 GMT", "٣"):
        assert parse_retry_after(bad, now) is None, bad
    assert parse_retry_after("9" * 40, now) is not None  # absurd, but a number, then capped


@given(st.text())
def test_retry_after_never_raises(text: str) -> None:
    got = parse_retry_after(text, 1e9)
    assert got is None or got >= 0


def test_server_wait_is_capped() -> None:
    assert server_wait(Outcome(status=429, retry_after="3600"), 0, 60) == 60
    assert server_wait(Outcome(status=429, retry_after="2"), 0, 60) == 2
    assert server_wait(Outcome(status=429), 0, 60) is None


# -- limits ------------------------------------------------------------------------


def test_host_key_fills_in_the_port_and_ignores_case() -> None:
    assert host_key("http://Example.COM/a") == "example.com:80"
    assert host_key("https://example.com/") == "example.com:443"
    assert host_key("http://example.com:8080/") == "example.com:8080"
    assert host_key("http://[::1]:9/") == "[::1]:9"
    assert host_key("HTTP://example.com./") == "example.com:80"


_URLS_TO_KEY = st.tuples(
    st.sampled_from(["http://", "https://", "HTTPS://", "hTTp://", "ftp://", "http:/", ""]),
    st.sampled_from(["", "user@", "u:p@"]),
    st.text(alphabet="aZx09.-é%[]:", max_size=12),
    st.sampled_from(["", ":", ":0", ":80", ":8080", ":65535", ":65536", ":99999", ":00443", ":x"]),
    st.sampled_from(["", "/", "/p?q", "?q", "#f", "/a b", "\\"]),
).map("".join)


@given(_URLS_TO_KEY)
def test_host_key_fast_path_agrees_with_urlsplit(url: str) -> None:
    from fetchpool.urls import _host_key_parsed

    try:
        expected = _host_key_parsed(url)
    except ValueError:  # urlsplit refuses it; so does check_url, before any key is asked
        assume(False)
    assert host_key(url) == expected


def test_spacing_spaces_starts_and_saves_nothing_up() -> None:
    s = Spacing(4.0)  # one every 0.25 s
    assert s.ready_at() == -math.inf
    s.take(10.0)
    assert s.ready_at() == 10.25
    s.take(10.25)
    assert s.ready_at() == 10.5
    s.take(100.0)  # after a long pause: no burst allowed
    assert s.ready_at() == 100.25
    assert Spacing(None).ready_at() == -math.inf


def test_host_state_halves_on_429_and_opens_again_slowly() -> None:
    h = HostState(limit=8, per_second=None)
    for _ in range(8):
        h.start(0)
    assert not h.has_room()
    h.finish(throttled=True, pause=5.0, now=1.0)
    assert h.window == 4 and h.ready_at() == 6.0
    h.finish(throttled=True, pause=1.0, now=2.0)
    assert h.window == 2 and h.ready_at() == 6.0  # a shorter pause does not shorten it
    successes = 0
    while h.window < 8:
        h.start(7.0)
        h.finish(throttled=False, pause=0, now=7.0)
        successes += 1
    assert 10 < successes < 40  # about one more per window's worth of good answers
    assert h.in_flight == 6 and not h.forgettable(7.0, 60)  # 6 of the first 8 still go
    for _ in range(6):
        h.finish(throttled=False, pause=0, now=7.0)
    assert h.window == 8 and h.forgettable(7.0, 60)  # open again, idle: nothing to keep
    h.start(7.0)
    assert not h.forgettable(7.0, 60)  # a request in flight
    h.finish(throttled=True, pause=5.0, now=7.0)
    assert not h.forgettable(8.0, 60)  # paused until 12
    assert not h.forgettable(13.0, 60)  # the window still half shut, and not quiet long
    assert h.forgettable(67.0, 60)  # quiet for a minute: forgotten, whatever the window


# -- the scheduler in simulated time -------------------------------------------------


@dataclass
class Sim:
    records: list[tuple[float, Record]] = field(default_factory=list)
    starts: list[tuple[float, str, str, int]] = field(default_factory=list)  # t, host, url, n
    intervals: list[tuple[float, float, str]] = field(default_factory=list)
    pulled: int = 0
    max_held_ahead: int = 0

    def peak(self, host: str | None = None) -> int:
        events = sorted(
            [(s, 1) for s, e, h in self.intervals if host in (None, h)]
            + [(e, -1) for s, e, h in self.intervals if host in (None, h)]
        )
        level = best = 0
        for _, d in events:
            level += d
            best = max(best, level)
        return best

    def by_url(self) -> dict[str, Record]:
        got = {r.url: r for _, r in self.records}
        assert len(got) == len(self.records), "one record per URL"
        return got


Answer = Callable[[str, int], tuple[float, Outcome]]


def simulate(urls: list[str], config: Config, answer: Answer) -> Sim:
    """Run the scheduler against simulated requests: ``answer(url, n)`` gives how long the
    n-th request for ``url`` takes and what it gives (a timeout if longer than the job has
    left). Time only moves when nothing can start."""
    sim = Sim()
    now = 0.0
    asked: Counter[str] = Counter()

    def source() -> Iterator[str]:
        for u in urls:
            sim.pulled += 1
            yield u

    sched = Scheduler(source(), config, clock=lambda: now, wall=lambda: 1e9 + now, rand=lambda: 0.5)
    running: list[tuple[float, int, Job, Outcome, float]] = []
    seq = itertools.count()
    while True:
        sim.max_held_ahead = max(sim.max_held_ahead, sim.pulled - len(sim.records))
        step = sched.poll()
        if step is None:
            break
        if isinstance(step, Record):
            sim.records.append((now, step))
        elif isinstance(step, Job):
            asked[step.target] += 1
            seconds, outcome = answer(step.target, asked[step.target])
            if seconds > step.time_left:  # what a fetcher's deadline does
                seconds, outcome = step.time_left, Outcome.failed("timeout", "slow")
            heapq.heappush(running, (now + seconds, next(seq), step, outcome, now))
            sim.starts.append((now, step.host, step.target, step.attempt))
        else:
            assert isinstance(step, Wait)
            until = now + step.seconds if step.seconds is not None else math.inf
            if running:
                until = min(until, running[0][0])
            assert until < math.inf, "the scheduler waits for nothing"
            now = max(now, until)
            while running and running[0][0] <= now:
                end, _, job, outcome, began = heapq.heappop(running)
                sim.intervals.append((began, end, job.host))
                rec = sched.finish(job, outcome)
                if rec is not None:
                    sim.records.append((now, rec))
    assert sched.in_flight == 0 and sched.held == 0
    return sim


def always(seconds: float, outcome: Outcome = OK) -> Answer:
    return lambda url, n: (seconds, outcome)


@pytest.mark.parametrize(("concurrency", "per_host"), [(1, 1), (4, 2), (10, 3), (16, 16)])
def test_concurrency_and_per_host_limits_hold_and_are_used(concurrency: int, per_host: int) -> None:
    urls = [f"http://h{i % 5}.test/{i}" for i in range(200)]
    sim = simulate(urls, Config(concurrency=concurrency, per_host=per_host), always(1.0))
    assert len(sim.by_url()) == 200
    assert sim.peak() == min(concurrency, 5 * per_host)
    for h in range(5):
        assert 0 < sim.peak(f"h{h}.test:80") <= per_host
    alone = simulate(urls[::5], Config(concurrency=concurrency, per_host=per_host), always(1.0))
    assert alone.peak("h0.test:80") == min(per_host, concurrency)


def test_rate_spaces_every_start_overall_and_per_host() -> None:
    urls = [f"http://h{i % 3}.test/{i}" for i in range(60)]
    sim = simulate(urls, Config(concurrency=50, rate=10.0), always(0.01))
    times = [t for t, *_ in sim.starts]
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(times))
    assert times[-1] == pytest.approx(5.9)
    sim = simulate(urls, Config(concurrency=50, host_rate=4.0), always(0.01))
    for h in range(3):
        ts = [t for t, host, *_ in sim.starts if host == f"h{h}.test:80"]
        assert all(b - a >= 0.25 - 1e-9 for a, b in itertools.pairwise(ts))
    # Hosts are spaced on their own: 3 hosts at 4/s take as long as one host's 20 URLs.
    assert max(t for t, *_ in sim.starts) == pytest.approx(19 * 0.25)


def test_a_slow_host_does_not_starve_the_others() -> None:
    slow = [f"http://slow.test/{i}" for i in range(20)]
    fast = [f"http://fast{i % 4}.test/{i}" for i in range(80)]

    def answer(url: str, n: int) -> tuple[float, Outcome]:
        return (10.0 if "slow" in url else 0.1), OK

    sim = simulate(slow + fast, Config(concurrency=8, per_host=2), answer)
    done = {r.url: t for t, r in sim.records}
    # The slow host alone takes 20 / 2 x 10 s = 100 s; the fast URLs, read after it,
    # use the other 6 workers meanwhile and are all done long before.
    assert max(done[u] for u in slow) == pytest.approx(100.0)
    assert max(done[u] for u in fast) < 10.0
    assert sim.peak("slow.test:80") == 2


def test_look_ahead_is_bounded_so_memory_is_o_concurrency() -> None:
    urls = [f"http://one.test/{i}" for i in range(500)]
    cfg = Config(concurrency=4, per_host=1, lookahead=10)
    sim = simulate(urls, cfg, always(1.0))
    assert len(sim.records) == 500
    # read and not done: at most the look-ahead plus those in flight
    assert sim.max_held_ahead <= 10 + 4


def test_retries_back_off_and_count_attempts() -> None:
    def answer(url: str, n: int) -> tuple[float, Outcome]:
        if "flaky" in url and n <= 2:
            return 0.1, Outcome(status=503)
        if "dead" in url:
            return 0.1, Outcome.failed("connect", "refused")
        if "dns" in url:
            return 0.1, Outcome.failed("dns", "cannot resolve")
        return 0.1, OK

    urls = ["http://a.test/flaky", "http://b.test/dead", "http://c.test/dns", "http://d.test/ok"]
    sim = simulate(urls, Config(retries=3, backoff=1.0), answer)
    got = sim.by_url()
    assert (got[urls[0]].status, got[urls[0]].attempts) == (200, 3)
    assert (got[urls[1]].error_kind, got[urls[1]].attempts) == ("connect", 4)
    assert (got[urls[2]].error_kind, got[urls[2]].attempts) == ("dns", 1)
    assert got[urls[3]].attempts == 1
    # waits with rand=0.5: 0.75, 1.5, 3 s (base 1 s doubling, 3/4 of it), plus 4 x 0.1 s
    assert got[urls[1]].elapsed == pytest.approx(0.4 + 0.75 + 1.5 + 3.0)
    starts = [t for t, _, url, _ in sim.starts if url == urls[1]]
    gaps = [b - a - 0.1 for a, b in itertools.pairwise(starts)]
    assert gaps == pytest.approx([0.75, 1.5, 3.0])
    none = simulate(urls, Config(retries=0), answer).by_url()
    assert all(r.attempts == 1 for r in none.values())


def test_retry_after_is_honoured_and_capped() -> None:
    def answer(url: str, n: int) -> tuple[float, Outcome]:
        after = url.rsplit("/", 1)[1]
        return 0.0, (Outcome(status=503, retry_after=after) if n == 1 else OK)

    urls = ["http://a.test/7", "http://b.test/500"]
    got = simulate(urls, Config(max_wait=60.0, backoff=0.01), answer).by_url()
    assert got[urls[0]].elapsed == pytest.approx(7.0)
    assert got[urls[1]].elapsed == pytest.approx(60.0)  # capped
    assert all(r.status == 200 and r.attempts == 2 for r in got.values())


def test_a_429_pauses_and_slows_that_host_only() -> None:
    def answer(url: str, n: int) -> tuple[float, Outcome]:
        if url.endswith("/first") and n == 1:
            return 0.5, Outcome(status=429, retry_after="10")
        return 1.0, OK

    busy = ["http://busy.test/first"] + [f"http://busy.test/{i}" for i in range(40)]
    other = [f"http://other.test/{i}" for i in range(40)]
    sim = simulate(busy + other, Config(concurrency=16, per_host=8), answer)
    busy_starts = sorted(t for t, h, *_ in sim.starts if h == "busy.test:80")
    # 8 started at 0; the 429 came at 0.5: nothing new until 10.5 s.
    assert busy_starts[:8] == [0.0] * 8
    assert min(t for t in busy_starts[8:]) == pytest.approx(10.5)
    # ...then fewer than 8 at once: the window halved to 4, and the 7 good answers of the
    # requests already in flight opened it to 5.5 (each adds 1/window).
    late = [(s, e, h) for s, e, h in sim.intervals if h == "busy.test:80" and s >= 10.5]
    first_second = [iv for iv in late if iv[0] < 11.0]
    assert len(first_second) == 5
    other_starts = [t for t, h, *_ in sim.starts if h == "other.test:80"]
    assert min(other_starts) == 0.0 and max(other_starts) < 5.1  # never paused
    assert sim.by_url()["http://busy.test/first"].attempts == 2


def test_invalid_urls_become_records_without_a_request() -> None:
    urls = ["nope", "http://ok.test/", "ftp://x/"]
    sim = simulate(urls, Config(), always(0.1))
    got = sim.by_url()
    assert got["nope"].error_kind == "invalid-url" and got["nope"].attempts == 0
    assert [u for _, _, u, _ in sim.starts] == ["http://ok.test/"]


def redirects(table: dict[str, str], seconds: float = 0.5) -> Answer:
    """Each URL in ``table`` redirects (302) to its value; any other answers 200."""

    def answer(url: str, n: int) -> tuple[float, Outcome]:
        if url in table:
            return seconds, Outcome(status=302, location=table[url])
        return seconds, OK

    return answer


def test_redirects_are_followed_as_requests_of_their_own() -> None:
    table = {
        "http://a.test/start": "http://b.test/next",  # to another host
        "http://b.test/next": "/final",  # relative
        "http://a.test/loop": "http://a.test/loop2",
        "http://a.test/loop2": "http://a.test/loop",
        "http://a.test/file": "file:///etc/passwd",
        **{f"http://c.test/{i}": f"http://c.test/{i + 1}" for i in range(20)},
    }
    urls = ["http://a.test/start", "http://a.test/loop", "http://a.test/file", "http://c.test/0"]
    sim = simulate(urls, Config(max_redirects=5, backoff=0.01), redirects(table))
    got = sim.by_url()
    start = got["http://a.test/start"]
    assert (start.status, start.final_url, start.attempts) == (200, "http://b.test/final", 1)
    assert start.elapsed == pytest.approx(1.5)  # three requests of 0.5 s
    assert got["http://a.test/loop"].error == "redirect: loop back to http://a.test/loop"
    assert got["http://a.test/file"].error_kind == "redirect"
    assert "file" in (got["http://a.test/file"].error or "")
    assert "more than 5 redirects" in (got["http://c.test/0"].error or "")
    hosts = Counter(h for _, h, *_ in sim.starts)
    assert hosts["b.test:80"] == 2  # both hops to b.test were requests to b.test


def test_redirect_hops_count_against_the_rate_and_the_target_host() -> None:
    table = {f"http://a{i}.test/": "http://hub.test/" + str(i) for i in range(12)}
    urls = list(table)
    sim = simulate(urls, Config(concurrency=12, per_host=3, rate=20.0), redirects(table, 1.0))
    times = [t for t, *_ in sim.starts]
    assert len(times) == 24
    assert all(b - a >= 0.05 - 1e-9 for a, b in itertools.pairwise(sorted(times)))
    assert sim.peak("hub.test:80") == 3  # the hops all go to one host: 3 at a time


def test_the_timeout_covers_an_attempt_across_its_redirects() -> None:
    table = {f"http://a.test/{i}": f"http://a.test/{i + 1}" for i in range(3)}
    sim = simulate(
        ["http://a.test/0"], Config(timeout=2.5, retries=1, backoff=0.01), redirects(table, 1.0)
    )
    (rec,) = sim.by_url().values()
    # 0 -> 1 -> 2 take 1 s each; the third request has 0.5 s left and times out; the retry
    # starts at http://a.test/2 with a whole timeout: 1 s to /3, which answers in 1 s.
    assert (rec.status, rec.attempts, rec.final_url) == (200, 2, "http://a.test/3")


@given(
    st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=40),
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(0, 2),
    st.sampled_from([None, 5.0, 50.0]),
)
def test_scheduler_invariants(
    hosts: list[str], concurrency: int, per_host: int, retries: int, rate: float | None
) -> None:
    urls = [f"http://{h}.test/{i}" for i, h in enumerate(hosts)]

    def answer(url: str, n: int) -> tuple[float, Outcome]:
        i = int(url.rsplit("/", 1)[1])
        outcome = [OK, Outcome(status=503), Outcome.failed("timeout", "t"), Outcome(status=429)]
        return 0.1 + (i % 3) * 0.2, outcome[(i + n) % 4]

    cfg = Config(concurrency=concurrency, per_host=per_host, retries=retries, rate=rate)
    sim = simulate(urls, cfg, answer)
    assert sorted(r.url for r in sim.by_url().values()) == sorted(urls)
    assert sim.peak() <= concurrency
    for h in set(hosts):
        assert sim.peak(f"{h}.test:80") <= per_host
    assert all(1 <= r.attempts <= retries + 1 for _, r in sim.records)
    assert Counter(u for _, _, u, _ in sim.starts) == Counter(
        {r.url: r.attempts for _, r in sim.records}
    )
    if rate is not None:
        times = [t for t, *_ in sim.starts]
        assert all(b - a >= 1 / rate - 1e-9 for a, b in itertools.pairwise(times))


def test_drive_runs_the_loop_with_a_blocking_runner() -> None:
    fake = FakeFetcher(lambda url, n: Outcome(status=503) if n == 1 else OK)

    class Inline:
        def __init__(self) -> None:
            self.done: list[tuple[Job, Outcome]] = []

        def submit(self, job: Job) -> None:
            self.done.append((job, fake.get(job.target, job.time_left)))

        def collect(self, timeout: float | None) -> list[tuple[Job, Outcome]]:
            if not self.done and timeout:
                time.sleep(timeout)
            done, self.done = self.done, []
            return done

        drain = collect.__get__  # unused here

    urls = ["http://a.test/1", "x", "http://a.test/2"]
    records = list(drive(Scheduler(urls, Config(backoff=0.01)), Inline()))  # type: ignore[arg-type]
    assert sorted(r.url for r in records) == sorted(urls)
    assert fake.requests == {"http://a.test/1": 2, "http://a.test/2": 2}


# -- config ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retries": -1}, "retries must be at least 0"),
        ({"retries": 1.5}, "retries must be a whole number"),
        ({"per_host": 0}, "per_host must be at least 1"),
        ({"rate": 0}, "rate must be more than 0"),
        ({"rate": float("nan")}, "rate"),
        ({"host_rate": -2}, "host_rate"),
        ({"backoff": -1}, "backoff must be 0 or more"),
        ({"max_wait": float("inf")}, "max_wait"),
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"lookahead": 0}, "lookahead"),
    ],
)
def test_config_rejects_bad_limits_naming_them(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Config(**kwargs)  # type: ignore[arg-type]


def test_config_defaults_suit_the_open_web() -> None:
    cfg = Config()
    assert (cfg.retries, cfg.per_host, cfg.max_wait, cfg.max_redirects) == (2, 8, 60.0, 10)
    assert cfg.rate is None and cfg.read_ahead == 8 * cfg.concurrency


# -- decoding ----------------------------------------------------------------------


def _decode(encoding: str | None, body: bytes, step: int = 1000) -> list[bytes]:
    d = Decoder(encoding)
    out: list[bytes] = []
    for i in range(0, len(body), step):
        out += d.feed(body[i : i + step])
    out += d.flush()
    return out


def test_decoder_handles_gzip_deflate_members_and_passthrough() -> None:
    data = bytes(range(256)) * 2000
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    cases = {
        ("gzip", gzip.compress(data)): data,
        ("x-gzip", gzip.compress(data) + gzip.compress(b"tail")): data + b"tail",
        ("deflate", zlib.compress(data)): data,
        ("deflate", raw.compress(data) + raw.flush()): data,
        ("gzip, deflate", zlib.compress(gzip.compress(data))): data,
        ("gzip", gzip.compress(data) + b"\0\0junk"): data,
        (None, data): data,
        ("identity", data): data,
        ("br", b"\x0bnot decoded"): b"\x0bnot decoded",
    }
    for (encoding, body), want in cases.items():
        for step in (1, 7, 100_000):
            if step == 1 and len(body) > 50_000:
                continue
            assert b"".join(_decode(encoding, body, step)) == want, (encoding, step)


def test_decoder_steps_are_bounded_even_for_a_bomb() -> None:
    bomb = gzip.compress(bytes(50 * CHUNK), 9)  # ~3 MB of zeros in a few KB
    pieces = _decode("gzip", bomb, step=len(bomb))
    assert sum(map(len, pieces)) == 50 * CHUNK
    assert max(map(len, pieces)) <= CHUNK


def test_decoder_rejects_a_corrupt_body() -> None:
    with pytest.raises(DecodeError):
        _decode("gzip", b"\x1f\x8b\x08\x00garbage" * 10)


# -- proxies -------------------------------------------------------------------------


def test_proxies_from_the_environment_as_curl_and_requests_read_them() -> None:
    env = {
        "http_proxy": "proxy.test:3128",
        "HTTPS_PROXY": "http://user:pw@secure.test:8080",
        "NO_PROXY": "internal.test, .corp.test:8443,10.0.0.0/8 ,[::1]",
    }
    p = from_env(env)
    assert p.for_url("http://example.com/") == "http://proxy.test:3128"
    assert p.for_url("https://example.com/") == "http://user:pw@secure.test:8080"
    assert p.for_url("http://internal.test/") is None
    assert p.for_url("http://www.internal.test/") is None
    assert p.for_url("http://notinternal.test/") == "http://proxy.test:3128"
    assert p.for_url("https://a.corp.test:8443/") is None
    assert p.for_url("https://a.corp.test/") is not None  # another port
    assert p.for_url("http://10.1.2.3/") is None and p.for_url("http://11.1.2.3/") is not None
    assert p.for_url("http://[::1]:8/") is None
    lower_wins = from_env({"http_proxy": "a.test:1", "HTTP_PROXY": "b.test:1"})
    assert lower_wins.for_url("http://x/") == "http://a.test:1"
    assert from_env({"all_proxy": "c.test:1"}).for_url("https://x/") == "http://c.test:1"
    assert from_env({"http_proxy": "a.test:1", "no_proxy": "*"}).for_url("http://x/") is None
    assert from_env({}).for_url("http://x/") is None
    assert from_env({"http_proxy": ""}).for_url("http://x/") is None


def test_a_socks_proxy_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="only http:// and https:// proxies"):
        from_env({"all_proxy": "socks5://127.0.0.1:1080"})


# -- the whole-attempt deadline ------------------------------------------------------


def test_deadline_arithmetic() -> None:
    now = [100.0]
    d = Deadline(5.0, clock=lambda: now[0])
    assert d.remaining() == 5.0 and d.connect(2.0) == 2.0 and d.connect(None) == 5.0
    now[0] = 104.0
    assert d.connect(2.0) == 1.0 and not d.expired()
    now[0] = 106.0
    assert d.remaining() == 0.0 and d.expired()


def test_watchdog_fires_late_guards_only_and_cuts_once() -> None:
    dog = Watchdog()
    cut = threading.Event()
    calls: list[str] = []
    try:
        with dog.guard(time.monotonic() + 0.2) as late:
            late.on_expiry(lambda: (calls.append("late"), cut.set()))
            with dog.guard(time.monotonic() + 5) as early:
                early.on_expiry(lambda: calls.append("early"))
            assert cut.wait(5)
            assert late.fired and not early.fired
            late.on_expiry(lambda: calls.append("after"))  # runs at once: already fired
        for _ in range(500):  # many guards closed in time do not pile up
            with dog.guard(time.monotonic() + 60):
                pass
        assert len(dog._heap) < 200
    finally:
        dog.stop()
    assert calls == ["late", "after"]
