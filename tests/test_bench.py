"""fetchpool bench: real runs on the built-in site, in fresh processes, with wide margins —
the machine is shared and busy, so each timing claim leaves room for noise."""

from __future__ import annotations

import copy
import io
import json
import multiprocessing
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fetchpool import MODES
from fetchpool.cli import main
from fetchpool.distributed.start import usable_cores
from fetchpool.lesson.bench import SCHEMA, Result, Row, Run, Section
from fetchpool.lesson.bench.machine import this_machine
from fetchpool.lesson.bench.measure import RunFailed, cpu_job, io_job, measure
from fetchpool.lesson.bench.report import findings
from fetchpool.lesson.bench.usage import Usage
from fetchpool.testsite.site import TestSite
from procs import alive, descendants

pytestmark = pytest.mark.timeout(180)


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    doc: dict[str, Any]
    plot: Path


def bench(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["bench", *argv], stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """One `fetchpool bench --cpu --json --plot` of every mode, shared by the tests below:
    40 pages of 250 ms at -c 20 (10 s sequential, 0.5 s ideal: 3x leaves the processes mode
    2.8 s to start its workers on a busy machine), and a small CPU half."""
    tmp = tmp_path_factory.mktemp("bench")
    doc, plot = tmp / "bench.json", tmp / "bench.png"
    argv = ["-n", "40", "--delay", "250", "-c", "20", "--cpu", "--rounds", "5"]
    code, out, err = bench([*argv, "--json", str(doc), "--plot", str(plot)])
    return Outcome(code, out, err, json.loads(doc.read_text()), plot)


def test_every_concurrent_mode_is_at_least_3x_faster_than_sequential(full_run: Outcome) -> None:
    assert full_run.code == 0, full_run.err
    rows = {r["mode"]: r for r in full_run.doc["io"]["rows"]}
    assert list(rows) == list(MODES)
    assert all(r["runs"][0]["ok"] == 40 and r["runs"][0]["failed"] == 0 for r in rows.values())
    seq = rows["sequential"]["wall_s"]
    assert seq >= 10.0  # 40 x 250 ms, one at a time
    for mode, row in rows.items():
        if mode != "sequential":
            assert row["speedup"] >= 3, f"{mode}: {row['wall_s']:.2f} s vs sequential {seq:.2f} s"
            assert row["speedup"] == pytest.approx(seq / row["wall_s"])


def test_the_table_shows_every_row_and_the_findings(full_run: Outcome) -> None:
    out = full_run.out
    assert f"fetchpool bench on {this_machine().label()}" in out
    for mode in [*MODES, "threads"]:
        assert f"│ {mode} " in out, mode
    assert "40 pages from the built-in site, each answering after 250 ms" in out
    assert "I/O-bound: the concurrent modes were" in out and "(ideal 20.0×)" in out
    assert "CPU-bound: threads" in out and "processes" in out
    assert "GIL" in out or "free-threaded" in out
    # Progress went to stderr, one line per run.
    assert sum(line.startswith("  ") for line in full_run.err.splitlines()) == len(MODES) + 3


def test_the_json_validates_against_its_schema(full_run: Outcome) -> None:
    documented = json.loads((Path(__file__).parent.parent / "docs/bench.schema.json").read_text())
    assert documented == SCHEMA, "docs/bench.schema.json is out of date"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(full_run.doc, documented, cls=jsonschema.Draft202012Validator)
    doc = full_run.doc
    assert doc["machine"]["cores"] == usable_cores() and doc["interrupted"] is False
    assert doc["io"]["items"] == 40 and doc["io"]["concurrency"] == 20
    assert [r["mode"] for r in doc["cpu"]["rows"]] == ["sequential", "threads", "processes"]
    seq = doc["io"]["rows"][0]
    assert seq["ideal_s"] == pytest.approx(10.0) and 0.5 < seq["efficiency"] <= 1.0


def test_the_schema_rejects_what_it_should(full_run: Outcome) -> None:
    breakages = [
        lambda d: d.pop("machine"),
        lambda d: d["io"]["rows"][0].update(speedup="fast"),
        lambda d: d["io"]["rows"][0]["runs"][0].pop("wall_s"),
        lambda d: d.update(unexpected=1),
        lambda d: d["io"].update(target="elsewhere"),
        lambda d: d["cpu"].update(workers=0),
    ]
    for breaks in breakages:
        doc = copy.deepcopy(full_run.doc)
        breaks(doc)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_the_plot_is_a_valid_png(full_run: Outcome) -> None:
    data = full_run.plot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 200  # two panels side by side
    import matplotlib.image

    assert matplotlib.image.imread(str(full_run.plot)).shape[:2] == (height, width)


def test_svg_plot_and_no_cpu_half(tmp_path: Path) -> None:
    target = tmp_path / "chart.svg"
    code, out, err = bench(["--modes", "async", "-n", "3", "--delay", "0", "--plot", str(target)])
    assert code == 0, err
    assert "<svg" in target.read_text()[:500] and "CPU-bound" not in out


def test_to_thread_is_within_1_5x_of_threadpool_at_c_20(tmp_path: Path) -> None:
    doc = tmp_path / "b.json"
    argv = ["--modes", "threadpool,to-thread", "-n", "60", "--delay", "300", "-c", "20"]
    code, _, err = bench([*argv, "--repeat", "3", "--json", str(doc)])
    assert code == 0, err
    walls = {r["mode"]: r["wall_s"] for r in json.loads(doc.read_text())["io"]["rows"]}
    assert max(walls.values()) <= 1.5 * min(walls.values()), walls
    assert walls["to-thread"] < 2.0  # 3 rounds of 300 ms: not capped at 6 threads (10 rounds)


def _burn_then_report(barrier: Any, seconds: float, walls: Any) -> None:
    barrier.wait()
    start = time.perf_counter()
    _burn(seconds)
    walls.put(time.perf_counter() - start)


def _free_cores(processes: int = 2, seconds: float = 0.3) -> float:
    """How many cores' worth of CPU ``processes`` busy processes get right now: on an idle
    machine, ``processes``; when other work keeps the cores busy, less."""
    context = multiprocessing.get_context("spawn")
    barrier, walls = context.Barrier(processes), context.SimpleQueue()
    burners = [
        context.Process(target=_burn_then_report, args=(barrier, seconds, walls))
        for _ in range(processes)
    ]
    for p in burners:
        p.start()
    for p in burners:
        p.join()
    return processes * seconds / max(walls.get() for _ in burners)


def test_cpu_bound_processes_beat_threads() -> None:
    machine = this_machine()
    if machine.cores < 2:
        pytest.skip(f"needs 2 or more cores; this process may use {machine.cores}")
    if not machine.gil_enabled:
        pytest.skip("a free-threaded build runs threads in parallel: nothing to beat")
    # About 3 s of parsing. Processes can only win when the cores are free: on a machine
    # shared with other busy work (Linux shares CPU between sessions, not processes) two
    # processes may get less than one core. So each try is bracketed by a measure of the
    # free cores: a try counts against processes only with the cores free before and after.
    tries: list[str] = []
    fair = 0
    for _ in range(3):
        before = _free_cores()
        if before < 1.6:
            tries.append(f"{before:.1f} cores free")
            time.sleep(2)
            continue
        runs = {}
        for mode in ("threads", "processes"):
            runs[mode] = measure(cpu_job(mode=mode, pages=40, rounds=150, workers=2))
            assert runs[mode].ok == 40
        walls = {mode: round(run.wall, 2) for mode, run in runs.items()}
        threads_had = runs["threads"].cpu / runs["threads"].wall  # cores' worth of CPU
        if 1.5 * walls["processes"] <= walls["threads"] and threads_had >= 0.8:
            return  # and the threads had their core: their time was not stretched by others
        after = _free_cores()
        tries.append(f"{before:.1f}/{after:.1f} cores free: {walls}")
        if after >= 1.6:
            fair += 1
    if not fair:
        pytest.skip("the machine is too busy to compare: " + "; ".join(tries))
    pytest.fail("processes were not 1.5x faster than threads: " + "; ".join(tries))


def test_ctrl_c_prints_the_rows_finished_so_far(
    fetchpool_bin: str, clean_env: dict[str, str], tmp_path: Path
) -> None:
    doc = tmp_path / "b.json"
    argv = ["bench", "--modes", "async,threadpool,sequential", "-n", "20", "--delay", "300"]
    proc = subprocess.Popen(
        [fetchpool_bin, *argv, "--json", str(doc)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env,
    )
    assert proc.stderr is not None
    progress = [proc.stderr.readline() for _ in range(4)]  # header, section, async, threadpool
    assert "threadpool" in progress[-1], progress
    # Sequential takes 6 s: wait until its run has started, then interrupt it.
    deadline = time.monotonic() + 20
    while not (runners := descendants(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "│ async " in out and "│ threadpool " in out and "│ sequential " not in out
    assert "Interrupted: the rows above are the runs that finished." in out
    saved = json.loads(doc.read_text())
    assert saved["interrupted"] is True
    assert [r["mode"] for r in saved["io"]["rows"]] == ["async", "threadpool"]
    assert runners and not any(alive(p) for p in runners), "the sequential run lives on"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_killed_bench_takes_its_runs_and_their_workers_with_it(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path
) -> None:
    # The processes mode's run (a runner, its fork server and workers, in a session of its
    # own) on URLs of a site that outlives the bench: 20 s of work left when it is killed.
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(site.url(f"/delay/1000/{i}") + "\n" for i in range(400)))
    argv = ["bench", str(listing), "--modes", "processes", "-c", "20"]
    proc = subprocess.Popen(
        [fetchpool_bin, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(descendants(proc.pid)) < 4:
            time.sleep(0.05)
        started = descendants(proc.pid)
        assert len(started) >= 4, started  # runner, fork server, resource tracker, workers
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in started):
        time.sleep(0.05)
    assert not any(alive(p) for p in started), "processes outlived the bench"


def test_bench_on_your_own_urls(site: TestSite, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(site.url(f"/delay/100/{i}") + "\n" for i in range(10)))
    doc = tmp_path / "b.json"
    code, out, err = bench(["--modes", "sequential,async", str(listing), "--json", str(doc)])
    assert code == 0, err
    assert "warning: only 10 URLs for 4 in flight" in err  # the polite default, -c 4
    assert "10 URLs from your sources; 4 in flight" in out
    io_half = json.loads(doc.read_text())["io"]
    assert (io_half["target"], io_half["delay_ms"], io_half["concurrency"]) == ("URLs", None, 4)
    async_row = io_half["rows"][1]
    assert async_row["ideal_s"] is None and async_row["efficiency"] is None
    assert async_row["speedup"] > 2  # 10 x 100 ms, 4 at a time


def test_stdin_and_first_n_urls(site: TestSite) -> None:
    urls = "".join(site.url(f"/page/{i}") + "\n" for i in range(30))
    code, out, err = bench(["--modes", "async", "-n", "5", "-c", "1", "-"], stdin=urls)
    assert code == 0, err
    assert "5 URLs from your sources" in out and "5/5" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--modes", "warp"], "unknown mode 'warp' in --modes"),
        (["--modes", ","], "--modes names no mode"),
        (["--repeat", "0"], "--repeat must be at least 1"),
        (["-n", "0"], "-n must be at least 1"),
        (["-c", "0"], "concurrency must be at least 1"),
        (["--rounds", "-2"], "--rounds must be at least 1"),
        (["--delay", "-1"], "--delay must be 0 or more"),
        (["--extract", "md5"], "unknown field to extract 'md5'"),
        (["--plot", "chart.gif"], "--plot writes .png or .svg files"),
        (["--plot", "/no/such/dir/chart.png"], "no such directory"),
        (["--json", "/no/such/dir/b.json"], "no such directory"),
        (["/no/such/file.txt"], "no such file"),
        (["--repeat", "many"], "not a whole number"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(argv: list[str], needle: str) -> None:
    code, out, err = bench(argv)
    assert code == 2, err
    assert out == "" and err.startswith("fetchpool: error: ") and err.count("\n") == 1, err
    assert needle in err and "Traceback" not in err


def test_missing_matplotlib_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    code, out, err = bench(["--plot", "chart.png"])
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == (
        "fetchpool: error: --plot needs matplotlib: pip install 'fetchpool[plot]'"
    )


def test_a_failed_run_is_reported_not_hidden() -> None:
    job = io_job(mode="async", concurrency=2, url_file="/no/such/urls.txt", timeout=5, extract=())
    with pytest.raises(RunFailed, match="FileNotFoundError"):
        measure(job)


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_usage_counts_worker_processes() -> None:
    if not Path("/proc/self/task").exists():
        pytest.skip("the /proc sampler is Linux only")
    context = multiprocessing.get_context("spawn")
    with Usage() as used:
        child = context.Process(target=_burn, args=(0.4,))
        child.start()
        child.join()
    assert child.exitcode == 0
    assert used.cpu >= 0.35, used.cpu  # the child's CPU, which os.times() would miss unwaited
    assert used.peak_rss > 2 * 10**7  # two interpreters


def test_section_figures() -> None:
    def runs(*walls: float) -> list[Run]:
        return [Run(wall=w, cpu=w, peak_rss=1, ok=1, failed=0) for w in walls]

    io_half = Section(
        kind="io",
        items=20,
        repeat=3,
        cores=2,
        delay_ms=500,
        concurrency=10,
        rows=[Row("sequential", 1, runs(10.0, 11.0, 10.5)), Row("async", 10, runs(1.0, 2.0, 1.25))],
    )
    seq, aio = io_half.rows
    assert (aio.wall, aio.wall_min, aio.wall_max) == (1.25, 1.0, 2.0)  # median and spread
    assert io_half.speedup(aio) == pytest.approx(10.5 / 1.25)
    assert io_half.ideal(seq) == 10.0 and io_half.ideal(aio) == 1.0
    assert io_half.efficiency(aio) == pytest.approx(0.8)
    assert io_half.rate(aio) == 16.0
    cpu_half = Section(
        kind="cpu",
        items=10,
        repeat=1,
        cores=2,
        rounds=1,
        workers=4,
        rows=[Row("sequential", 1, runs(4.0)), Row("processes", 4, runs(2.5)), Row("threads", 4)],
    )
    assert cpu_half.ideal(cpu_half.rows[1]) == 2.0  # 4 workers, but only 2 cores
    assert cpu_half.efficiency(cpu_half.rows[1]) == pytest.approx(0.8)
    assert [r.mode for r in cpu_half.finished_rows] == ["sequential", "processes"]


def test_findings_say_when_the_machine_was_too_busy() -> None:
    def row(mode: str, workers: int, wall: float, cpu: float) -> Row:
        return Row(mode, workers, [Run(wall=wall, cpu=cpu, peak_rss=1, ok=1, failed=0)])

    machine = this_machine()
    quiet = Section(
        kind="cpu",
        items=10,
        repeat=1,
        cores=2,
        rounds=1,
        workers=2,
        rows=[row("sequential", 1, 4.0, 4.0), row("processes", 2, 2.2, 4.2)],
    )
    lines = findings(Result(machine=machine, created="now", cpu=quiet))
    assert lines == ["CPU-bound: processes 1.8× on 2 cores, against sequential."]
    busy = copy.deepcopy(quiet)
    busy.rows[1] = row("processes", 2, 4.0, 2.8)  # 0.7 cores' worth out of 2
    (_, note) = findings(Result(machine=machine, created="now", cpu=busy))
    assert note.startswith("Note: the machine was busy with other work: processes had 0.7 of 2")
