"""Outputs, skipping and saved bodies, in-process: the skip table, JSONL repair, the SQLite
schema, refusing to clobber, the writer thread's failures, safe file names, body sinks."""

from __future__ import annotations

import csv
import errno
import json
import mmap
import os
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fetchpool import MODES, Config, OutputError, Record, UsageError, fetch
from fetchpool.bodies.hook import combine
from fetchpool.bodies.savedir import SaveDir, safe_name
from fetchpool.input.skip import Skip, _resized, digest
from fetchpool.outputs import check_target, open_output
from fetchpool.outputs.background import Background
from fetchpool.outputs.jsonl import record_line, recorded_urls
from fetchpool.outputs.sqlite import SqliteFile
from fetchpool.records import FIELDS
from fetchpool.testsite.site import TestSite, page_body

pytestmark = pytest.mark.timeout(60)

# -- skipping what is done and duplicates -------------------------------------------------


@given(
    st.lists(st.text(max_size=8), max_size=60),
    st.lists(st.text(max_size=8), max_size=20),
)
def test_skip_passes_each_url_once_and_none_already_recorded(
    urls: list[str], recorded: list[str]
) -> None:
    skip = Skip()
    for url in recorded:
        skip.add_recorded(url)
    passed = list(skip(urls))
    expected = list(dict.fromkeys(u for u in urls if u not in set(recorded)))
    assert passed == expected
    assert skip.recorded == len(set(recorded))
    assert skip.done == len(set(urls) & set(recorded))
    assert skip.done + skip.duplicates + len(passed) == len(urls)


def test_skip_table_stays_compact() -> None:
    skip = Skip()
    n = 1_000_000
    assert sum(1 for _ in skip(f"http://h/{i}" for i in range(n))) == n
    assert sum(1 for _ in skip(f"http://h/{i}" for i in range(n))) == 0
    assert skip.duplicates == n and len(skip) == n
    # 8-byte digests with a little room to grow: under 9 bytes per URL, whatever the URLs'
    # length (a set of the strings takes over 100).
    assert 8 * n <= skip.nbytes <= 9 * n
    assert 0 <= digest("") < 2**63 and digest("a") != digest("b")


def test_skip_keeps_every_digest_as_its_segments_grow_and_move() -> None:
    # Enough URLs for the segments to run out of room and be laid out again many times, and
    # for the map to grow: recorded ones, new ones and repeats interleaved.
    skip = Skip()
    n = 150_000
    for i in range(0, n, 3):
        skip.add_recorded(f"u{i}")
    first = list(skip(f"u{i}" for i in range(n)))
    assert first == [f"u{i}" for i in range(n) if i % 3]
    assert skip.recorded == skip.done == len(range(0, n, 3))
    assert list(skip(f"u{i}" for i in range(n + 10))) == [f"u{i}" for i in range(n, n + 10)]
    assert skip.duplicates == n and len(skip) == n + 10


def test_skip_map_grows_by_copying_where_it_cannot_be_remapped() -> None:
    class NoRemap(mmap.mmap):
        def resize(self, newsize: int) -> None:
            raise SystemError("mmap: resizing not available--no mremap()")

    old = NoRemap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    old[:5] = b"12345"
    new = _resized(old, mmap.PAGESIZE + 1)
    assert old.closed and len(new) == 2 * mmap.PAGESIZE and new[:6] == b"12345\0"
    remapped = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    remapped[:3] = b"abc"
    assert _resized(remapped, 3 * mmap.PAGESIZE) is remapped and remapped[:3] == b"abc"


def test_fetch_fetches_a_repeated_url_once(fresh_site: TestSite) -> None:
    url = fresh_site.url("/page/3")
    records = list(fetch([url, f"  {url} ", url, fresh_site.url("/page/4")], mode="threadpool"))
    assert sorted(r.url for r in records) == sorted([url, fresh_site.url("/page/4")])
    assert fresh_site.requests == 2


# -- refusing to clobber, and what can be resumed ------------------------------------------


