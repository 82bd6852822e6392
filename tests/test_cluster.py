"""--cluster on a real local Dask cluster (local:2, two worker processes): exactly one record
per URL in SQLite and JSON lines, when a worker is killed mid-run, and with --resume after
the client was killed; no worker process outlives its run; the one-line errors."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fetchpool import Config, FetchpoolError, UsageError, fetch
from fetchpool.bodies.hook import BodySink, no_sink
from fetchpool.cli import main
from fetchpool.distributed import cluster
from fetchpool.testsite.site import TestSite
from procs import alive, ctrl_c, descendants

pytest.importorskip("distributed")
pytestmark = pytest.mark.timeout(90)

N = 5000
#: With /delay/10/ pages, a run of about 3 s after the cluster starts, in batches of 256 URLs
#: (32 rounds of the 8 each worker has in flight): a worker or the client can be killed mid-run.
_SLOWER = ("--cluster", "local:2", "-c", "16", "--per-host", "16")
needs_proc = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")


def _wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _listing(tmp_path: Path, site: TestSite, route: str) -> Path:
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(site.url(f"{route}{i}") + "\n" for i in range(N)))
    return listing


def _urls(target: Path) -> Counter[str]:
    """How many times the output records each URL."""
    if target.suffix == ".sqlite":
        with sqlite3.connect(target) as db:
            return Counter(url for (url,) in db.execute("SELECT url FROM results"))
    lines = target.read_text().splitlines()
    return Counter(json.loads(line)["url"] for line in lines)


def _rows(target: Path) -> int:
    try:
        if target.suffix == ".sqlite":
            with sqlite3.connect(target) as db:
                return int(db.execute("SELECT count(*) FROM results").fetchone()[0])
        return target.read_text().count("\n")
    except (OSError, sqlite3.Error):
        return 0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _dask_workers(pid: int) -> list[int]:
    """The Dask worker processes a local cluster's client started (multiprocessing spawns
    them; its resource tracker is the other child)."""
    return [p for p in descendants(pid) if "spawn_main" in _cmdline(p)]


def _fetchpool(*args: str) -> list[str]:
    return [sys.executable, "-m", "fetchpool", "fetch", *args]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_fetchpool(*args), capture_output=True, text=True, env=env, timeout=60)


def _exactly_once(target: Path, listing: Path) -> None:
    seen = _urls(target)
    assert sum(seen.values()) == N, f"{sum(seen.values())} records for {N} URLs"
    assert set(seen) == set(listing.read_text().split())
    assert max(seen.values()) == 1


@pytest.mark.parametrize("fmt", ["sqlite", "jsonl"])
def test_local_cluster_writes_one_record_per_url(
    fmt: str, tmp_path: Path, site: TestSite, clean_env: dict[str, str]
) -> None:
    listing = _listing(tmp_path, site, "/page/")
    target = tmp_path / f"out.{fmt}"
    proc = _run(clean_env, "--cluster", "local:2", "-o", str(target), str(listing))
    assert proc.returncode == 0, proc.stderr
    _exactly_once(target, listing)
    # The summary is the usual one, and distributed says nothing more on stderr.
    assert proc.stderr.splitlines() == [
        proc.stderr.splitlines()[0],
        f"status: 2xx {N}",
    ]
    assert f"{N} ok, 0 failed" in proc.stderr


@contextlib.contextmanager
def _mid_run(
    tmp_path: Path, site: TestSite, env: dict[str, str], target: Path
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A run of 5,000 slow URLs on local:2 in its own process group, once its first batch is
    written (each worker busy with another); killed at the end if it still runs."""
    listing = _listing(tmp_path, site, "/delay/10/")
    proc = subprocess.Popen(
        _fetchpool(*_SLOWER, "-o", str(target), str(listing)),
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as a shell gives a job
    )
    try:
        assert _wait_until(lambda: _rows(target) > 0, 40), "no record came back"
        assert len(_dask_workers(proc.pid)) == 2
        yield proc, listing
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@needs_proc
def test_a_worker_killed_mid_run_costs_no_record(
    tmp_path: Path, site: TestSite, clean_env: dict[str, str]
) -> None:
    target = tmp_path / "out.sqlite"
    with _mid_run(tmp_path, site, clean_env, target) as (proc, listing):
        os.kill(_dask_workers(proc.pid)[0], signal.SIGKILL)
        done = _rows(target)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert done < N, "the run ended before the worker was killed"
    _exactly_once(target, listing)
    with sqlite3.connect(target) as db:
        errors = db.execute("SELECT count(*) FROM results WHERE status IS NOT 200").fetchone()
    assert errors == (0,), "the killed worker's batch was not fetched again"


