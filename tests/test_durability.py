"""Losing nothing, with the installed command: kill -9 then --resume, refusing to clobber,
duplicates, an unwritable or full output, hostile names for --save-dir."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from fetchpool import MODES
from fetchpool.cli import main
from fetchpool.testsite.site import TestSite, page_body

pytestmark = pytest.mark.timeout(120)


def fetchpool(
    bin_: str, env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [bin_, "fetch", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def recorded(path: Path) -> list[dict[str, object]]:
    """The records in a .jsonl (whole lines only) or .sqlite output."""
    if path.suffix == ".jsonl":
        text = path.read_text()
        lines = text.splitlines(keepends=True)
        return [json.loads(line) for line in lines if line.endswith("\n")]
    db = sqlite3.connect(path)
    try:
        db.row_factory = sqlite3.Row
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        if not db.execute("SELECT name FROM sqlite_master WHERE name = 'results'").fetchall():
            return []  # killed before the table was made
        return [dict(row) for row in db.execute("SELECT * FROM results")]
    finally:
        db.close()


def count(path: Path) -> int:
    """Records in an output being written by another process (0 while it cannot be read)."""
    if path.suffix == ".jsonl":
        return path.read_bytes().count(b"\n") if path.exists() else 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT count(*) FROM results").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def listing(tmp_path: Path, urls: list[str]) -> Path:
    path = tmp_path / "urls.txt"
    path.write_text("\n".join(urls) + "\n")
    return path


# -- kill -9 at random moments, then --resume ---------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mode"), [("sqlite", "async"), ("jsonl", "async"), ("sqlite", "processes")]
)
def test_kill_9_at_random_moments_then_resume_records_each_url_exactly_once(
    fetchpool_bin: str,
    clean_env: dict[str, str],
    site: TestSite,
    tmp_path: Path,
    fmt: str,
    mode: str,
) -> None:
    n = 3000
    urls = [site.url(f"/page/{i}") for i in range(n)]
    source = listing(tmp_path, [*urls, *urls[:50], "not a url"])  # repeats, a bad line
    target = tmp_path / f"out.{fmt}"
    bodies = tmp_path / "bodies"
    # --rate: on a fast machine the rest of a run could end between two of the writer's
    # flushes, before any kill lands; 1,000 a second keeps every run a few seconds long
    argv = [fetchpool_bin, "fetch", "-q", "-m", mode, "-c", "32", "--rate", "1000",
            "-o", str(target), "--resume", str(source)]  # fmt: skip
    if fmt == "sqlite":
        argv += ["--save-dir", str(bodies)]
    rng = random.Random(f"kill-{fmt}-{mode}")
    # The first kill comes at a random moment of the start (imports, opening the output);
    # each other one once a random number of new records is written, plus up to 50 ms.
    for attempt in range(4):
        before = count(target)
        proc = subprocess.Popen(argv, env=clean_env, stderr=subprocess.DEVNULL)
        if attempt == 0:
            time.sleep(rng.uniform(0.0, 0.5))
        else:
            # at most a third of what is left: a fast machine writes more in the 50 ms
            # after the goal, and the kill must still find the run going
            goal = before + rng.randint(1, max(1, (n - before) // 3))
            wait_for(lambda p=proc, g=goal: count(target) >= g or p.poll() is not None)
            time.sleep(rng.uniform(0.0, 0.05))
        proc.kill()
        proc.wait(timeout=10)
        got = [r["url"] for r in recorded(target)] if target.exists() else []
        assert len(got) == len(set(got)), "a URL recorded twice"
        assert set(got) <= {*urls, "not a url"}
        if attempt:
            assert before < len(got) < n + 1, "this kill should land mid-run"

    fetched_before = sum(r["url"] != "not a url" for r in recorded(target))
    site.reset()
    proc2 = subprocess.run(argv, capture_output=True, text=True, env=clean_env, timeout=60)
    assert proc2.returncode == 0, proc2.stderr
    rows = recorded(target)
    got = [r["url"] for r in rows]
    assert sorted(got) == sorted([*urls, "not a url"])  # each exactly once
    # Nothing fetched again that was recorded, nothing missed (the bad line needs no request).
    assert site.requests == n - fetched_before
    if fmt == "sqlite":  # every saved body whole, under its final name; no temporary left
        for row in rows:
            if row["url"] == "not a url":
                continue
            number = int(str(row["url"]).rsplit("/", 1)[1])
            assert Path(str(row["path"])).read_bytes() == page_body(number)
        assert len(os.listdir(bodies)) == n


@pytest.mark.parametrize("mode", MODES)
def test_resume_fetches_only_what_is_missing_and_duplicates_once(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path, mode: str
) -> None:
    urls = [site.url(f"/page/{i}") for i in range(40)]
    target = tmp_path / "out.jsonl"
    site.reset()
    first = fetchpool(
        fetchpool_bin,
        clean_env,
        "-m",
        mode,
        "-o",
        str(target),
        str(listing(tmp_path, urls[:25] * 2)),
    )
    assert first.returncode == 0, first.stderr
    assert "skipped: 25 repeated in the input" in first.stderr
    assert site.requests == 25
    site.reset()
    second = fetchpool(
        fetchpool_bin,
        clean_env,
        "-m",
        mode,
        "-o",
        str(target),
        "--resume",
        str(listing(tmp_path, urls)),
    )
    assert second.returncode == 0, second.stderr
    assert "skipped: 25 already in" in second.stderr
    assert site.requests == 15
    assert sorted(r["url"] for r in recorded(target)) == sorted(urls)


# -- never clobber -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.jsonl", "out.sqlite", "out.csv"])
def test_an_existing_output_is_not_clobbered_without_resume_or_overwrite(
    site: TestSite, tmp_path: Path, name: str
) -> None:
    target = tmp_path / name
    url = site.url("/page/1")
    assert main(["fetch", "-q", "-o", str(target), url]) == 0
    before = target.read_bytes()
    code = main(["fetch", "-q", "-o", str(target), site.url("/page/2")])
    assert code == 2
    assert target.read_bytes() == before
    assert main(["fetch", "-q", "-o", str(target), "--overwrite", site.url("/page/2")]) == 0
    if name != "out.csv":
        assert [r["url"] for r in recorded(target)] == [site.url("/page/2")]


def test_refusal_message(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path
) -> None:
    target = tmp_path / "out.sqlite"
    assert (
        fetchpool(fetchpool_bin, clean_env, "-q", "-o", str(target), site.url("/")).returncode == 0
    )
    proc = fetchpool(fetchpool_bin, clean_env, "-o", str(target), site.url("/page/1"))
    assert proc.returncode == 2
    assert proc.stderr == (
        f"fetchpool: error: {target} already exists; add --resume to fetch only the URLs "
        "it lacks, or --overwrite to replace it\n"
    )


# -- Ctrl-C: what finished is committed before the process ends -----------------------------


def test_ctrl_c_commits_every_finished_record_to_sqlite(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path
) -> None:
    urls = [site.url(f"/delay/200/{i}") for i in range(400)]
    target = tmp_path / "out.sqlite"
    proc = subprocess.Popen(
        [fetchpool_bin, "fetch", "-c", "20", "-o", str(target), str(listing(tmp_path, urls))],
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env,
    )
    wait_for(lambda: count(target) > 0)  # a busy machine may take a while to start
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    done = int(err.split(" URLs", 1)[0].rsplit("\n", 1)[-1])
    assert 0 < done < 400 and len(recorded(target)) == done


# -- an output that cannot be written ---------------------------------------------------------


@pytest.mark.parametrize("name", ["out.jsonl", "out.sqlite"])
def test_read_only_directory(
    fetchpool_bin: str,
    clean_env: dict[str, str],
    run_limited: Callable[..., subprocess.CompletedProcess[str]],
    site: TestSite,
    tmp_path: Path,
    name: str,
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    existing = tmp_path / "existing"
    existing.mkdir()
    old = existing / name
    assert main(["fetch", "-q", "-o", str(old), site.url("/page/1"), site.url("/page/2")]) == 0
    before = sorted(r["url"] for r in recorded(old))
    locked.chmod(0o555)
    existing.chmod(0o555)
    old.chmod(0o444)
    try:
        url = site.url("/page/3")
        cmd = [fetchpool_bin, "fetch", "-o", str(locked / name), url]
        proc = run_limited(cmd, clean_env, obey_permissions=True)
        assert proc.returncode == 1, proc.stderr
        assert (
            proc.stderr.startswith("fetchpool: error: cannot ") and "Traceback" not in proc.stderr
        )
        assert "ermission denied" in proc.stderr or "unable to open" in proc.stderr
        assert not (locked / name).exists()

        cmd = [fetchpool_bin, "fetch", "-o", str(old), "--resume", url]
        proc = run_limited(cmd, clean_env, obey_permissions=True)
        assert proc.returncode == 1, proc.stderr
        assert (
            proc.stderr.startswith("fetchpool: error: cannot ") and "Traceback" not in proc.stderr
        )
        assert sorted(r["url"] for r in recorded(old)) == before
    finally:
        for path in (locked, existing):
            path.chmod(0o755)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV output; asserts the file ends with a whole row."""
    import csv

    text = path.read_bytes().decode("utf-8")
    assert text.endswith("\r\n"), "a torn last row"
    rows = list(csv.DictReader(text.splitlines(keepends=True)))
    assert all(row["url"] and row["attempts"] for row in rows), "a torn row"
    return rows


