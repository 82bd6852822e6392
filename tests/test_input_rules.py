"""What a line of input becomes, whatever its bytes: one record, never a crash, never
another URL fetched; memory bounded by MAX_LINE, whatever the length of a line."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

import fetchpool
from fetchpool import Config
from fetchpool.testsite.site import TestSite

MAX_LINE = 65536  # fetchpool.input.sources.MAX_LINE, as the README documents it


def _records(path: Path) -> list[dict[str, object]]:
    if path.suffix == ".sqlite":
        with sqlite3.connect(path) as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM results ORDER BY rowid")]
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _fetch(
    argv: list[str], stdin: bytes, bin_: str, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [bin_, "fetch", "-q", *argv], input=stdin, capture_output=True, env=env, timeout=60
    )


@pytest.mark.parametrize("suffix", [".sqlite", ".csv", ".jsonl", "-"])
@pytest.mark.parametrize("how", ["stdin", "file"])
def test_a_line_that_is_not_utf8_is_an_invalid_url_record(
    site: TestSite,
    tmp_path: Path,
    fetchpool_bin: str,
    clean_env: dict[str, str],
    suffix: str,
    how: str,
) -> None:
    good = site.url("/page/1")
    data = f"{good}\n{site.url('/caf')}".encode() + b"\xe9\n"
    out = tmp_path / f"x{suffix}"
    argv = [] if suffix == "-" else ["-o", str(out)]
    if how == "file":
        (tmp_path / "urls.txt").write_bytes(data)
        argv.append(str(tmp_path / "urls.txt"))
    proc = _fetch(argv, data if how == "stdin" else b"", fetchpool_bin, clean_env)
    assert proc.returncode == 0, proc.stderr
    if suffix == "-":
        proc.stdout.decode("utf-8")  # strict: every byte written is UTF-8
        out.write_bytes(proc.stdout)
    by_url = {r["url"]: r for r in _records(out)}  # in the order they completed
    assert set(by_url) == {good, site.url("/caf") + "\\xe9"}
    assert str(by_url[good]["status"]) == "200"
    assert str(by_url[site.url("/caf") + "\\xe9"]["error"]).startswith(
        "invalid-url: not valid UTF-8"
    )
    if suffix in (".sqlite", ".jsonl"):  # and --resume knows it is done
        proc = _fetch(["-o", str(out), "--resume", *argv[2:]], data, fetchpool_bin, clean_env)
        assert proc.returncode == 0, proc.stderr
        assert len(_records(out)) == 2


def test_a_bad_byte_never_fetches_another_url(fresh_site: TestSite, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_bytes(fresh_site.url("/caf").encode() + b"\xe9\n")
    (rec,) = fetchpool.fetch(fetchpool.open_sources([str(listing)]))
    assert rec.error is not None and rec.error.startswith("invalid-url")
    assert fresh_site.requests == 0


def test_a_leading_bom_is_skipped(site: TestSite, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_bytes(b"\xef\xbb\xbf" + site.url("/page/1").encode() + b"\r\n")
    stdin = io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbf" + site.url("/page/2").encode()))
    records = list(fetchpool.fetch(fetchpool.open_sources([str(listing), "-"], stdin=stdin)))
    assert [r.status for r in records] == [200, 200]


def test_library_strings_with_lone_surrogates_go_by_the_same_rule(
    site: TestSite, tmp_path: Path
) -> None:
    # \udce9 stands for the byte E9 (surrogateescape); \ud800 for the 3 bytes of its UTF-8.
    urls = [site.url("/caf\udce9/x\ud800"), site.url("/y\ud800"), site.url("/page/1")]
    out = tmp_path / "out.sqlite"
    summary = fetchpool.run(urls, output=out)
    assert summary.stats.done == 3
    by_url = {r["url"]: r for r in _records(out)}
    bad = site.url("/caf\\xe9/x\\xed\\xa0\\x80")
    assert set(by_url) == {bad, site.url("/y\\xed\\xa0\\x80"), site.url("/page/1")}
    assert str(by_url[bad]["error"]).startswith("invalid-url: not valid UTF-8")
    assert fetchpool.run(urls, output=out, resume=True).already_done == 3


def test_an_over_long_line_is_one_bounded_record(site: TestSite, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    long_a = site.url("/") + "a" * 100_000
    long_b = site.url("/") + "a" * 100_001  # starts the same: still its own record
    listing.write_text(f"{long_a}\n{long_b}\n{site.url('/page/1')}\n# {'c' * MAX_LINE}\n")
    records = list(fetchpool.fetch(fetchpool.open_sources([str(listing)])))
    assert len(records) == 3
    bad = [r for r in records if r.error is not None]
    assert len(bad) == 2 and len({r.url for r in bad}) == 2
    for rec in bad:
        assert rec.error is not None
        assert rec.error.startswith(f"invalid-url: longer than {MAX_LINE} bytes")
        assert len(rec.url) < 1100 and rec.url.startswith(site.url("/aaa"))


def test_a_long_string_from_the_library_is_the_same_record(site: TestSite) -> None:
    (rec,) = fetchpool.fetch([site.url("/") + "a" * 100_000])
    assert rec.error is not None and rec.error.startswith("invalid-url: longer than")


def test_an_endless_line_is_read_in_bounded_memory() -> None:
    left = [200]  # 200 reads of 64 KiB: 13 MB of NUL without a line break, then a URL

    def read(n: int) -> bytes:
        if left[0] == 0:
            return b""
        left[0] -= 1
        return b"\0" * n if left[0] else b"\nhttp://h/ok\n"

    from fetchpool.input.sources import read_urls

    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        urls = list(read_urls(read))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(urls) == 2 and urls[1] == "http://h/ok"
    assert peak < 8 * MAX_LINE, peak  # a few chunks, not the 13 MB line


def test_the_progress_count_reads_lines_in_bounded_memory(tmp_path: Path) -> None:
    from fetchpool.control.progress import count_urls

    path = tmp_path / "long.txt"
    path.write_bytes(b"x" * (20 * MAX_LINE) + b"\nhttp://h/\n")
    totals: list[int] = []
    tracemalloc.start()
    try:
        thread = count_urls([str(path)], totals.append)
        assert thread is not None
        thread.join()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert totals == [2] and peak < 8 * MAX_LINE


def test_a_url_libcurl_refuses_is_that_urls_record(site: TestSite) -> None:
    # Past the input's own cap, straight to the engine: libcurl refuses URLs of 8 MB at setopt.
    from fetchpool import engine

    urls = [site.url("/") + "a" * 8_000_001, site.url("/page/1")]
    records = {r.url: r for r in engine.run(urls, Config(mode="curl", retries=0))}
    assert set(records) == set(urls)
    assert records[urls[1]].status == 200
    error = records[urls[0]].error
    assert error is not None and error.startswith("invalid-url: libcurl refused the URL")


def test_sources_never_hold_a_whole_long_line(tmp_path: Path) -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"y" * MAX_LINE

    chunks = endless()
    taken = [0]

    def read(n: int) -> bytes:
        taken[0] += 1
        return next(chunks) if taken[0] < 100 else b""

    from fetchpool.input.sources import read_urls

    (url,) = list(read_urls(read))
    assert "longer than" in getattr(url, "why", "")


def test_the_documented_cap_is_the_code_s() -> None:
    from fetchpool.input.sources import MAX_LINE as CODE

    assert CODE == MAX_LINE
