"""robots.txt (--robots): the verdict of one origin's file (pure), the scheduler holding a
host's URLs until it is known (simulated time, a fake fetcher), and every mode on the test
bed: rules, a 404, a 500, Crawl-delay, one fetch of /robots.txt per host."""

from __future__ import annotations

import heapq
import itertools
import json
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import fetchpool
from bed import Bed
from fetchpool.bodies.hook import opened
from fetchpool.config import Config
from fetchpool.core.outcome import Outcome
from fetchpool.core.robots import (
    MAX_BYTES,
    KeepRobots,
    agent_token,
    kept_bytes,
    robots_url,
    verdict,
)
from fetchpool.core.scheduler import Job, Scheduler, Wait
from fetchpool.distributed.processes import host_slot, worker_configs
from fetchpool.records import Record

pytest_plugins = ["bed.plugin"]

FETCHPOOL = str(Path(sys.executable).with_name("fetchpool"))
RULES = "User-agent: *\nDisallow: /private/\n"


def answered(
    status: int, text: str | None = None, url: str = "http://a.test/robots.txt"
) -> Outcome:
    """What a fetcher gives for a robots.txt: the body kept by the sink --robots installs."""
    body = None
    if text is not None:
        with opened(KeepRobots(None)(url, "text/plain")) as sink:
            sink.write(text.encode())
            body = sink.keep()
    return Outcome(status=status, length=len(text or ""), body=body)


def judge(outcome: Outcome, agent: str = "fetchpool") -> Callable[[str], str | None]:
    src = "http://a.test/robots.txt"
    found = verdict(src, outcome, kept_bytes(outcome.body), agent)
    return lambda path: found.refusal(f"http://a.test{path}", agent)


# -- the verdict, pure -------------------------------------------------------------------


def test_rules_of_a_2xx_disallow_what_they_say() -> None:
    refusal = judge(answered(200, RULES))
    assert refusal("/private/x") == "disallowed by http://a.test/robots.txt"
    assert refusal("/page/1") is None
    assert refusal("/robots.txt") is None  # always allowed (RFC 9309)


def test_the_group_of_the_user_agent_token_wins_over_star() -> None:
    text = "User-agent: *\nDisallow: /\n\nUser-agent: fetchpool\nDisallow: /secret\n"
    assert judge(answered(200, text))("/page") is None
    assert judge(answered(200, text))("/secret/1") is not None
    assert judge(answered(200, text), agent="otherbot")("/page") is not None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_a_4xx_allows_everything(status: int) -> None:
    assert judge(answered(status, "User-agent: *\nDisallow: /\n"))("/private/x") is None


@pytest.mark.parametrize("status", [407, 429, 500, 503])
def test_a_429_or_5xx_disallows_everything(status: int) -> None:
    why = judge(answered(status))("/page/1")
    assert why == (
        f"http://a.test/robots.txt answered {status}: "
        "every URL of the origin disallowed for this run"
    )


def test_no_answer_disallows_everything_and_too_many_redirects_allow_it() -> None:
    why = judge(Outcome.failed("connect", "connection refused"))("/page/1")
    assert why is not None and "unreachable (connect: connection refused)" in why
    assert judge(Outcome.failed("timeout", "slow"))("/") is not None
    assert judge(Outcome.failed("redirect", "more than 5 redirects"))("/private/x") is None


def test_crawl_delay_and_request_rate_become_seconds_between_requests() -> None:
    def delay(text: str) -> float | None:
        return verdict("http://a.test/robots.txt", answered(200), text.encode(), "fetchpool").delay

    assert delay("User-agent: *\nCrawl-delay: 2\n") == 2.0
    assert delay("User-agent: *\nRequest-rate: 1/5\n") == 5.0
    assert delay("User-agent: *\nCrawl-delay: 1\nRequest-rate: 1/3\n") == 3.0
    assert delay("User-agent: *\nDisallow: /x\n") is None
    assert delay("User-agent: otherbot\nCrawl-delay: 9\n") is None