@pytest.mark.parametrize("name", ["out.jsonl", "out.sqlite", "out.csv"])
def test_full_disk_stops_with_an_error_and_keeps_what_was_written(
    fetchpool_bin: str,
    clean_env: dict[str, str],
    run_limited: Callable[..., subprocess.CompletedProcess[str]],
    site: TestSite,
    tmp_path: Path,
    name: str,
) -> None:
    # No file may grow past 50 KB: writing past it fails as a full disk does. The records of
    # 3000 pages take about 700 KB, and a first batch may already be past the limit (a fast
    # machine hands the writer hundreds at once): every whole record that fits is kept,
    # whatever the batches, and the count said is what the file holds.
    urls = [site.url(f"/page/{i}") for i in range(3000)]
    source = listing(tmp_path, urls)
    target = tmp_path / name
    cmd = [fetchpool_bin, "fetch", "-o", str(target), str(source)]
    proc = run_limited(cmd, clean_env, max_file_size=50_000)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    match = re.search(
        rf"fetchpool: error: cannot write {re.escape(str(target))}: (.+); "
        r"every record written before it is intact \((\d+) in this run\)",
        proc.stderr,
    )
    assert match, proc.stderr
    kept = _csv_rows(target) if name == "out.csv" else recorded(target)  # all whole, sound
    assert 0 < len(kept) == int(match.group(2)) < len(urls)
    if name == "out.csv":  # it cannot be resumed: no hint that says otherwise
        assert "--resume" not in proc.stderr
        assert target.stat().st_size <= 50_000
        return
    assert "rerun with --resume once the cause is fixed" in proc.stderr
    # room again: --resume completes the run, each URL once
    proc = fetchpool(fetchpool_bin, clean_env, "-q", "-o", str(target), "--resume", str(source))
    assert proc.returncode == 0, proc.stderr
    assert sorted(r["url"] for r in recorded(target)) == sorted(urls)


