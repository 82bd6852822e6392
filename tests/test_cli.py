"""The command line: in-process through main([...]) and as the installed command."""

from __future__ import annotations

import csv
import io
import json
import pstats
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fetchpool import MODES
from fetchpool.cli import main
from fetchpool.records import FIELDS
from fetchpool.testsite.site import TestSite, page_body

pytestmark = pytest.mark.timeout(60)


def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_urls_files_and_stdin_give_json_lines(site: TestSite, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(
        f"# a comment\n\n  {site.url('/page/1')}  \n{site.url('/status/404')}\nnot a url\n"
    )
    code, out, err = run(
        ["fetch", "-q", "-c", "4", site.url("/page/2"), str(listing), "-"],
        stdin=site.url("/page/3") + "\n",
    )
    assert code == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert all(tuple(r) == FIELDS for r in rows)
    by_url = {r["url"]: r for r in rows}
    assert set(by_url) == {
        site.url("/page/2"),
        site.url("/page/1"),
        site.url("/status/404"),
        "not a url",
        site.url("/page/3"),
    }
    assert by_url[site.url("/page/1")]["length"] == len(page_body(1))
    assert by_url[site.url("/status/404")]["status"] == 404
    assert by_url[site.url("/status/404")]["error"] is None
    assert by_url["not a url"]["error"].startswith("invalid-url: ")


def test_csv_output_has_a_header_and_one_row_per_url(site: TestSite, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    urls = [site.url(f"/page/{i}") for i in range(10)] + ["http://"]
    code, out, _ = run(["fetch", "-q", "-o", str(target), *urls])
    assert code == 0 and out == ""
    with target.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == FIELDS
    assert sorted(r["url"] for r in rows) == sorted(urls)
    bad = next(r for r in rows if r["url"] == "http://")
    assert bad["status"] == "" and bad["error"].startswith("invalid-url")


def test_jsonl_output_file(site: TestSite, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    code, _, err = run(["fetch", "-o", str(target), site.url("/page/7")])
    assert code == 0
    (row,) = [json.loads(line) for line in target.read_text().splitlines()]
    assert row["status"] == 200 and row["length"] == len(page_body(7))
    assert "1 URLs" in err and "2xx 1" in err  # the summary


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["fetch", "/no/such/file.txt"], "no such file"),
        (["fetch", "-m", "warp", "http://x/"], "unknown mode"),
        (["fetch", "-c", "0", "http://x/"], "at least 1"),
        (["fetch", "-c", "many", "http://x/"], "not a whole number"),
        (["fetch", "--bogus", "http://x/"], "unrecognized arguments"),
        (["fetch", "-o", "out.xlsx", "http://x/"], "unknown output format"),
        (["fetch", "-H", "no colon", "http://x/"], "bad header"),
        (["fetch", "--timeout", "-1", "http://x/"], "timeout"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(argv: list[str], needle: str, tmp_path: Path) -> None:
    code, out, err = run(argv)
    assert code == 2, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("fetchpool: error: "), err
    assert needle in err


def test_unreadable_file_and_directory(tmp_path: Path) -> None:
    code, _, err = run(["fetch", str(tmp_path)])
    assert code == 2 and "directory" in err
    locked = tmp_path / "locked.txt"
    locked.write_text("http://x/\n")
    locked.chmod(0)
    try:
        with locked.open():
            pytest.skip("running as root: file permissions do not apply")
    except PermissionError:
        code, _, err = run(["fetch", str(locked)])
        assert code == 2 and "cannot read" in err


def test_missing_file_fails_before_any_output_is_created(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    code, _, _ = run(["fetch", "-o", str(target), "http://127.0.0.1:1/", "missing.txt"])
    assert code == 2 and not target.exists()


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fetch", "--help"]) == 0
    out = capsys.readouterr().out
    flat = "".join(out.split())  # help text wraps lines, even at hyphens
    assert "--concurrency" in out and all(m in flat for m in MODES)
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("fetchpool ")


@pytest.mark.parametrize("mode", MODES)
def test_installed_command_in_every_mode(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, mode: str, tmp_path: Path
) -> None:
    urls = [site.url(f"/page/{i}") for i in range(20)] + ["ftp://nope/"]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    proc = subprocess.run(
        [fetchpool_bin, "fetch", "-m", mode, "-c", "5", str(listing)],
        capture_output=True,
        text=True,
        env=clean_env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(r["url"] for r in rows) == sorted(urls)
    assert sum(r["status"] == 200 for r in rows) == 20
    assert "Traceback" not in proc.stderr and "21 URLs" in proc.stderr


def test_a_fetch_run_under_a_profiler_keeps_its_profile(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path
) -> None:
    # A finished fetch skips the interpreter's teardown, but not where a profiler (or a
    # coverage tracer) would lose what it writes as the interpreter ends.
    profile = tmp_path / "run.prof"
    out = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(profile), fetchpool_bin, "fetch", "-q",
         "-o", str(out), site.url("/page/1")],
        capture_output=True, text=True, env=clean_env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["status"] == 200
    assert profile.stat().st_size > 0
    assert "run_fetch" in str(pstats.Stats(str(profile)).stats)


def test_bad_input_from_the_installed_command_has_no_traceback(
    fetchpool_bin: str, clean_env: dict[str, str]
) -> None:
    proc = subprocess.run(
        [fetchpool_bin, "fetch", "missing-file.txt"],
        capture_output=True,
        text=True,
        env=clean_env,
        timeout=30,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.startswith("fetchpool: error: no such file") and "Traceback" not in proc.stderr
    )


@pytest.mark.parametrize("mode", MODES)
def test_ctrl_c_writes_finished_records_and_exits_130(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, mode: str, tmp_path: Path
) -> None:
    # 2000 pages of 200 ms at -c 20 take at least 20 s; interrupt once records are written.
    urls = [site.url(f"/delay/200/{i}") for i in range(2000)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    target = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [fetchpool_bin, "fetch", "-m", mode, "-c", "20", "-o", str(target), str(listing)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env,
    )
    _wait_for_records(target)  # a busy machine may take a while to start
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 10, "Ctrl-C must not wait for the whole run"
    assert "Traceback" not in err and "(interrupted)" in err
    lines = target.read_text().splitlines()
    rows = [json.loads(line) for line in lines]  # every line whole
    assert 0 < len(rows) < 2000
    assert len({r["url"] for r in rows}) == len(rows)
    assert all(r["status"] == 200 for r in rows)
    done = int(err.split(" URLs", 1)[0].rsplit("\n", 1)[-1])
    assert done == len(rows), "the summary counts exactly what was written"


def _wait_for_records(target: Path) -> None:
    """Wait until the run has written a record (a busy machine may take a while to start);
    fail if it never does, rather than interrupt a run that wrote nothing."""
    deadline = time.monotonic() + 60
    while not (target.exists() and target.stat().st_size > 0):
        assert time.monotonic() < deadline, "no record was written"
        time.sleep(0.02)


# -- what a user meets ------------------------------------------------------------------------


def test_dev_null_and_dev_stdout_are_json_lines(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path
) -> None:
    url = site.url("/page/1")
    assert run(["fetch", "-q", "-o", "/dev/null", url])[0] == 0
    # /dev/stdout is standard output, even when the shell sent it to a file that has lines.
    shell_file = tmp_path / "from-the-shell.jsonl"
    shell_file.write_text('{"url": "kept"}\n')
    with shell_file.open("a") as out:
        proc = subprocess.run(
            [fetchpool_bin, "fetch", "-q", "-o", "/dev/stdout", url],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env,
            timeout=60,
        )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in shell_file.read_text().splitlines()]
    assert [r["url"] for r in rows] == ["kept", url]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b'{"status": 200}\n', 'it has no "url" field'),
        (b'{"url": 5}\n', 'its "url" is not a string'),
        (b"not json\n", "it is not JSON"),
        (b"[1, 2]\n", "it is not a JSON object"),
        (b'{"url": "\xff"}\n', "it is not UTF-8 text"),
    ],
)
def test_resume_from_a_broken_line_says_why_in_plain_words(
    tmp_path: Path, line: bytes, why: str
) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b'{"url": "http://x/"}\n' + line)
    code, _, err = run(["fetch", "-o", str(target), "--resume", "http://127.0.0.1:1/"])
    assert code == 1
    assert err == (
        f"fetchpool: error: cannot resume from {target}: line 2 is not a record ({why}); "
        "fix or remove it, or use --overwrite\n"
    )


@pytest.mark.parametrize(
    ("source", "hint"),
    [
        ("example.com/list", " (a URL needs a scheme, e.g. https://example.com/list)"),
        ("/root/urls.txt", ""),
        ("urls.txt", ""),
        ("./list", ""),
        ("missing", ""),
    ],
)
def test_a_missing_file_suggests_a_url_only_when_it_looks_like_one(source: str, hint: str) -> None:
    code, _, err = run(["fetch", source])
    assert code == 2
    assert err == f"fetchpool: error: no such file: {source}{hint}\n"


def test_an_existing_csv_is_not_told_to_resume(site: TestSite, tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    target.write_text("url\n")
    code, _, err = run(["fetch", "-o", str(target), site.url("/page/1")])
    assert code == 2
    assert err == f"fetchpool: error: {target} already exists; add --overwrite to replace it\n"