def test_only_the_first_500_kib_is_kept_and_read() -> None:
    text = "User-agent: *\nDisallow: /a\n" + "#" * MAX_BYTES + "\nDisallow: /b\n"
    outcome = answered(200, text)
    assert outcome.body is not None
    kept = kept_bytes(outcome.body)
    assert kept is not None and len(kept) == MAX_BYTES
    refusal = judge(answered(200, text))
    assert refusal("/a") is not None and refusal("/b") is None


def test_the_sink_keeps_robots_bodies_only_and_feeds_the_runs_own() -> None:
    seen: list[tuple[str, bytes]] = []

    class Inner:
        def __init__(self, url: str) -> None:
            self.url, self.got = url, b""

        def __enter__(self) -> Inner:
            return self

        def __exit__(self, *exc: object) -> None:
            seen.append((self.url, self.got))

        def write(self, chunk: bytes) -> None:
            self.got += chunk

        def done(self, record: Record) -> Record:
            return record

    factory = KeepRobots(lambda url, ct: Inner(url))
    for url in ("http://a.test/robots.txt", "http://a.test/page"):
        with opened(factory(url, None)) as sink:
            sink.write(b"body")
            kept = sink.keep()
        assert kept is not None
        assert kept_bytes(kept) == (b"body" if url.endswith("robots.txt") else None)
    assert seen == [("http://a.test/robots.txt", b"body"), ("http://a.test/page", b"body")]


def test_robots_url_and_agent_token() -> None:
    assert robots_url("HTTPS://u:p@h.test:8443/a/b?q#f") == "https://h.test:8443/robots.txt"
    assert robots_url("http://[::1]/x") == "http://[::1]/robots.txt"
    assert agent_token("fetchpool/1.2") == "fetchpool"
    assert agent_token("MyBot/2.0 (+https://example.com/bot)") == "MyBot"
    assert agent_token("") == "fetchpool"


# -- the scheduler, in simulated time ------------------------------------------------------


@dataclass
class Sim:
    records: list[Record] = field(default_factory=list)
    starts: list[tuple[float, str]] = field(default_factory=list)  # when, target

    def by_url(self) -> dict[str, Record]:
        got = {r.url: r for r in self.records}
        assert len(got) == len(self.records), "one record per URL"
        return got

    def asked(self, url: str) -> int:
        return sum(1 for _, target in self.starts if target == url)


Site = Callable[[str, int], Outcome]


def simulate(urls: list[str], config: Config, site: Site, seconds: float = 0.1) -> Sim:
    """The scheduler against a fake site: ``site(url, n)`` answers the n-th request for
    ``url``, each taking ``seconds``; time moves only when nothing can start."""
    sim, now, asked = Sim(), 0.0, Counter[str]()
    sched = Scheduler(iter(urls), config, clock=lambda: now, wall=lambda: 1e9, rand=lambda: 0.5)
    running: list[tuple[float, int, Job]] = []
    seq = itertools.count()
    while (step := sched.poll()) is not None:
        if isinstance(step, Record):
            sim.records.append(step)
        elif isinstance(step, Job):
            sim.starts.append((now, step.target))
            heapq.heappush(running, (now + seconds, next(seq), step))
        else:
            assert isinstance(step, Wait)
            until = now + step.seconds if step.seconds is not None else math.inf
            if running:
                until = min(until, running[0][0])
            assert until < math.inf, "the scheduler waits for nothing"
            now = max(now, until)
            while running and running[0][0] <= now:
                _, _, job = heapq.heappop(running)
                asked[job.target] += 1
                record = sched.finish(job, site(job.target, asked[job.target]))
                if record is not None:
                    sim.records.append(record)
    assert sched.in_flight == 0 and sched.held == 0
    return sim


def site(robots: dict[str, Outcome | Callable[[int], Outcome]]) -> Site:
    """Pages answer 200; ``robots`` maps a host to what its /robots.txt gives."""

    def answer(url: str, n: int) -> Outcome:
        host = url.split("/")[2]
        if url.endswith("/robots.txt") and host in robots:
            got = robots[host]
            if callable(got):
                return got(n)
            if got.body is not None:  # a fresh kept body each time it is asked
                return answered(got.status or 200, RULES_OF[host], url)
            return got
        return Outcome(status=200, length=10)

    return answer