@needs_proc
def test_resume_after_the_client_was_killed(
    tmp_path: Path, site: TestSite, clean_env: dict[str, str]
) -> None:
    target = tmp_path / "out.jsonl"
    with _mid_run(tmp_path, site, clean_env, target) as (proc, listing):
        started = descendants(proc.pid)
        proc.kill()
    done = _rows(target)
    assert 0 < done < N
    # The workers see their nanny (the client) go and exit at once.
    assert _wait_until(lambda: not any(alive(p) for p in started), 10), "orphaned workers"
    resumed = _run(clean_env, *_SLOWER, "--resume", "-o", str(target), str(listing))
    assert resumed.returncode == 0, resumed.stderr
    assert f"already in {target}" in resumed.stderr
    _exactly_once(target, listing)


@needs_proc
def test_ctrl_c_writes_what_finished_and_ends_the_workers(
    tmp_path: Path, site: TestSite, clean_env: dict[str, str]
) -> None:
    target = tmp_path / "out.jsonl"
    with _mid_run(tmp_path, site, clean_env, target) as (proc, _):
        started = descendants(proc.pid)
        err = ctrl_c(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "(interrupted)" in err
    assert len(err.splitlines()) == 2, err  # the summary; nothing from the workers
    seen = _urls(target)
    assert 0 < len(seen) < N and max(seen.values()) == 1
    assert _wait_until(lambda: not any(alive(p) for p in started), 10), "a process outlived Ctrl-C"


def test_the_library_yields_one_record_per_url_reading_a_bounded_way_ahead(
    site: TestSite,
) -> None:
    urls = [site.url(f"/page/{i}") for i in range(1000)]
    read = 0

    def lazily() -> Iterator[str]:
        nonlocal read
        for url in [*urls, urls[0]]:
            read += 1
            yield url

    records = []
    ahead = 0  # URLs read and not yet back as records, at most
    for rec in fetch(lazily(), cluster="local:2", concurrency=4, extract="title"):
        records.append(rec)
        ahead = max(ahead, read - len(records))
    assert sorted(r.url for r in records) == sorted(urls)
    assert all(r.status == 200 and r.title for r in records)  # --extract runs on the workers
    # 2 worker threads, each with 2 in flight: batches of BATCH_ROUNDS x 2 URLs, and
    # BATCHES_PER_THREAD of them per thread in flight (one of them being handed over).
    batch = cluster.BATCH_ROUNDS * 2
    assert batch < ahead <= cluster.BATCHES_PER_THREAD * 2 * batch


def test_limits_are_split_between_the_worker_threads() -> None:
    config = Config(cluster="local:3", concurrency=10, per_host=4, rate=30.0, host_rate=6.0)
    kwargs = cluster.task_config(config, 3)
    assert kwargs["concurrency"] == 3 and kwargs["per_host"] == 1  # the smallest shares
    assert kwargs["rate"] == 10.0 and kwargs["host_rate"] == 2.0
    assert kwargs["mode"] == "curl" and kwargs["cluster"] is None
    Config(**kwargs)  # a valid configuration, for the engine on the worker
    # More threads than -c: each still has 1 in flight (the README says so).
    assert cluster.task_config(Config(concurrency=32, cluster="local:1"), 64)["concurrency"] == 1
    assert cluster.task_config(Config(mode="async", cluster="local:1"), 2)["mode"] == "async"


def test_a_body_sink_that_does_not_pickle_is_a_usage_error(site: TestSite) -> None:
    lock = threading.Lock()  # what a sink may hold, and what does not pickle

    def sink(url: str, content_type: str | None) -> BodySink:
        with lock:
            return no_sink(url, content_type)

    config = Config(cluster="local:2", body_sink=sink)
    with pytest.raises(UsageError, match="a body_sink must be a picklable object"):
        list(fetch([site.url("/page/1")], config=config))


def _cannot_start_here() -> None:
    raise RuntimeError("this sink cannot be unpickled on the cluster")


class _SinkOnlyHere:
    """A body sink that pickles here but not on the cluster, as when it lacks a module."""

    def __call__(self, url: str, content_type: str | None) -> BodySink:
        return no_sink(url, content_type)

    def __reduce__(self) -> tuple[Callable[[], None], tuple[()]]:
        return _cannot_start_here, ()


def test_workers_that_cannot_fetch_end_the_run(site: TestSite) -> None:
    urls = [site.url(f"/page/{i}") for i in range(1000)]
    config = Config(cluster="local:2", concurrency=4, body_sink=_SinkOnlyHere())
    records = []
    with pytest.raises(FetchpoolError, match="the Dask workers cannot fetch") as raised:
        records.extend(fetch(urls, config=config))
    # (Dask unpickles the task first in its scheduler, and says what failed there.)
    assert "RuntimeError" in str(raised.value) and "\n" not in str(raised.value)
    # The URLs of the batches that failed first have their records; no URL has two.
    assert records and all(r.error_kind == "internal" for r in records)
    assert len({r.url for r in records}) == len(records) < len(urls)


def test_without_dask_the_cluster_is_a_one_line_usage_error(
    site: TestSite, clean_env: dict[str, str]
) -> None:
    # distributed made unimportable, as when the dask extra is not installed.
    code = (
        "import sys; sys.modules['distributed'] = None; from fetchpool.cli import entry; "
        f"sys.argv = ['fetchpool', 'fetch', '--cluster', 'local:2', {site.url('/page/1')!r}]; "
        "entry()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_env, timeout=30
    )
    assert proc.returncode == 2
    assert proc.stderr == "fetchpool: error: --cluster needs Dask: pip install 'fetchpool[dask]'\n"


def test_help_does_not_import_dask(clean_env: dict[str, str]) -> None:
    code = (
        "import sys, contextlib, io; from fetchpool.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['fetch', '--help'])\n"
        "assert not {'dask', 'distributed'} & set(sys.modules), 'dask imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    "value",
    ["local:0", "local:", "local:x", "local:-1", "localhost:8786", "tcp://", "8786", "http://h:1"],
)
def test_bad_cluster_values_are_one_line_usage_errors(value: str, site: TestSite) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["fetch", "--cluster", value, site.url("/page/1")], stdout=out, stderr=err)
    assert code == 2
    assert err.getvalue().count("\n") == 1 and f"bad cluster {value!r}" in err.getvalue()
    assert out.getvalue() == ""
    with pytest.raises(UsageError, match="bad cluster"):
        Config(cluster=value)


def test_processes_mode_cannot_run_on_a_cluster(site: TestSite) -> None:
    err = io.StringIO()
    code = main(
        ["fetch", "-m", "processes", "--cluster", "local:2", site.url("/page/1")], stderr=err
    )
    assert code == 2 and err.getvalue().count("\n") == 1 and "processes mode" in err.getvalue()


def test_an_unreachable_scheduler_is_a_one_line_usage_error(
    site: TestSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)  # Dask tries again until then
    err = io.StringIO()
    # Nothing listens on port 1; the connect is refused at once.
    code = main(["fetch", "--cluster", "tcp://127.0.0.1:1", site.url("/page/1")], stderr=err)
    assert code == 2 and err.getvalue().count("\n") == 1, err.getvalue()
    assert "cannot use the Dask cluster tcp://127.0.0.1:1" in err.getvalue()