def test_check_target(tmp_path: Path) -> None:
    full = tmp_path / "full.jsonl"
    full.write_text('{"url": "x"}\n')
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    with pytest.raises(UsageError, match="already exists; add --resume"):
        check_target(str(full))
    check_target(str(full), resume=True)
    check_target(str(full), overwrite=True)
    check_target(str(empty))  # nothing to lose
    check_target(str(tmp_path / "new.db"))
    for path, kwargs, needle in [
        (str(full), {"resume": True, "overwrite": True}, "contradict"),
        (None, {"resume": True}, "needs an output file"),
        ("-", {"resume": True}, "needs an output file"),
        (str(tmp_path / "x.csv"), {"resume": True}, "not .csv"),
        (str(tmp_path / "x.xlsx"), {}, "unknown output format"),
    ]:
        with pytest.raises(UsageError, match=needle):
            check_target(path, **kwargs)  # type: ignore[arg-type]


# -- JSON lines ------------------------------------------------------------------------


def _line(url: str) -> str:
    return record_line(Record(url=url, status=200, length=1, elapsed=0.5))


def test_jsonl_resume_cuts_a_torn_last_line(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    whole = _line("http://a/") + _line("http://b/")
    target.write_text(whole + _line("http://c/")[:17])
    seen: list[str] = []
    assert recorded_urls(str(target), seen.append) == 2
    assert seen == ["http://a/", "http://b/"]
    assert target.read_text() == whole
    # and appending after it gives whole lines only
    writer = open_output(str(target), resume=True, on_recorded=seen.append)
    writer.write(Record(url="http://c/", status=200))
    writer.close()
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["url"] for r in rows] == ["http://a/", "http://b/", "http://c/"]