RULES_OF = {"a.test": RULES, "d.test": "User-agent: *\nCrawl-delay: 2\n"}
ROBOTS = Config(robots=True, retries=0)


def test_each_origins_robots_txt_is_fetched_once_before_its_urls() -> None:
    urls = [
        f"http://{h}.test/{p}/{i}" for i in range(5) for h in "abc" for p in ("page", "private")
    ]
    sim = simulate(
        urls,
        ROBOTS,
        site({"a.test": answered(200, RULES), "b.test": answered(404), "c.test": answered(500)}),
    )
    records = sim.by_url()
    assert set(records) == set(urls)  # the robots.txt fetches are no records
    for h in "abc":
        robots = f"http://{h}.test/robots.txt"
        assert sim.asked(robots) == 1
        others = [t for t, u in sim.starts if u.startswith(f"http://{h}.test/") and u != robots]
        first = min(others, default=math.inf)
        assert first >= next(t for t, u in sim.starts if u == robots) + 0.1  # after its answer
    for url, rec in records.items():
        host, path = url.split("/")[2], url.split("/")[3]
        if host == "b.test" or (host == "a.test" and path == "page"):
            assert rec.status == 200 and rec.attempts == 1
        else:
            assert rec.error_kind == "robots" and rec.attempts == 0 and rec.status is None
            assert url not in {u for _, u in sim.starts}  # never requested
    assert records["http://a.test/private/0"].error == (
        "robots: disallowed by http://a.test/robots.txt"
    )


def test_without_robots_no_robots_txt_is_asked_for() -> None:
    sim = simulate(
        ["http://a.test/private/1"], Config(retries=0), site({"a.test": answered(200, RULES)})
    )
    assert [u for _, u in sim.starts] == ["http://a.test/private/1"]
    assert sim.by_url()["http://a.test/private/1"].status == 200


def test_crawl_delay_spaces_the_hosts_requests() -> None:
    urls = [f"http://d.test/page/{i}" for i in range(4)] + ["http://e.test/page/1"]
    sim = simulate(urls, Config(robots=True, host_rate=10.0), site({"d.test": answered(200, "x")}))
    starts = [t for t, u in sim.starts if u.startswith("http://d.test/")]
    assert len(starts) == 5  # robots.txt and the 4 pages
    assert all(b - a >= 2.0 - 1e-9 for a, b in itertools.pairwise(starts))
    assert starts[1] >= starts[0] + 0.1 + 2.0 - 1e-9  # counted from robots.txt's answer
    assert all(r.status == 200 for r in sim.records)


def test_robots_txt_is_retried_as_any_request_before_the_verdict() -> None:
    flaky = {"a.test": lambda n: Outcome(status=503) if n == 1 else answered(200, RULES)}
    sim = simulate(
        ["http://a.test/private/1", "http://a.test/page/1"],
        Config(robots=True, backoff=0.5),
        site(flaky),
    )
    assert sim.asked("http://a.test/robots.txt") == 2
    records = sim.by_url()
    assert records["http://a.test/private/1"].error_kind == "robots"
    assert records["http://a.test/page/1"].status == 200


def test_a_redirect_is_checked_against_the_robots_txt_of_where_it_leads() -> None:
    def answer(url: str, n: int) -> Outcome:
        if url == "http://b.test/go":
            return Outcome(status=302, location="http://a.test/private/x")
        if url == "http://b.test/ok":
            return Outcome(status=302, location="http://a.test/page/1")
        if url == "http://a.test/robots.txt":
            return answered(200, RULES, url)
        return Outcome(status=404 if url.endswith("robots.txt") else 200, length=1)

    sim = simulate(["http://b.test/go", "http://b.test/ok"], ROBOTS, answer)
    records = sim.by_url()
    assert records["http://b.test/go"].error == (
        "robots: disallowed by http://a.test/robots.txt (a redirect led to http://a.test/private/x)"
    )
    assert records["http://b.test/go"].attempts == 1
    assert records["http://b.test/ok"].status == 200
    assert records["http://b.test/ok"].final_url == "http://a.test/page/1"
    assert sim.asked("http://a.test/robots.txt") == 1
    assert sim.asked("http://a.test/private/x") == 0


