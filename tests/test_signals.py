"""SIGTERM and SIGHUP — what systemd, docker, Kubernetes and a closed terminal send — stop a
run as Ctrl-C does: every finished record written, the summary printed, exit 143 / 129, no
traceback, and no process of ``-m processes`` or ``--cluster`` left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fetchpool import MODES
from fetchpool.testsite.site import TestSite
from procs import alive, descendants

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc"),
]

N = 3000


def _wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _lines(target: Path) -> int:
    return target.read_bytes().count(b"\n") if target.exists() else 0


def _stop_mid_run(
    fetchpool_bin: str,
    env: dict[str, str],
    site: TestSite,
    tmp_path: Path,
    args: list[str],
    signum: int,
    *,
    group: bool = False,
    route: str = "/delay/20/",
) -> tuple[subprocess.Popen[str], str, list[int]]:
    """Start a run of N pages, send ``signum`` once some records are written (to the process,
    as docker and Kubernetes do, or with ``group`` to its whole process group, as systemd
    and a closing terminal do); its stderr and the processes it had started."""
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(site.url(f"{route}{i}") + "\n" for i in range(N)))
    target = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [fetchpool_bin, "fetch", *args, "-o", str(target), str(listing)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        assert _wait_until(lambda: _lines(target) >= 20 or proc.poll() is not None, 60)
        assert proc.poll() is None, "the run ended before the signal"
        started = descendants(proc.pid)
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc, err, started


def _check_written(target: Path, err: str, code: int) -> None:
    assert "Traceback" not in err and "leaked" not in err, err
    assert err.rstrip().endswith("(interrupted)") or "(interrupted)\n" in err, err
    lines = target.read_text().splitlines(keepends=True)
    assert all(line.endswith("\n") for line in lines)
    rows = [json.loads(line) for line in lines]  # every record whole
    assert 0 < len(rows) < N and len({r["url"] for r in rows}) == len(rows)
    done = int(err.split(" URLs", 1)[0].rsplit("\n", 1)[-1])
    assert done == len(rows), "the summary counts exactly what was written"


@pytest.mark.parametrize("mode", [m for m in MODES if m != "processes"])
def test_sigterm_writes_every_finished_record_and_exits_143(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path, mode: str
) -> None:
    proc, err, _ = _stop_mid_run(
        fetchpool_bin, clean_env, site, tmp_path, ["-m", mode, "-c", "50"], signal.SIGTERM
    )
    assert proc.returncode == 143, err
    _check_written(tmp_path / "out.jsonl", err, 143)


def test_sighup_writes_every_finished_record_and_exits_129(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path
) -> None:
    proc, err, _ = _stop_mid_run(
        fetchpool_bin, clean_env, site, tmp_path, ["-c", "50"], signal.SIGHUP, group=True
    )
    assert proc.returncode == 129, err
    _check_written(tmp_path / "out.jsonl", err, 129)


@pytest.mark.parametrize("group", [False, True], ids=["process", "group"])
@pytest.mark.parametrize(
    "args",
    [["-m", "processes", "--processes", "2"], ["--cluster", "local:2", "--per-host", "50"]],
    ids=["processes", "cluster"],
)
def test_sigterm_leaves_no_process_behind(
    fetchpool_bin: str,
    clean_env: dict[str, str],
    site: TestSite,
    tmp_path: Path,
    args: list[str],
    group: bool,
) -> None:
    if "--cluster" in args:
        pytest.importorskip("distributed")
    proc, err, started = _stop_mid_run(
        fetchpool_bin,
        clean_env,
        site,
        tmp_path,
        [*args, "-c", "50"],
        signal.SIGTERM,
        group=group,
    )
    assert proc.returncode == 143, err
    _check_written(tmp_path / "out.jsonl", err, 143)
    assert started, "the workers had started"
    assert _wait_until(lambda: not any(alive(p) for p in started), 20), "a process outlived it"
