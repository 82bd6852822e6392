"""Seeing and steering a run: the knob, the scheduler's live limit, the control endpoint over
HTTP, and the keys of `fetchpool fetch` pressed in a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

import fetchpool
from fetchpool.config import Config
from fetchpool.control.endpoint import ControlServer, parse_address
from fetchpool.core.drive import drive
from fetchpool.core.outcome import Outcome
from fetchpool.core.scheduler import Job, Scheduler, Wait
from fetchpool.errors import UsageError
from fetchpool.knob import Knob
from fetchpool.records import Record
from fetchpool.testsite.site import TestSite
from procs import descendants

FETCHPOOL = str(Path(sys.executable).parent / "fetchpool")


def _until(what: Callable[[], object], why: str, timeout: float = 60.0) -> None:
    """Poll ``what`` until it is true, with a generous overall deadline."""
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, why
        time.sleep(0.02)


def _stats(site: TestSite) -> dict[str, int]:
    with urllib.request.urlopen(site.url("/stats"), timeout=10) as resp:
        got: dict[str, int] = json.load(resp)
    return got


# --- the knob and the scheduler: pure logic ----------------------------------------------


def test_knob_turns_within_its_bounds_and_counts_versions() -> None:
    knob = Knob(4, most=10)
    assert (knob.concurrency, knob.most, knob.paused, knob.stopping) == (4, 10, False, False)
    v = knob.version
    assert knob.more() == 5 and knob.version > v
    assert knob.fewer() == 4  # more then fewer comes back
    assert [knob.more() for _ in range(5)] == [5, 6, 7, 8, 10]
    assert knob.more() == 10  # never past most
    assert knob.set_concurrency(0) == 1 and knob.fewer() == 1  # never below 1
    assert knob.toggle_pause() is True and knob.paused
    assert knob.toggle_pause() is False
    with pytest.raises(ValueError):
        knob.set_concurrency(2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Knob(0)
    assert Knob(2000).most == 2000  # -c above the default ceiling is the ceiling


def test_knob_wait_wakes_on_a_change_from_another_thread() -> None:
    knob = Knob(2)
    seen = knob.version
    threading.Timer(0.05, knob.pause).start()
    assert knob.wait(seen, timeout=30) != seen
    assert knob.paused


def test_knob_status_counts_records_errors_and_latency() -> None:
    knob = Knob(3)
    for i in range(100):
        knob.recorded(Record(url=f"u{i}", status=200, elapsed=0.1 if i < 90 else 1.0))
    knob.recorded(Record(url="x", error="timeout: slow"))
    knob.recorded(Record(url="y", status=503, elapsed=0.2))
    s = knob.status()
    assert (s["done"], s["ok"], s["failed"], s["errors"]) == (102, 100, 2, {"timeout": 1})
    assert s["latency"]["p50"] == pytest.approx(0.1, rel=0.07)
    assert s["latency"]["p99"] == pytest.approx(1.0, rel=0.07)
    assert s["concurrency"] == 3 and s["paused"] is False and s["in_flight"] is None
    json.dumps(s)  # plain values only


def _jobs(sched: Scheduler) -> list[Job]:
    """Start what the scheduler lets start now."""
    started = []
    while isinstance(step := sched.poll(), Job):
        started.append(step)
    assert isinstance(step, Wait)
    return started


def test_scheduler_concurrency_changes_live_and_lowering_cancels_nothing() -> None:
    urls = [f"http://h{i % 7}.test/{i}" for i in range(100)]
    config = Config(concurrency=2, per_host=100, knob=Knob(2))  # a knob: up to 1024
    sched = Scheduler(iter(urls), config, clock=lambda: 0.0)
    first = _jobs(sched)
    assert len(first) == 2
    sched.set_concurrency(5)
    more = _jobs(sched)
    assert len(more) == 3 and sched.in_flight == 5
    sched.set_concurrency(1)
    assert _jobs(sched) == []  # nothing in flight is touched, nothing new starts
    for job in (first + more)[:4]:
        assert sched.finish(job, Outcome(status=200, length=1)) is not None
        assert _jobs(sched) == []  # 4, 3, 2, 1 still in flight: at or above the limit
    sched.finish(more[-1], Outcome(status=200, length=1))
    assert len(_jobs(sched)) == 1
    unsteered = Scheduler(iter(urls), Config(concurrency=2), clock=lambda: 0.0)
    unsteered.set_concurrency(9)  # past what its config allows: its pools are no bigger
    assert len(_jobs(unsteered)) == 2


def test_scheduler_paused_starts_nothing_yet_ends_when_all_is_done() -> None:
    sched = Scheduler(iter(["http://a.test/1", "http://a.test/2"]), Config(concurrency=4))
    job = sched.poll()
    assert isinstance(job, Job)
    sched.pause(True)
    assert sched.poll() == Wait(None)
    sched.finish(job, Outcome(status=200, length=1))
    assert sched.poll() == Wait(None)  # one URL left, and paused
    sched.pause(False)
    last = sched.poll()
    assert isinstance(last, Job)
    sched.pause(True)
    sched.finish(last, Outcome(status=200, length=1))
    assert sched.poll() is None  # paused, but nothing is left: the run is over


class _Instant:
    """A runner that answers every request at once (200), counting what is in flight."""

    def __init__(self) -> None:
        self.done: list[tuple[Job, Outcome]] = []
        self.peak = 0

    def submit(self, job: Job) -> None:
        self.done.append((job, Outcome(status=200, length=1)))
        self.peak = max(self.peak, len(self.done))

    def collect(self, timeout: float | None) -> list[tuple[Job, Outcome]]:
        done, self.done = self.done, []
        return done

    def drain(self) -> list[tuple[Job, Outcome]]:
        return self.collect(0)


def test_drive_applies_the_knob_and_a_stop_hands_over_what_finished() -> None:
    knob = Knob(3)
    urls = [f"http://h{i}.test/" for i in range(50)]
    runner = _Instant()
    records = drive(Scheduler(iter(urls), Config(concurrency=3, knob=knob)), runner)
    got = [next(records) for _ in range(5)]
    assert runner.peak == 3
    knob.set_concurrency(7)
    got += [next(records) for _ in range(10)]
    assert runner.peak == 7 and knob.in_flight is not None
    knob.stop()
    with pytest.raises(KeyboardInterrupt):
        got += list(records)
    assert len({r.url for r in got}) == len(got) and all(r.started for r in got)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "mode", ["threadpool", "to-thread", "threading", "async", "curl", "processes"]
)
def test_every_mode_follows_the_knob(fresh_site: TestSite, mode: str) -> None:
    """The limit turned up and down and the pause, in a real run of each mode."""
    site = fresh_site
    knob = fetchpool.Knob(2)
    urls = [site.url(f"/delay/300/{i}") for i in range(3000)]
    got: list[Record] = []
    ended: list[BaseException] = []

    def consume() -> None:
        try:
            for rec in fetchpool.fetch(urls, mode=mode, knob=knob):
                got.append(rec)
        except BaseException as exc:  # the stop: KeyboardInterrupt, as Ctrl-C
            ended.append(exc)

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    try:
        _until(lambda: site.peak == 2, f"{mode}: two never ran at once")
        knob.set_concurrency(5)
        _until(lambda: site.peak == 5, f"{mode}: the raised limit was not used")
        knob.set_concurrency(2)
        _kept_to(site, 2)
        knob.pause()
        _until(lambda: site.in_flight == 0, f"{mode}: what was in flight never finished")
        held = _holds_still(site, 0.5)
        knob.resume()
        _until(lambda: site.requests > held, f"{mode}: the run did not resume")
    finally:
        knob.stop()
        worker.join(timeout=60)
    assert not worker.is_alive() and len(ended) == 1 and isinstance(ended[0], KeyboardInterrupt)
    assert len({r.url for r in got}) == len(got) and all(r.status == 200 for r in got)


# --- the control endpoint -------------------------------------------------------------


def _call(url: str, method: str = "GET", token: str | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_endpoint_steers_the_knob_and_refuses_bad_requests() -> None:
    knob = Knob(4, most=50)
    with ControlServer(knob, "127.0.0.1:0") as server:
        status, body = _call(f"{server.url}/status")
        assert status == 200
        assert {"done", "in_flight", "rate", "concurrency", "paused"} <= set(body)
        assert _call(f"{server.url}/pause", "POST")[1]["paused"] is True and knob.paused
        assert _call(f"{server.url}/resume", "POST")[1]["paused"] is False
        assert _call(f"{server.url}/concurrency?n=9", "POST")[1]["concurrency"] == 9
        assert knob.concurrency == 9
        for bad in ("n=0", "n=x", "n=51", ""):
            assert _call(f"{server.url}/concurrency?{bad}", "POST")[0] == 400
        assert _call(f"{server.url}/pause")[0] == 404  # steering is POST only
        assert _call(f"{server.url}/nothing", "POST")[0] == 404
        assert _call(f"{server.url}/stop", "POST")[1]["stopping"] is True and knob.stopping


def test_endpoint_with_a_token_refuses_a_wrong_or_missing_one() -> None:
    knob = Knob(2)
    # Beyond loopback is allowed once a token guards it; reached here through loopback.
    with ControlServer(knob, "0.0.0.0:0", token="s3cret-token") as server:
        port = server.url.rsplit(":", 1)[1]
        base = f"http://127.0.0.1:{port}"
        assert _call(f"{base}/status")[0] == 401
        assert _call(f"{base}/status", token="wrong")[0] == 401
        assert _call(f"{base}/pause", "POST", token="s3cret-tokenX")[0] == 401
        assert not knob.paused
        assert _call(f"{base}/status", token="s3cret-token")[0] == 200
        assert _call(f"{base}/pause", "POST", token="s3cret-token")[0] == 200
        assert knob.paused


def test_an_address_beyond_loopback_needs_a_token() -> None:
    assert parse_address("127.0.0.1:0", token=None) == ("127.0.0.1", 0)
    assert parse_address("[::1]:8080", token=None) == ("::1", 8080)
    assert parse_address("localhost:1", token=None) == ("localhost", 1)
    for address in ("0.0.0.0:8080", "192.168.1.2:80", "example.com:80", "[::]:80"):
        with pytest.raises(UsageError, match="--control-token"):
            parse_address(address, token=None)
        assert parse_address(address, token="t")[1] > 0
    for bad in ("8080", "127.0.0.1", "127.0.0.1:x", ":80", "127.0.0.1:70000"):
        with pytest.raises(UsageError, match="HOST:PORT"):
            parse_address(bad, token=None)


def test_the_command_refuses_a_public_control_address_without_a_token(
    fresh_site: TestSite, clean_env: dict[str, str]
) -> None:
    clean_env.pop("FETCHPOOL_CONTROL_TOKEN", None)
    done = subprocess.run(
        [FETCHPOOL, "fetch", fresh_site.url("/page/1"), "--control", "0.0.0.0:0"],
        capture_output=True, text=True, env=clean_env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--control-token" in done.stderr
    assert done.stdout == "" and _stats(fresh_site)["requests"] == 0


def _urls(tmp_path: Path, site: TestSite, count: int, ms: int = 300) -> Path:
    path = tmp_path / "urls.txt"
    path.write_text("".join(site.url(f"/delay/{ms}/{i}") + "\n" for i in range(count)))
    return path


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _kept_to(site: TestSite, limit: int, look: Callable[[], object] = lambda: None) -> None:
    """At most ``limit`` in flight from some moment on, across 6 requests started after it:
    a change reaches the scheduler a moment after it is made (a turn of its loop, a message
    to a worker process), so the first round may still see the old limit; 3 rounds may not."""

    def seen(cond: Callable[[], bool]) -> Callable[[], bool]:
        return lambda: (look(), cond())[1]

    for _ in range(3):
        _until(seen(lambda: site.in_flight <= limit), "the lowered limit was not kept")
        site.reset()
        _until(seen(lambda: site.requests >= 6), "the run stalled")
        if site.peak <= limit:
            return
    pytest.fail(f"{site.peak} in flight at once, after the limit was turned to {limit}")


def _holds_still(site: TestSite, seconds: float = 1.0) -> int:
    """Nothing starts while paused: the site's count of requests stays fixed, with none in
    flight, however often it is looked at across ``seconds``."""
    first = _stats(site)
    assert first["in_flight"] == 0
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        now = _stats(site)
        assert now["requests"] == first["requests"] and now["in_flight"] == 0, now
        time.sleep(0.1)
    return first["requests"]


@pytest.mark.timeout(120)
def test_the_endpoint_steers_a_real_run(
    fresh_site: TestSite, tmp_path: Path, clean_env: dict[str, str]
) -> None:
    out = tmp_path / "out.jsonl"
    token = "a-secret-of-this-test"
    env = {**clean_env, "FETCHPOOL_CONTROL_TOKEN": token}
    proc = subprocess.Popen(
        [FETCHPOOL, "fetch", str(_urls(tmp_path, fresh_site, 2000)), "-o", str(out),
         "-c", "2", "--control", "127.0.0.1:0"],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"control endpoint on (http://\S+)", line)
        assert found, line
        base = found[1]
        assert token not in line  # never shown
        assert _call(f"{base}/status")[0] == 401
        _until(lambda: fresh_site.peak == 2, "two requests never ran at once")
        status, body = _call(f"{base}/concurrency?n=5", "POST", token)
        assert status == 200 and body["concurrency"] == 5
        _until(lambda: fresh_site.peak == 5, "the raised limit was not used")
        host = f"127.0.0.1:{fresh_site.port}"
        _until(  # what is in flight, per host, as the run waits for its requests
            lambda: _call(f"{base}/status", token=token)[1]["hosts"] == [[host, 5]],
            "the busiest hosts were not shown",
        )
        assert _call(f"{base}/pause", "POST", token)[1]["paused"] is True
        _until(lambda: fresh_site.in_flight == 0, "what was in flight never finished")
        held = _holds_still(fresh_site)
        status, body = _call(f"{base}/status", token=token)
        assert body["paused"] is True and body["in_flight"] == 0 and body["done"] == held
        assert body["hosts"] == []
        fresh_site.reset()
        _call(f"{base}/concurrency?n=3", "POST", token)
        _call(f"{base}/resume", "POST", token)
        _until(lambda: fresh_site.requests >= 12, "the run did not resume")
        assert fresh_site.peak <= 3
        before_stop = _call(f"{base}/status", token=token)[1]["done"]
        assert _call(f"{base}/stop", "POST", token)[0] == 200
        assert proc.wait(timeout=60) == 130  # as Ctrl-C
    finally:
        proc.kill()
        proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    records = _records(out)
    assert len(records) >= before_stop
    assert len({r["url"] for r in records}) == len(records)
    assert all(r["status"] == 200 and isinstance(r["started"], float) for r in records)


# --- the keys, in a pseudo-terminal --------------------------------------------------------


class _Screen:
    """A `fetchpool fetch` in a pseudo-terminal; what it draws is read all the time (a
    terminal nobody reads would block the display)."""

    def __init__(self, args: list[str], env: dict[str, str], program: str = "") -> None:
        # Through a shell, so that the terminal's settings can be looked at once it ends.
        command = " ".join([FETCHPOOL, *args]) + "; echo EXIT=$?; stty -a"
        argv = args if program else ["-c", command]
        self.child = pexpect.spawn(
            program or "/bin/sh", argv, env={**env, "TERM": "xterm"}, encoding="utf-8",
            timeout=60, dimensions=(40, 160),
        )  # fmt: skip
        self.child.delaybeforesend = None
        self.seen = ""

    def read(self) -> str:
        try:
            while True:
                self.seen += self.child.read_nonblocking(65536, timeout=0)
        except (pexpect.TIMEOUT, pexpect.EOF):
            pass
        return self.seen

    def until(self, what: Callable[[], object], why: str) -> None:
        def look() -> object:
            self.read()
            return what()

        _until(look, why)


@pytest.fixture
def screens() -> Iterator[list[_Screen]]:
    made: list[_Screen] = []
    yield made
    for screen in made:
        screen.child.close(force=True)


@pytest.mark.timeout(120)
def test_keys_pause_resume_turn_and_stop(
    fresh_site: TestSite, tmp_path: Path, clean_env: dict[str, str], screens: list[_Screen]
) -> None:
    out = tmp_path / "out.jsonl"
    urls = _urls(tmp_path, fresh_site, 2000)
    screen = _Screen(["fetch", str(urls), "-o", str(out), "-c", "2"], clean_env)
    screens.append(screen)
    site = fresh_site
    screen.until(lambda: site.peak == 2 and "per host" in screen.seen, "no live display")
    assert "p pause" in screen.seen  # the keys are shown
    screen.seen = ""  # what is drawn from now on
    screen.child.send("+")
    screen.until(lambda: "(concurrency 3)" in screen.seen, "+ was not taken")
    screen.until(lambda: site.peak == 3, "+ did not raise the peak in flight")
    screen.seen = ""  # what is drawn from now on
    screen.child.send("-")
    screen.until(lambda: "(concurrency 2)" in screen.seen, "- not taken")
    _kept_to(site, 2, screen.read)  # - lowered the peak in flight
    screen.seen = ""  # what is drawn from now on
    screen.child.send("p")
    screen.until(lambda: "paused" in screen.seen and site.in_flight == 0, "p did not pause")
    held = _holds_still(site)
    screen.seen = ""  # what is drawn from now on
    screen.child.send("p")
    screen.until(lambda: site.requests > held, "p did not resume")
    screen.seen = ""  # what is drawn from now on
    screen.child.send("?")
    screen.until(lambda: "show or hide these keys" in screen.seen, "? showed no keys")
    finished = site.requests - site.in_flight  # answered before the stop, at least
    screen.child.send("s")
    screen.child.expect(r"EXIT=(\d+)")
    assert screen.child.match[1] == "130"  # as Ctrl-C
    assert "(interrupted)" in screen.child.before  # the summary
    screen.child.expect(pexpect.EOF)
    after = screen.child.before  # the terminal's settings are back
    assert re.search(r"(?<!-)icanon", after) and re.search(r"(?<!-)echo\b", after), after
    records = _records(out)
    assert len(records) >= finished - 2  # at most the requests in flight (-c 2) are dropped
    assert len({r["url"] for r in records}) == len(records)
    assert all(r["status"] == 200 for r in records)


def test_no_terminal_no_keys_and_nothing_changes(
    fresh_site: TestSite, tmp_path: Path, clean_env: dict[str, str]
) -> None:
    urls = _urls(tmp_path, fresh_site, 5, ms=0)
    done = subprocess.run(
        [FETCHPOOL, "fetch", str(urls), "-c", "2"], capture_output=True, text=True,
        env=clean_env, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 5
    assert "p pause" not in done.stderr and "control" not in done.stderr


def test_the_library_takes_a_knob_in_any_mode(site: TestSite) -> None:
    knob = fetchpool.Knob(2)
    urls = [site.url(f"/page/{i}") for i in range(20)]
    got = list(fetchpool.fetch(urls, mode="threading", knob=knob))
    assert len(got) == 20 and knob.status()["done"] == 0  # the writer's counts: fetchpool.run
    summary = fetchpool.run(urls, output=os.devnull, knob=knob)
    assert summary.stats.done == 20 and knob.status()["done"] == 20


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_cluster_run_follows_the_knob_a_batch_at_a_time(fresh_site: TestSite) -> None:
    pytest.importorskip("distributed")
    site = fresh_site
    knob = fetchpool.Knob(2)
    urls = [site.url(f"/delay/50/{i}") for i in range(5000)]
    got: list[Record] = []
    ended: list[BaseException] = []

    def consume() -> None:
        try:
            for rec in fetchpool.fetch(urls, cluster="local:1", knob=knob):
                got.append(rec)
        except BaseException as exc:
            ended.append(exc)

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    try:
        _until(lambda: site.peak == 2, "the cluster never fetched", timeout=120)
        knob.pause()  # the batches submitted (one running, one queued) end; no more go out
        for _ in range(4):  # each batch submitted before the pause may still start, then end
            _until(lambda: site.in_flight == 0 and len(got) == site.requests, "no end")
            held = site.requests
            until = time.monotonic() + 1.0
            while time.monotonic() < until and site.requests == held:
                time.sleep(0.1)
            if site.requests == held:
                break
        else:
            pytest.fail("batches kept starting while paused")
        knob.set_concurrency(6)
        knob.resume()
        _until(lambda: site.requests > held, "the run did not resume")
        _until(lambda: site.peak == 6, "the next batches did not take the new limit")
    finally:
        knob.stop()
        worker.join(timeout=90)
    assert not worker.is_alive() and isinstance(ended[0], KeyboardInterrupt)
    assert len({r.url for r in got}) == len(got)


def test_the_sequential_mode_stays_one_at_a_time_whatever_the_knob(site: TestSite) -> None:
    knob = fetchpool.Knob(2)
    knob.set_concurrency(8)
    urls = [site.url(f"/delay/50/{i}") for i in range(6)]
    started = time.monotonic()
    records = list(fetchpool.fetch(urls, mode="sequential", knob=knob))
    assert len(records) == 6
    # One after another: each record's time is its own request's, never a queue's.
    assert all(0.05 <= r.elapsed < 0.05 + (time.monotonic() - started) / 3 for r in records)
    ends = sorted((r.started or 0) + r.elapsed for r in records)
    starts = sorted(r.started or 0 for r in records)
    assert all(s >= e - 0.001 for s, e in zip(starts[1:], ends, strict=False))


def test_the_library_serves_a_run_over_http_while_it_goes(fresh_site: TestSite) -> None:
    knob = fetchpool.Knob(2)
    urls = [fresh_site.url(f"/delay/200/{i}") for i in range(400)]
    seen: list[dict[str, Any]] = []

    def watch() -> None:
        _until(lambda: knob.control_url is not None, "the endpoint never started")
        _until(lambda: fresh_site.requests >= 4, "nothing was fetched")
        seen.append(_call(f"{knob.control_url}/status")[1])
        _call(f"{knob.control_url}/stop", "POST")

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with pytest.raises(fetchpool.Interrupted):
        fetchpool.run(urls, output=os.devnull, knob=knob, control="127.0.0.1:0")
    watcher.join(timeout=60)
    assert seen and seen[0]["concurrency"] == 2 and seen[0]["in_flight"] in (0, 1, 2)
    assert knob.control_url is not None
    with pytest.raises(OSError):  # closed with the run
        urllib.request.urlopen(f"{knob.control_url}/status", timeout=5)


@pytest.mark.timeout(120)
def test_sigterm_gives_the_terminal_back(
    fresh_site: TestSite, tmp_path: Path, clean_env: dict[str, str], screens: list[_Screen]
) -> None:
    out = tmp_path / "out.jsonl"
    screen = _Screen(["fetch", str(_urls(tmp_path, fresh_site, 500)), "-o", str(out)], clean_env)
    screens.append(screen)
    screen.until(lambda: "p pause" in screen.seen and fresh_site.requests > 0, "no run")
    (pid,) = [p for p in descendants(screen.child.pid) if "fetchpool" in _cmdline(p)][:1]
    os.kill(pid, signal.SIGTERM)
    screen.child.expect(r"EXIT=(\d+)")
    assert screen.child.match[1] == "143"
    screen.child.expect(pexpect.EOF)
    after = screen.child.before
    assert re.search(r"(?<!-)icanon", after) and re.search(r"(?<!-)echo\b", after), after


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.timeout(120)
def test_ctrl_z_gives_the_terminal_back_and_fg_takes_it_again(
    fresh_site: TestSite, tmp_path: Path, clean_env: dict[str, str], screens: list[_Screen]
) -> None:
    """In an interactive shell with job control, as a user runs it."""
    env = {**clean_env, "PS1": "READY$ "}
    screen = _Screen(["--norc", "--noprofile", "-i"], env, program="/bin/bash")
    screens.append(screen)
    child = screen.child
    child.expect_exact("READY$ ")
    urls = _urls(tmp_path, fresh_site, 500)
    child.sendline(f"{FETCHPOOL} fetch {urls} -o {tmp_path / 'o.jsonl'}")
    child.expect_exact("p pause")
    screen.until(lambda: fresh_site.requests > 0, "nothing fetched")
    child.send("\x1a")  # Ctrl-Z
    child.expect("Stopped")
    child.expect_exact("READY$ ")
    child.sendline("stty -a")
    child.expect_exact("READY$ ")
    assert re.search(r"(?<!-)icanon", child.before) and re.search(r"(?<!-)echo\b", child.before)
    child.sendline("fg")
    child.expect_exact("p pause")  # drawn again
    screen.seen = ""
    child.send("p")
    screen.until(lambda: "(paused)" in screen.seen, "p after fg was not taken")
    screen.until(lambda: fresh_site.in_flight == 0, "the pause after fg did not hold")
    child.send("s")
    child.expect_exact("READY$ ")
    child.sendline("echo EXIT=$?; stty -a")
    child.expect(r"EXIT=(\d+)")
    assert child.match[1] == "130"
    child.expect_exact("READY$ ")
    assert re.search(r"(?<!-)icanon", child.before) and re.search(r"(?<!-)echo\b", child.before)


@pytest.mark.timeout(120)
def test_processes_turned_below_the_number_of_workers_still_finish(site: TestSite) -> None:
    knob = fetchpool.Knob(2)
    knob.set_concurrency(1)  # two workers (-c 2), a limit of 1: each still fetches
    urls = [site.url(f"/page/{i}") for i in range(40)]
    got = list(fetchpool.fetch(urls, mode="processes", processes=2, knob=knob, concurrency=2))
    assert len(got) == 40