def test_robots_txt_redirects_are_followed_five_hops_then_it_counts_as_unavailable() -> None:
    def chain(hops: int) -> Site:
        def answer(url: str, n: int) -> Outcome:
            path = url.split("/", 3)[3]
            if path == "robots.txt":
                return Outcome(status=301, location="/hop1")
            if path.startswith("hop"):
                i = int(path.removeprefix("hop"))
                if i < hops:
                    return Outcome(status=301, location=f"/hop{i + 1}")
                # the body goes to the sink of the fetch's input URL, robots.txt
                return answered(200, RULES, "http://a.test/robots.txt")
            return Outcome(status=200, length=1)

        return answer

    five = simulate(["http://a.test/private/1"], ROBOTS, chain(5)).by_url()
    assert five["http://a.test/private/1"].error_kind == "robots"  # the rules at hop 5
    six = simulate(["http://a.test/private/1"], ROBOTS, chain(6)).by_url()
    assert six["http://a.test/private/1"].status == 200  # too many hops: "unavailable"


def test_an_input_robots_txt_is_a_record_of_its_own() -> None:
    urls = ["http://a.test/robots.txt", "http://a.test/private/1"]
    sim = simulate(urls, ROBOTS, site({"a.test": answered(200, RULES)}))
    records = sim.by_url()
    assert records["http://a.test/robots.txt"].status == 200
    assert records["http://a.test/private/1"].error_kind == "robots"
    assert sim.asked("http://a.test/robots.txt") == 2  # the verdict's, then the input's


def test_processes_send_each_host_to_one_worker_with_the_hosts_whole_limits() -> None:
    assert {host_slot(f"https://h{i}.test/p/{j}", 3) for i in range(1) for j in range(20)} == {
        host_slot("https://h0.test/", 3)
    }
    assert len({host_slot(f"https://h{i}.test/", 3) for i in range(30)}) == 3
    cfg = Config(per_host=4, host_rate=2.0, robots=True, concurrency=8)
    for kwargs in worker_configs(cfg, 3, by_host=True):
        assert kwargs["per_host"] == 4 and kwargs["host_rate"] == 2.0
    assert [k["per_host"] for k in worker_configs(cfg, 3)] == [2, 1, 1]


# -- every mode on the bed ---------------------------------------------------------------

#: Every way of running: each mode, and a Dask cluster of the default one.
MODES = [*fetchpool.MODES, "cluster"]


def fetch(bed: Bed, mode: str, urls: list[str], *extra: str) -> dict[str, dict[str, object]]:
    where = ["--cluster", "local:2"] if mode == "cluster" else ["-m", mode]
    argv = [FETCHPOOL, "fetch", "-q", "--retries", "0", *where, *extra, *urls]
    r = bed.run(argv, env={"SSL_CERT_FILE": str(bed.ca_file)}, timeout=120)
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    got = {rec["url"]: rec for rec in records}
    assert len(got) == len(records) == len(urls), r.stdout
    return got


