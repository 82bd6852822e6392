"""The processes mode with real worker processes: a worker that dies costs only the URLs it
held (each still gets exactly one record), Ctrl-C to the whole process group, a parent that
is killed outright, and workers that cannot start at all."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fetchpool import Config, UsageError, fetch
from fetchpool.bodies.hook import BodySink, no_sink
from fetchpool.distributed.processes import usable_cores, worker_configs
from fetchpool.testsite.site import TestSite
from procs import alive, ctrl_c, descendants

pytestmark = pytest.mark.timeout(90)


def _wait_until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.02)
    return False


def _sockets(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    return sum(os.readlink(fd).startswith("socket:") for fd in fds.iterdir())


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_killed_worker_costs_only_the_urls_it_held(fresh_site: TestSite) -> None:
    site = fresh_site
    urls = [site.url(f"/delay/1000/{i}") for i in range(12)]
    killed: list[int] = []

    def kill_the_busiest_worker() -> None:
        if _wait_until(lambda: site.in_flight == 4, 30):
            workers = [p.pid for p in multiprocessing.active_children() if "worker" in p.name]
            busiest = max((pid for pid in workers if pid), key=_sockets)  # most connections
            killed.append(busiest)
            os.kill(busiest, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_busiest_worker)
    killer.start()
    config = Config(mode="processes", concurrency=4, processes=2, timeout=20)
    records = list(fetch(urls, config=config))
    killer.join()
    assert killed, "the workers never had all 4 URLs in flight"
    assert sorted(r.url for r in records) == sorted(urls)  # exactly one record each
    died = [r for r in records if r.error_kind == "worker-died"]
    # What it held: its half of the 12 (the parent splits them 6 and 6 between the two
    # workers), in flight or waiting in it; at least the 2 it had in flight.
    assert 2 <= len(died) <= 6, records
    detail = f"worker process {killed[0]} died (killed by signal 9)"
    assert all(detail in (r.error or "") for r in died)
    # The other worker, and a fresh one, fetched every other URL.
    assert sum(r.status == 200 for r in records) == 12 - len(died)


def test_c_is_the_total_in_flight_across_processes(fresh_site: TestSite) -> None:
    urls = [fresh_site.url(f"/delay/300/{i}") for i in range(30)]
    config = Config(mode="processes", concurrency=6, processes=3)
    records = list(fetch(urls, config=config))
    assert len(records) == 30 and all(r.status == 200 for r in records)
    assert fresh_site.peak == 6  # all 6 at once, never more: what the server saw, not a clock


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_ctrl_c_to_the_process_group_ends_every_worker(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path
) -> None:
    urls = [site.url(f"/delay/300/{i}") for i in range(300)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    target = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [fetchpool_bin, "fetch", "-m", "processes", "-c", "10", "-o", str(target), str(listing)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env,
        start_new_session=True,  # its own process group, as a shell gives a job
    )
    try:
        assert _wait_until(lambda: target.exists() and target.stat().st_size > 0, 30)
        started = descendants(proc.pid)
        assert len(started) > min(usable_cores(), 10)  # a worker per core, and helpers
        err = ctrl_c(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "(interrupted)" in err
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert 0 < len(rows) < 300 and len({r["url"] for r in rows}) == len(rows)
    assert all(r["status"] == 200 for r in rows)
    assert _wait_until(lambda: not any(alive(p) for p in started), 10), "a process outlived Ctrl-C"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_workers_exit_when_the_parent_is_killed(
    fetchpool_bin: str, clean_env: dict[str, str], fresh_site: TestSite, tmp_path: Path
) -> None:
    urls = [fresh_site.url(f"/delay/2000/{i}") for i in range(100)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    proc = subprocess.Popen(
        [fetchpool_bin, "fetch", "-q", "-m", "processes", "-c", "10", str(listing)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env,
    )
    try:
        # The fork server, the resource tracker and a worker per core.
        helpers = 2 + min(usable_cores(), 10)
        assert _wait_until(lambda: len(descendants(proc.pid)) >= helpers, 30)
        # Their first URLs are in flight now (2 s each): the server says so, not a clock.
        assert _wait_until(lambda: fresh_site.in_flight > 0, 30)
        started = descendants(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    # Their pipe from the parent ends; they stop at once rather than finish their URLs.
    assert _wait_until(lambda: not any(alive(p) for p in started), 5), "orphaned processes"


def test_workers_that_cannot_start_end_the_run_with_a_hint(
    tmp_path: Path, site: TestSite, clean_env: dict[str, str]
) -> None:
    # The classic mistake: a script without the __main__ guard. Each worker re-imports
    # the script, which starts workers again, which fails; the run must not loop for ever.
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import fetchpool\n"
        f"urls = [{site.url('/page/')!r} + str(i) for i in range(50)]\n"
        "print(list(fetchpool.fetch(urls, mode='processes')))\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=clean_env, timeout=60
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "worker processes keep dying" in last and "__main__" in last


def test_limits_are_split_between_the_workers() -> None:
    config = Config(
        mode="processes", concurrency=10, per_host=3, rate=30.0, host_rate=6.0, lookahead=20
    )
    kwargs = worker_configs(config, 3)
    assert [k["concurrency"] for k in kwargs] == [4, 3, 3]  # -c in total
    assert [k["per_host"] for k in kwargs] == [1, 1, 1]
    assert [k["lookahead"] for k in kwargs] == [7, 7, 6]
    assert {k["rate"] for k in kwargs} == {10.0} and {k["host_rate"] for k in kwargs} == {2.0}
    assert {k["mode"] for k in kwargs} == {"async"}
    # A per-host limit below the workers: each still gets 1 (the documented max(per_host, N)).
    assert [k["per_host"] for k in worker_configs(Config(concurrency=4, per_host=1), 2)] == [1, 1]
    for k in kwargs:
        Config(**k)  # each is a valid configuration


def test_a_body_sink_that_does_not_pickle_is_a_usage_error(site: TestSite) -> None:
    def sink(url: str, content_type: str | None) -> BodySink:
        return no_sink(url, content_type)

    config = Config(mode="processes", concurrency=2, body_sink=sink)
    with pytest.raises(UsageError, match="a body_sink must be a picklable object"):
        list(fetch([site.url("/page/1")], config=config))
