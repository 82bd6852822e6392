"""Every mode against the real built-in site: one correct record per URL, bounded concurrency,
lazy input, and the lesson's pitfalls fixed (to-thread capped at 6 threads, threading's lock)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest

import fetchpool
from fetchpool import MODES, Record, fetch, fetch_async
from fetchpool.testsite.site import TestSite, page_body

pytestmark = pytest.mark.timeout(60)


def _mixed(site: TestSite) -> dict[str, tuple[int | None, int | None, str | None]]:
    """URL -> (status, length, error kind) expected for it."""
    cases: dict[str, tuple[int | None, int | None, str | None]] = {}
    for n in range(30):
        cases[site.url(f"/page/{n}")] = (200, len(page_body(n)), None)
    cases[site.url("/status/404")] = (404, len(b"status 404\n"), None)
    cases[site.url("/status/503")] = (503, len(b"status 503\n"), None)
    cases[site.url("/status/204")] = (204, 0, None)
    cases[site.url("/bytes/300000")] = (200, 300_000, None)
    cases[site.url("/redirect/3")] = (200, len(page_body(0)), None)
    cases["not a url"] = (None, None, "invalid-url")
    cases["http://"] = (None, None, "invalid-url")
    cases["ftp://host/x"] = (None, None, "invalid-url")
    cases["http://exa mple.com"] = (None, None, "invalid-url")
    cases["http://127.0.0.1:1/refused"] = (None, None, "connect")
    return cases


@pytest.mark.parametrize("mode", MODES)
def test_every_url_gets_exactly_one_correct_record(site: TestSite, mode: str) -> None:
    cases = _mixed(site)
    records = list(fetch(cases, mode=mode, concurrency=8, timeout=10, backoff=0.01))
    assert sorted(r.url for r in records) == sorted(cases)
    retried = {site.url("/status/503"), "http://127.0.0.1:1/refused"}  # 2 retries by default
    for rec in records:
        status, length, kind = cases[rec.url]
        assert (rec.status, rec.length, rec.error_kind) == (status, length, kind), rec
        assert rec.elapsed >= 0
        if kind is None:
            assert rec.final_url is not None
        if kind != "invalid-url":
            assert rec.attempts == (3 if rec.url in retried else 1), rec
    redirected = next(r for r in records if r.url.endswith("/redirect/3"))
    assert redirected.final_url == site.url("/page/0")
    assert redirected.content_type is not None and "text/html" in redirected.content_type


@pytest.mark.parametrize("mode", MODES)
def test_too_many_redirects_and_max_bytes(site: TestSite, mode: str) -> None:
    urls = [site.url("/redirect/5"), site.url("/bytes/5000"), site.url("/bytes/100")]
    got = {r.url: r for r in fetch(urls, mode=mode, max_redirects=2, max_bytes=1000)}
    assert got[urls[0]].error_kind == "redirect"
    assert got[urls[1]].error_kind == "too-large"
    assert (got[urls[2]].status, got[urls[2]].length) == (200, 100)


@pytest.mark.parametrize("mode", [m for m in MODES if m != "sequential"])
@pytest.mark.parametrize("limit", [2, 5, 16])
def test_concurrency_is_bounded_and_used(fresh_site: TestSite, mode: str, limit: int) -> None:
    # 150 ms a request: long enough for requests to overlap on a busy machine, also between
    # the processes mode's workers (each starts its event loop when its first URLs arrive).
    urls = [fresh_site.url(f"/delay/150/{i}") for i in range(limit * 3)]
    records = list(fetch(urls, mode=mode, concurrency=limit, per_host=limit))
    assert len(records) == len(urls) and all(r.status == 200 for r in records)
    assert 1 < fresh_site.peak <= limit


def test_sequential_runs_one_at_a_time(fresh_site: TestSite) -> None:
    urls = [fresh_site.url(f"/delay/20/{i}") for i in range(5)]
    assert len(list(fetch(urls, mode="sequential", concurrency=8))) == 5
    assert fresh_site.peak == 1


def test_to_thread_honours_concurrency_beyond_the_default_executor(fresh_site: TestSite) -> None:
    # asyncio's default executor has min(32, cpus + 4) threads: 6 on 2 cores, so the
    # lesson's code has 6 in flight here; with -c 50 all 50 run at once (2 s pages: time
    # enough for a busy machine to start every thread before the first ends).
    urls = [fresh_site.url(f"/delay/2000/{i}") for i in range(50)]
    records = list(fetch(urls, mode="to-thread", concurrency=50, per_host=50))
    assert len(records) == 50 and all(r.status == 200 for r in records)
    assert fresh_site.peak == 50, f"to-thread had {fresh_site.peak} in flight at -c 50"


def test_threading_loses_no_record(site: TestSite) -> None:
    urls = [site.url(f"/page/{i}") for i in range(2000)]
    records = list(fetch(urls, mode="threading", concurrency=32))
    assert len(records) == 2000
    assert sorted(r.url for r in records) == sorted(urls)
    assert all(
        r.status == 200 and r.length == len(page_body(int(r.url.rsplit("/", 1)[1])))
        for r in records
    )


@pytest.mark.parametrize("mode", MODES)
def test_input_is_read_lazily(site: TestSite, mode: str) -> None:
    pulled = 0

    def endless() -> Iterator[str]:
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield site.url(f"/page/{i}")  # all different: a repeat would be skipped

    records = fetch(endless(), mode=mode, concurrency=4)
    first = list(itertools.islice(records, 40))
    records.close()
    assert len(first) == 40
    # Read ahead only the look-ahead window (to find a free host), what is in flight and
    # what is finished and waiting: the last two at most `concurrency` each.
    lookahead = fetchpool.Config(concurrency=4).read_ahead
    assert lookahead == 32
    assert pulled <= 40 + lookahead + 2 * 4 + 1, pulled


@pytest.mark.parametrize("mode", MODES)
def test_fetch_async_yields_every_record(site: TestSite, mode: str) -> None:
    urls = [site.url(f"/page/{i}") for i in range(25)] + ["nope"]

    async def collect() -> list[Record]:
        return [rec async for rec in fetch_async(urls, mode=mode, concurrency=5)]

    records = asyncio.run(collect())
    assert sorted(r.url for r in records) == sorted(urls)
    assert sum(r.status == 200 for r in records) == 25


def test_a_single_string_is_one_url(site: TestSite) -> None:
    records = list(fetch(site.url("/page/1"), mode="sequential"))
    assert len(records) == 1 and records[0].status == 200


@pytest.mark.parametrize("mode", MODES)
def test_user_agent_and_headers_are_sent(site: TestSite, mode: str) -> None:
    list(fetch([site.url("/headers")], mode=mode, headers={"X-Test": "1"}))
    assert site.last_headers["User-Agent"] == f"fetchpool/{fetchpool.__version__}"
    assert site.last_headers["X-Test"] == "1"
    list(fetch([site.url("/headers")], mode=mode, headers={"user-agent": "mine/2"}))
    assert site.last_headers["User-Agent"] == "mine/2"