@pytest.mark.parametrize("mode", MODES)
def test_robots_on_the_bed_in_every_mode(bed: Bed, mode: str) -> None:
    if mode == "cluster":
        pytest.importorskip("distributed")
    assert [bed.robots(i) for i in range(3)] == ["rules", "404", "500"]
    # hosts interleaved: -m processes, split in runs, would send each host to both workers
    urls = [bed.url(i, p) for p in ("/private/x", "/page/1") for i in range(3)]
    urls.append(bed.url(0, "/page/2", https=False))  # another origin of host 0: its own file
    mark = bed.mark()
    got = fetch(bed, mode, urls, "--robots")
    h0, h1, h2 = (bed.url(i, "") for i in range(3))
    assert got[f"{h0}/private/x"]["error"] == f"robots: disallowed by {h0}/robots.txt"
    assert got[f"{h0}/private/x"]["attempts"] == 0
    assert got[f"{h0}/page/1"]["status"] == 200
    assert got[bed.url(0, "/page/2", https=False)]["status"] == 200
    for path in ("/private/x", "/page/1"):
        assert got[f"{h1}{path}"]["status"] == 200  # a 404 robots.txt allows everything
        rec = got[f"{h2}{path}"]  # a 500 disallows everything
        assert rec["status"] is None and rec["attempts"] == 0
        assert rec["error"] == (
            f"robots: {h2}/robots.txt answered 500: every URL of the origin disallowed for this run"
        )
    # 4 robots.txt (3 hosts, and host 0 over http) and the 4 pages allowed
    log = bed.access_log(since=mark, wait_for=8)
    robots = Counter((e["host"], e["port"]) for e in log if e["uri"] == "/robots.txt")
    assert robots == {(bed.host(0), "443"): 1, (bed.host(1), "443"): 1, (bed.host(2), "443"): 1,
                      (bed.host(0), "80"): 1}  # fmt: skip
    pages = sorted(
        (e["host"], e["uri"])
        for e in log
        if e["uri"] != "/robots.txt" and e["host"] in bed.hosts[:3]
    )
    assert pages == sorted(
        [(bed.host(0), "/page/1"), (bed.host(0), "/page/2"), (bed.host(1), "/private/x"),
         (bed.host(1), "/page/1")]
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["sequential", "curl", "async"])
def test_without_robots_no_robots_txt_is_requested(bed: Bed, mode: str) -> None:
    mark = bed.mark()
    got = fetch(bed, mode, [bed.url(0, "/private/x")])
    assert got[bed.url(0, "/private/x")]["status"] == 200
    log = bed.access_log(since=mark, wait_for=1)
    assert [e["uri"] for e in log if e["host"] == bed.host(0)] == ["/private/x"]


@pytest.mark.parametrize("mode", MODES)
def test_crawl_delay_spaces_the_hosts_requests_on_the_bed(bed: Bed, mode: str) -> None:
    if mode == "cluster":
        pytest.importorskip("distributed")
    urls = [bed.url(bed.DELAY, f"/page/{i}") for i in range(2)]
    mark = bed.mark()
    got = fetch(bed, mode, urls, "--robots")
    assert all(rec["status"] == 200 for rec in got.values())
    log = [e for e in bed.access_log(since=mark, wait_for=3) if e["host"] == bed.DELAY]
    assert [e["uri"] for e in log] == ["/robots.txt", "/page/0", "/page/1"] or [
        e["uri"] for e in log
    ] == ["/robots.txt", "/page/1", "/page/0"]
    times = [float(e["time"]) for e in log]
    # nginx logs when it answered, and requests are spaced from when they start: a later
    # answer may come a little sooner after its start than the one before it did.
    assert all(b - a >= 0.8 * bed.CRAWL_DELAY for a, b in itertools.pairwise(times)), times


def test_on_a_cluster_each_origin_is_asked_once_across_batches(bed: Bed) -> None:
    pytest.importorskip("distributed")
    from fetchpool.distributed.cluster import BATCH_ROUNDS

    # -c 2 on 2 worker threads: batches of BATCH_ROUNDS URLs, so each host's 2 x BATCH_ROUNDS
    # URLs (hosts interleaved) span several batches; a host's batches share its verdict
    urls = [bed.url(i, f"/page/{n}") for n in range(2 * BATCH_ROUNDS) for i in (0, 1, 3)]
    urls += [bed.url(0, f"/private/{n}") for n in range(BATCH_ROUNDS)]
    mark = bed.mark()
    got = fetch(bed, "cluster", urls, "--robots", "-c", "2")
    assert sum(rec["status"] == 200 for rec in got.values()) == 6 * BATCH_ROUNDS
    assert all(rec["error"].startswith("robots: disallowed") for url, rec in got.items()
               if "/private/" in url)  # fmt: skip
    log = bed.access_log(since=mark, wait_for=len(urls))
    robots = Counter(e["host"] for e in log if e["uri"] == "/robots.txt")
    assert robots == {bed.host(0): 1, bed.host(1): 1, bed.host(3): 1}, robots
