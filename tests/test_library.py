"""The library in someone else's program: cancelling or closing ``fetch_async`` returns at
once and never blocks the caller's loop; ``cluster=`` is honoured; the body sink is told the
input URL in every mode; the sync ``fetch`` works where an event loop already runs."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType

import pytest

from fetchpool import MODES, Record, UsageError, fetch, fetch_async
from fetchpool.testsite.site import TestSite

pytestmark = pytest.mark.timeout(90)

#: Every page takes 10 s: a run waits for them unless it truly stops.
_SLOW = "/delay/10000/"
#: What "at once" means, on a busy machine too: far below the 10 s a page takes.
_PROMPT = 0.5


class _LagProbe:
    """The longest the loop went without running a 10 ms timer, while in ``async with``."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.monotonic() - before - 0.01)

    async def __aenter__(self) -> _LagProbe:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _first_then(site: TestSite, mode: str, *, cancel: bool) -> tuple[float, float]:
    """Iterate a run of one fast page and 20 slow ones, take the fast record, then cancel the
    consuming task, or stop iterating and ``aclose()``; how long that took, and the loop's
    worst lag meanwhile."""
    urls = [site.url("/page/1")] + [site.url(f"{_SLOW}{i}") for i in range(20)]
    got = asyncio.Event()
    records = fetch_async(urls, mode=mode, concurrency=8, processes=2, timeout=30)

    async def consume() -> None:
        async for rec in records:
            assert rec.url == urls[0]
            got.set()

    async with _LagProbe() as probe:
        if cancel:
            task = asyncio.create_task(consume())
            await asyncio.wait_for(got.wait(), 60)
        else:
            first = await asyncio.wait_for(anext(records), 60)
            assert first.url == urls[0]
        await asyncio.sleep(0.2)  # the slow requests are in flight now
        probe.worst = 0.0
        started = time.monotonic()
        if cancel:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        else:
            await records.aclose()  # type: ignore[attr-defined]
        took = time.monotonic() - started
        await asyncio.sleep(0.3)  # anything left to block the loop shows here
    return took, probe.worst


@pytest.mark.parametrize("how", ["cancel", "aclose"])
@pytest.mark.parametrize("mode", MODES)
def test_cancelling_fetch_async_returns_at_once_and_never_blocks_the_loop(
    site: TestSite, mode: str, how: str
) -> None:
    took, lag = asyncio.run(_first_then(site, mode, cancel=how == "cancel"))
    assert took < _PROMPT, f"{how} took {took:.2f} s"
    assert lag < _PROMPT, f"the loop was blocked for {lag:.2f} s"


@pytest.mark.parametrize("mode", ["async", "to-thread"])
def test_fetch_async_honours_cluster(site: TestSite, mode: str) -> None:
    pytest.importorskip("distributed")
    urls = [site.url(f"/page/{i}") for i in range(20)]

    async def go(cluster: str) -> list[Record]:
        return [r async for r in fetch_async(urls, mode=mode, cluster=cluster, concurrency=4)]

    # A cluster that cannot be reached: a run that ignored cluster= would just fetch here.
    with pytest.raises(UsageError, match=r"cannot use the Dask cluster tcp://127\.0\.0\.1:9"):
        asyncio.run(go("tcp://127.0.0.1:9"))
    rows = asyncio.run(go("local:1"))
    assert sorted(r.url for r in rows) == sorted(urls)
    assert all(r.status == 200 for r in rows)


@pytest.mark.parametrize("mode", [m for m in MODES if m != "processes"])
def test_the_body_sink_is_told_the_input_url_in_every_mode(site: TestSite, mode: str) -> None:
    told: list[str] = []

    class Sink:
        def __enter__(self) -> Sink:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def write(self, chunk: bytes) -> None:
            pass

        def done(self, record: Record) -> Record:
            return record

    def factory(url: str, content_type: str | None) -> Sink:
        told.append(url)
        return Sink()

    url = site.url("/redirect/2")
    (rec,) = fetch([url], mode=mode, body_sink=factory)
    assert rec.final_url == site.url("/page/0")
    assert told == [url] == [rec.url]


@pytest.mark.parametrize("mode", MODES)
def test_sync_fetch_works_inside_a_running_event_loop(site: TestSite, mode: str) -> None:
    urls = [site.url(f"/page/{i}") for i in range(10)]

    async def cell() -> list[Record]:  # what a Jupyter cell is: code under a running loop
        return list(fetch(urls, mode=mode, concurrency=4, processes=2))

    rows = asyncio.run(cell())
    assert sorted(r.url for r in rows) == sorted(urls)
    assert all(r.status == 200 for r in rows)


def test_closing_sync_fetch_early_inside_a_loop_stops_the_engine(site: TestSite) -> None:
    urls = [site.url("/page/1")] + [site.url(f"{_SLOW}{i}") for i in range(10)]

    async def cell() -> float:
        records = fetch(urls, mode="async", concurrency=4)
        assert next(records).url == urls[0]
        started = time.monotonic()
        records.close()
        return time.monotonic() - started

    assert asyncio.run(cell()) < _PROMPT