def test_no_space_left_on_device(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path
) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    target = tmp_path / "out.jsonl"
    target.symlink_to("/dev/full")
    proc = fetchpool(fetchpool_bin, clean_env, "-o", str(target), site.url("/page/1"))
    assert proc.returncode == 1
    assert "cannot write" in proc.stderr and "No space left on device" in proc.stderr
    assert "Traceback" not in proc.stderr


# In the processes mode the bodies are saved in the worker processes: the failure there must
# still end the run in the parent, and no record of a lost body may be written.
@pytest.mark.parametrize("mode", ["async", "processes"])
def test_full_disk_while_saving_bodies(
    fetchpool_bin: str,
    clean_env: dict[str, str],
    run_limited: Callable[..., subprocess.CompletedProcess[str]],
    site: TestSite,
    tmp_path: Path,
    mode: str,
) -> None:
    urls = [site.url(f"/page/{i}") for i in range(50)] + [site.url("/bytes/300000")]
    target = tmp_path / "out.sqlite"
    cmd = [fetchpool_bin, "fetch", "-m", mode, "-c", "4", "-o", str(target)]
    cmd += ["--save-dir", str(tmp_path / "b")]
    proc = run_limited([*cmd, *urls], clean_env, max_file_size=200_000)
    assert proc.returncode == 1, proc.stderr
    assert f"cannot save bodies in {tmp_path / 'b'}: File too large" in proc.stderr
    assert "Traceback" not in proc.stderr
    rows = recorded(target)
    # It says how many records are safe, as for a full output: exactly those in the file.
    match = re.search(
        r"every record written before it is intact, each with its whole body "
        r"\((\d+) in this run\): rerun with --resume",
        proc.stderr,
    )
    assert match, proc.stderr
    assert int(match.group(1)) == len(rows)
    assert site.url("/bytes/300000") not in {r["url"] for r in rows}
    for row in rows:  # every record written has its whole body
        assert Path(str(row["path"])).stat().st_size == row["length"]