def test_jsonl_resume_refuses_a_broken_line_that_is_not_the_last(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    text = _line("http://a/") + "garbage\n" + _line("http://b/")
    target.write_text(text)
    with pytest.raises(OutputError, match="line 2 is not a record"):
        recorded_urls(str(target), lambda url: None)
    assert target.read_text() == text


# -- SQLite ----------------------------------------------------------------------------


def test_sqlite_table_has_the_record_fields_url_unique_wal(tmp_path: Path) -> None:
    path = str(tmp_path / "out.sqlite")
    writer = open_output(path)
    writer.write(Record(url="http://a/", status=200, length=5, elapsed=0.25, attempts=1))
    writer.write(Record(url="bad", error="invalid-url: no scheme"))
    writer.close()
    db = sqlite3.connect(path)
    columns = {row[1]: row[2] for row in db.execute("PRAGMA table_info(results)")}
    assert tuple(columns) == FIELDS
    assert columns["status"] == "INTEGER" and columns["elapsed"] == "REAL"
    assert columns["url"] == "TEXT" and columns["path"] == "TEXT"
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    rows = db.execute("SELECT url, status, length, elapsed, error FROM results ORDER BY url")
    assert rows.fetchall() == [
        ("bad", None, None, 0.0, "invalid-url: no scheme"),
        ("http://a/", 200, 5, 0.25, None),
    ]
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO results (url) VALUES ('http://a/')")


def test_sqlite_resume_reads_urls_and_completes_an_older_table(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE results (url TEXT NOT NULL UNIQUE, status INTEGER)")
    db.execute("INSERT INTO results VALUES ('http://a/', 200)")
    db.commit()
    db.close()
    seen: list[str] = []
    out = SqliteFile(path, on_recorded=seen.append)
    out.append([Record(url="http://b/", status=404, path=None)])
    out.append([Record(url="http://a/", status=500)])  # already there: kept as it was
    out.close()
    assert seen == ["http://a/"]
    db = sqlite3.connect(path)
    columns = {row[1] for row in db.execute("PRAGMA table_info(results)")}
    assert {"content_type", "http_version"} <= columns
    assert db.execute("SELECT url, status FROM results ORDER BY url").fetchall() == [
        ("http://a/", 200),
        ("http://b/", 404),
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".sqlite"])
def test_every_output_carries_the_http_version(tmp_path: Path, suffix: str) -> None:
    path = str(tmp_path / f"out{suffix}")
    writer = open_output(path)
    writer.write(Record(url="http://a/", status=200, http_version="2"))
    writer.write(Record(url="http://b/", error="dns: cannot resolve b"))
    writer.close()
    if suffix == ".sqlite":
        db = sqlite3.connect(path)
        rows = db.execute("SELECT url, http_version FROM results ORDER BY url").fetchall()
        db.close()
    elif suffix == ".csv":
        with open(path, newline="") as f:
            rows = [(r["url"], r["http_version"] or None) for r in csv.DictReader(f)]
    else:
        with open(path) as f:
            rows = [(r["url"], r["http_version"]) for r in map(json.loads, f)]
    assert sorted(rows) == [("http://a/", "2"), ("http://b/", None)]


def test_sqlite_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("my notes, not a database\n" * 100)
    with pytest.raises(OutputError, match="not a database"):
        open_output(str(path), resume=True, on_recorded=lambda url: None)
    assert path.read_text().startswith("my notes")


# -- the writer thread -------------------------------------------------------------------


class _FillsUp:
    path = "disk.jsonl"

    def __init__(self, room: int) -> None:
        self.room = room
        self.kept: list[Record] = []
        self.threads: set[str] = set()

    def append(self, records: Sequence[Record]) -> None:
        self.threads.add(threading.current_thread().name)
        if len(self.kept) + len(records) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.kept.extend(records)

    def close(self) -> None:
        pass


def test_writer_thread_writes_everything_before_close_returns() -> None:
    target = _FillsUp(room=10**6)
    writer = Background(target, interval=0.01)
    for i in range(5000):
        writer.write(Record(url=f"u{i}"))
    writer.close()
    assert [r.url for r in target.kept] == [f"u{i}" for i in range(5000)]
    assert target.threads == {"fetchpool-writer"}


def test_writer_thread_failure_stops_the_run_with_a_clear_error() -> None:
    target = _FillsUp(room=0)
    writer = Background(target, interval=0.01)
    writer.write(Record(url="u"))
    with pytest.raises(OutputError, match=r"cannot write disk.jsonl: No space left on device"):
        for i in range(10**6):
            writer.write(Record(url=f"u{i}"))
    with pytest.raises(OutputError, match=r"before it is intact \(0 in this run\)"):
        writer.close()


# A batch bigger than the room left, written by each format's file under a 50 KB file-size
# limit (what a full disk does to a write): the whole records that fit stay, never a cut one,
# and the count the writer reports is what the file holds.
_ONE_BIG_BATCH = """
import json, sys
from fetchpool.outputs import open_output
from fetchpool.records import Record
from fetchpool.errors import OutputError
writer = open_output(sys.argv[1])
for i in range(2000):  # about 400 KB of records, all in the writer's first batch
    writer.write(Record(url=f"http://example.com/{i:05d}", status=200, length=i, elapsed=0.5,
                        error="kept" if i % 3 else None, content_type="text/html; q=1,2"))
try:
    writer.close()
except OutputError as exc:
    print(str(exc))
"""


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.sqlite"])
def test_a_batch_past_a_full_disk_keeps_every_whole_record_that_fits(
    run_limited: Callable[..., subprocess.CompletedProcess[str]],
    clean_env: dict[str, str],
    tmp_path: Path,
    name: str,
) -> None:
    target = tmp_path / name
    argv = [sys.executable, "-c", _ONE_BIG_BATCH, str(target)]
    proc = run_limited(argv, clean_env, max_file_size=50_000)
    assert proc.returncode == 0, proc.stderr
    match = re.search(r"intact \((\d+) in this run\)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    if name == "out.jsonl":
        data = target.read_bytes()
        assert data.endswith(b"\n")
        urls = [json.loads(line)["url"] for line in data.splitlines()]
    elif name == "out.csv":
        data = target.read_bytes()
        assert data.endswith(b"\r\n")
        rows = list(csv.reader(data.decode().splitlines()))[1:]
        assert all(len(row) == len(FIELDS) for row in rows)
        urls = [row[0] for row in rows]
        assert "--resume" not in proc.stdout
    else:
        with sqlite3.connect(target) as db:
            urls = [url for (url,) in db.execute("SELECT url FROM results ORDER BY url")]
    assert 0 < len(urls) == int(match.group(1)) < 2000
    assert urls == [f"http://example.com/{i:05d}" for i in range(len(urls))]  # the first ones


# -- safe names for saved bodies -----------------------------------------------------------

_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._~-]*$")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))}
_RESERVED |= {f"lpt{i}" for i in range(10)}

HOSTILE_URLS = [
    "http://h/../../etc/passwd",
    "http://h/%2e%2e/%2e%2e/%2E%2E/etc/passwd",
    "http://h/..%2f..%2fetc%2fpasswd",
    "http://h/..\\..\\windows\\system32",
    "http://h//etc/passwd",
    "http://h/a%00b",
    "http://h/a\x00b",
    "http://h/" + "a" * 5000,
    "http://h/" + "é" * 400,
    "http://h/CON",
    "http://h/nul.txt",
    "http://h/com1",
    "http://h/.",
    "http://h/..",
    "http://h/...",
    "http://h/.hidden",
    "http://h/-rf",
    "http://h/a:b",
    "http://h/a?b",
    "http://h/a_b",
    "http://h/A_B",
    "http://h/a%3Fb",
    "C:\\Windows\\evil.bat",
    "/etc/passwd",
    "",
    "http://[::1]:80/x",
    "http://con.example.com/",
    "http://NUL/x",
    "http://lpt1.example:8080/a.txt",
]


def test_hostile_urls_get_plain_distinct_names() -> None:
    names = [safe_name(url, "text/html") for url in HOSTILE_URLS]
    for url, name in zip(HOSTILE_URLS, names, strict=True):
        assert _SAFE.match(name), (url, name)
        assert len(name.encode()) <= 140, url
        assert os.path.basename(name) == name and name not in (".", "..")
        assert name.split(".", 1)[0].lower() not in _RESERVED
    assert len(set(names)) == len(names)
    assert len({n.lower() for n in names}) == len(names)  # case-insensitive file systems too
    assert safe_name("http://h/a/report.PDF", "text/html").endswith(".pdf")
    assert safe_name("http://h/page", "text/html; charset=utf-8").endswith(".html")
    assert "." not in safe_name("http://h/page", "application/x-unknown")


@given(st.text(), st.text())
def test_any_text_gives_a_plain_name_and_two_texts_two_names(a: str, b: str) -> None:
    name = safe_name(a)
    assert _SAFE.match(name) and len(name) <= 140
    if a != b:
        assert safe_name(a) != safe_name(b)


# -- body sinks ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_save_dir_sink_in_every_mode(site: TestSite, tmp_path: Path, mode: str) -> None:
    saver = SaveDir(str(tmp_path / "bodies"))
    urls = [site.url(f"/page/{i}") for i in range(8)]
    urls += [site.url("/status/404"), site.url("/bytes/100000"), site.url("/status/204")]
    cfg = Config(mode=mode, concurrency=4, max_bytes=50_000, body_sink=saver.sink)
    got = {r.url: r for r in fetch(urls, config=cfg)}
    for i in range(8):
        rec = got[site.url(f"/page/{i}")]
        assert rec.path is not None and rec.path.endswith(".html")
        assert Path(rec.path).read_bytes() == page_body(i)
        assert Path(rec.path).parent == tmp_path / "bodies"
    assert got[site.url("/status/404")].path is None  # error pages are not kept
    assert got[site.url("/bytes/100000")].error_kind == "too-large"
    assert got[site.url("/bytes/100000")].path is None
    empty = got[site.url("/status/204")].path
    assert empty is not None and Path(empty).read_bytes() == b""
    files = sorted(os.listdir(tmp_path / "bodies"))
    assert len(files) == 9 and not [f for f in files if f.endswith(".part")]
    assert saver.failure is None


class _Collect:
    def __init__(self, tag: str, log: list[str]) -> None:
        self.tag, self.log, self.data = tag, log, b""

    def __enter__(self) -> _Collect:
        return self

    def __exit__(self, *exc: object) -> None:
        self.log.append(f"{self.tag} exit")

    def write(self, chunk: bytes) -> None:
        self.data += chunk

    def done(self, record: Record) -> Record:
        self.log.append(f"{self.tag} done {self.data!r}")
        return record


def test_combined_sinks_both_get_the_body(site: TestSite) -> None:
    log: list[str] = []
    both = combine(lambda u, t: _Collect("a", log), lambda u, t: _Collect("b", log))
    (rec,) = fetch([site.url("/named/x")], config=Config(body_sink=both))
    assert rec.status == 200
    assert log == ["a done b'named /named/x\\n'", "b done b'named /named/x\\n'", "a exit", "b exit"]