# -- hostile names for --save-dir ---------------------------------------------------------------

HOSTILE_PATHS = [
    "..%2F..%2F..%2Fescape",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/escape",
    "..\\..\\..\\escape",
    "a/../../../../escape",
    "/etc/passwd",
    "x%00y",
    "a" * 3000,
    "CON",
    "nul.txt",
    "com1",
    ".hidden",
    "...",
    "a?b",
    "a_b",
    "A_B",
    "a%3Fb",
    "%E2%80%AEgnp.exe",
    "é/ü",
]
HOSTILE_DISPOSITIONS = [
    'attachment; filename="../../escape.sh"',
    "attachment; filename=/etc/passwd",
    "attachment; filename*=UTF-8''..%2F..%2Fescape",
    'inline; filename="C:\\Windows\\escape.bat"',
    'attachment; filename="CON"',
]


def test_save_dir_keeps_every_hostile_name_inside_dir(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path
) -> None:
    urls = [site.url("/named/" + p) for p in HOSTILE_PATHS]
    urls += [site.url("/named/cd?cd=" + quote(d)) for d in HOSTILE_DISPOSITIONS]
    urls += [site.url("/../../../../escape"), site.url("/named/x/../../../..")]
    box = tmp_path / "box"
    saved = box / "deep" / "saved"
    box.mkdir()
    target = tmp_path / "out.jsonl"
    proc = fetchpool(
        fetchpool_bin, clean_env, "-q", "-o", str(target), "--save-dir", str(saved), *urls
    )
    assert proc.returncode == 0, proc.stderr
    rows = recorded(target)
    assert sorted(r["url"] for r in rows) == sorted(urls)
    # Nothing outside DIR: the whole tree holds the listing, the output and DIR's files.
    everything = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}
    in_dir = {p for p in everything if p.parent == saved.relative_to(tmp_path)}
    assert everything - in_dir == {
        Path("out.jsonl"),
        Path("box"),
        Path("box/deep"),
        Path("box/deep/saved"),
    }
    assert not list(Path("/").glob("escape*")) and not (tmp_path.parent / "escape").exists()
    paths = [r["path"] for r in rows if r["path"] is not None]
    assert len(paths) == len(set(paths)) == len(in_dir)  # a file per saved URL, no collisions
    assert len(paths) >= len(HOSTILE_PATHS) + len(HOSTILE_DISPOSITIONS) - 2
    for row in rows:
        if row["path"] is None:
            assert row["status"] != 200
            continue
        path = Path(str(row["path"]))
        assert path.parent == saved
        assert path.name.startswith(f"127.0.0.1_{site.port}")  # from the URL, not a header
        assert path.stat().st_size == row["length"]


# -- one run per output -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.jsonl", "out.sqlite", "out.csv"])
def test_a_second_run_on_the_same_output_stops_before_touching_it(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path, name: str
) -> None:
    urls = [site.url(f"/delay/100/{i}") for i in range(400)]
    source = listing(tmp_path, urls)
    target = tmp_path / name
    again = ["--overwrite"] if name == "out.csv" else ["--resume"]
    argv = [fetchpool_bin, "fetch", "-q", "-c", "4", "-o", str(target), *again, str(source)]
    first = subprocess.Popen(argv, env=clean_env, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: count(target) > 0 if name != "out.csv" else _size(target) > 200)
        before = target.read_bytes()
        second = subprocess.run(argv, capture_output=True, text=True, env=clean_env, timeout=60)
        assert second.returncode == 2, second.stderr
        assert second.stderr == (
            f"fetchpool: error: {target} is in use by another fetchpool run (pid {first.pid})\n"
        )
        assert target.read_bytes()[: len(before)] == before  # not emptied, not appended to
    finally:
        first.kill()
        first.wait(timeout=10)
    # The lock ends with its run, however it ends (kill -9 here): the next run may go.
    argv[argv.index("-c") + 1] = "50"
    third = subprocess.run(argv, capture_output=True, text=True, env=clean_env, timeout=60)
    assert third.returncode == 0, third.stderr
    if name != "out.csv":
        assert sorted(r["url"] for r in recorded(target)) == sorted(urls)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0
