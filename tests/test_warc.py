"""--warc: WARC/1.1 archives checked by real readers (warcio check and index, FastWARC,
cdxj-indexer, pywb with a headless Chromium), exact bytes (chunked, gzip, redirects,
retries), dedup, rollover, refusals, and kill -9 then --resume."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import browser
import fetchpool
from fetchpool.cli import main
from fetchpool.errors import UsageError
from fetchpool.testsite.site import TestSite, page_body

pytestmark = pytest.mark.timeout(180)

warcio = pytest.importorskip("warcio")
fastwarc = pytest.importorskip("fastwarc")
from warcio.archiveiterator import ArchiveIterator  # noqa: E402

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed next to {sys.executable} (pip install -e '.[dev]')")
    return str(path)


def sha256_b32(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


def records_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def warc_records(*paths: Path) -> list[dict[str, Any]]:
    """Every record of the files, as warcio reads it: type, headers, HTTP head, raw payload."""
    out = []
    for path in paths:
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh)
            for rec in it:
                raw = rec.raw_stream.read()
                out.append(
                    {
                        "file": path.name,
                        "offset": it.get_record_offset(),
                        "type": rec.rec_type,
                        "headers": dict(rec.rec_headers.headers),
                        "http": rec.http_headers,
                        "payload": raw,
                    }
                )
    return out


def record_at(path: Path, offset: int) -> dict[str, Any]:
    with open(path, "rb") as fh:
        fh.seek(offset)
        rec = next(iter(ArchiveIterator(fh)))
        return {
            "type": rec.rec_type,
            "headers": dict(rec.rec_headers.headers),
            "http": rec.http_headers,
            "payload": rec.raw_stream.read(),
        }


def check_with_readers(warcs: list[Path], index: Path) -> list[dict[str, Any]]:
    """warcio check and warcio index pass, FastWARC reads every record with its block digest
    right, our index equals cdxj-indexer's and `fetchpool index`'s; the records."""
    names = [str(p) for p in warcs]
    checked = subprocess.run([tool("warcio"), "check", "-v", *names], capture_output=True)
    assert checked.returncode == 0, checked.stdout.decode()[-2000:]
    assert b"digest pass" in checked.stdout
    indexed = subprocess.run([tool("warcio"), "index", *names], capture_output=True)
    assert indexed.returncode == 0, indexed.stderr.decode()[-2000:]
    recs = warc_records(*warcs)
    assert len(indexed.stdout.decode().splitlines()) == len(recs)
    from fastwarc.warc import ArchiveIterator as FastIterator

    fast = 0
    for path in warcs:
        with open(path, "rb") as fh:
            for rec in FastIterator(fh, parse_http=False):
                assert rec.verify_block_digest(), (path, rec.stream_pos)
                fast += 1
    assert fast == len(recs)
    reference = subprocess.run([tool("cdxj-indexer"), *names], capture_output=True, check=True)
    assert index.read_bytes() == reference.stdout
    out = io.StringIO()
    assert main(["index", *names], stdout=out) == 0
    assert out.getvalue().encode() == reference.stdout
    return recs


@pytest.fixture
def archive_site() -> Iterator[TestSite]:
    with TestSite() as site:
        yield site


def test_every_request_is_archived_exactly(archive_site: TestSite, tmp_path: Path) -> None:
    site = archive_site
    urls = [
        site.url("/page/1"),
        site.url("/redirect/2"),
        site.url("/fault/gzip/3"),
        site.url("/fault/chunked/4"),
        site.url("/fault/chunked/5?gzip=1"),
        site.url("/fault/flaky/503/1/warc"),
        site.url("/status/404"),
        site.url("/fault/huge"),  # too large: no whole response, nothing archived
    ]
    out, warc = tmp_path / "out.jsonl", tmp_path / "crawl.warc.gz"
    fetchpool.run(urls, output=out, warc=warc, retries=1, backoff=0, max_bytes=200_000)
    recs = check_with_readers([warc], tmp_path / "crawl.cdxj")

    assert recs[0]["type"] == "warcinfo"
    assert recs[0]["headers"]["WARC-Filename"] == "crawl.warc.gz"
    kinds = [r["type"] for r in recs[1:]]
    # page 1, 2 redirect hops + their target, gzip, 2 chunked, 503 + its retry, 404
    assert kinds == ["request", "response"] * 10
    by_id = {r["headers"]["WARC-Record-ID"]: r for r in recs}
    for req, resp in zip(recs[1::2], recs[2::2], strict=True):
        h = req["headers"]
        assert h["WARC-Concurrent-To"] == resp["headers"]["WARC-Record-ID"]
        assert h["WARC-Target-URI"] == resp["headers"]["WARC-Target-URI"]
        assert h["WARC-Date"] == resp["headers"]["WARC-Date"]
        assert len(h["WARC-Date"]) == len("2024-01-01T00:00:00.000000Z")
        assert h["WARC-IP-Address"] == "127.0.0.1"
        assert resp["headers"]["WARC-Protocol"] == "http/1.1"
        path = "/" + h["WARC-Target-URI"].split("/", 3)[3]
        assert req["http"].protocol == "GET" and req["http"].statusline == f"{path} HTTP/1.1"
        assert req["http"].get_header("Host") == h["WARC-Target-URI"].split("/")[2]
        assert resp["headers"]["WARC-Payload-Digest"] == sha256_b32(resp["payload"])
        assert by_id[h["WARC-Concurrent-To"]] is resp

    responses = {r["headers"]["WARC-Target-URI"]: r for r in recs if r["type"] == "response"}
    chunked = responses[site.url("/fault/chunked/4")]
    assert chunked["http"].get_header("X-Crawler-Transfer-Encoding") == "chunked"
    assert chunked["http"].get_header("Transfer-Encoding") is None
    assert chunked["payload"] == page_body(4)  # no chunk framing left
    assert chunked["headers"]["WARC-Payload-Digest"] == sha256_b32(page_body(4))
    both = responses[site.url("/fault/chunked/5?gzip=1")]
    assert both["http"].get_header("Content-Encoding") == "gzip"  # kept as sent
    assert gzip.decompress(both["payload"]) == page_body(5)
    assert both["headers"]["WARC-Payload-Digest"] == sha256_b32(both["payload"])
    gz = responses[site.url("/fault/gzip/3")]
    assert gzip.decompress(gz["payload"]) == page_body(3)
    statuses = [r["http"].get_statuscode() for r in recs if r["type"] == "response"]
    assert statuses.count("302") == 2 and statuses.count("503") == 1

    # Each record says where its final response lies.
    for rec in records_of(out):
        if rec["status"] is None:
            assert rec["warc_file"] is None and rec["warc_offset"] is None
            continue
        found = record_at(tmp_path / rec["warc_file"], rec["warc_offset"])
        assert found["type"] == "response"
        assert found["headers"]["WARC-Target-URI"] == rec["final_url"]
        assert found["http"].get_statuscode() == str(rec["status"])


def test_dedup_writes_revisits_for_a_payload_already_archived(
    archive_site: TestSite, tmp_path: Path
) -> None:
    site = archive_site
    urls = [site.url("/page/7"), site.url("/page/7?again"), site.url("/page/7?third")]
    out, warc = tmp_path / "out.jsonl", tmp_path / "d.warc.gz"
    fetchpool.run(urls, output=out, warc=warc, warc_dedup=True, concurrency=1)
    recs = check_with_readers([warc], tmp_path / "d.cdxj")
    kinds = [r["type"] for r in recs]
    assert kinds == ["warcinfo", "request", "response", "request", "revisit", "request", "revisit"]
    first = recs[2]["headers"]
    for revisit in (recs[4], recs[6]):
        h = revisit["headers"]
        assert h["WARC-Profile"].endswith("/revisit/identical-payload-digest")
        assert h["WARC-Refers-To-Target-URI"] == urls[0]
        assert h["WARC-Refers-To-Date"] == first["WARC-Date"]
        assert h["WARC-Refers-To"] == first["WARC-Record-ID"]
        assert h["WARC-Payload-Digest"] == first["WARC-Payload-Digest"]
        assert revisit["payload"] == b""  # the head only


def test_max_size_rolls_over_to_numbered_files(archive_site: TestSite, tmp_path: Path) -> None:
    site = archive_site
    urls = [site.url(f"/page/{i}") for i in range(40)]
    out = tmp_path / "out.jsonl"
    fetchpool.run(urls, output=out, warc=tmp_path / "r.warc.gz", warc_max_size=8_000)
    files = sorted(tmp_path.glob("r-*.warc.gz"))
    assert len(files) >= 3 and files[0].name == "r-00000.warc.gz"
    recs = check_with_readers(files, tmp_path / "r.cdxj")
    for path in files:
        assert warc_records(path)[0]["type"] == "warcinfo"
        assert path.stat().st_size < 8_000 + 10_000  # rolled at the first group past the size
    assert sum(r["type"] == "response" for r in recs) == 40
    for rec in records_of(out):
        assert record_at(tmp_path / rec["warc_file"], rec["warc_offset"])["type"] == "response"


def test_plain_warc_too(archive_site: TestSite, tmp_path: Path) -> None:
    urls = [archive_site.url("/page/1"), archive_site.url("/fault/chunked/2")]
    fetchpool.run(urls, output=tmp_path / "o.jsonl", warc=tmp_path / "p.warc")
    recs = check_with_readers([tmp_path / "p.warc"], tmp_path / "p.cdxj")
    assert [r["type"] for r in recs].count("response") == 2


@pytest.mark.parametrize("mode", ["sequential", "threadpool", "to-thread", "threading", "async",
                                  "processes"])  # fmt: skip
def test_modes_that_cannot_see_the_bytes_refuse(mode: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="exact bytes"):
        fetchpool.run(["http://127.0.0.1:9/"], warc=tmp_path / "a.warc.gz", mode=mode)
    assert not (tmp_path / "a.warc.gz").exists()


def test_refusals_before_anything_is_fetched(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.warc\.gz or \.warc"):
        fetchpool.run(["http://127.0.0.1:9/"], warc=tmp_path / "a.zip")
    (tmp_path / "a.warc.gz").write_bytes(b"x")
    with pytest.raises(UsageError, match="already exists"):
        fetchpool.run(["http://127.0.0.1:9/"], warc=tmp_path / "a.warc.gz")
    err = io.StringIO()
    code = main(
        ["fetch", "--warc", str(tmp_path / "a.warc.gz"), "-m", "async", "http://127.0.0.1:9/"],
        stderr=err,
    )
    assert code == 2 and "exact bytes" in err.getvalue()


def _responses_per_url(warcs: list[Path]) -> dict[str, int]:
    seen: dict[str, int] = {}
    for r in warc_records(*warcs):
        if r["type"] in ("response", "revisit"):
            url = r["headers"]["WARC-Target-URI"]
            seen[url] = seen.get(url, 0) + 1
    return seen


def test_a_torn_member_and_unrecorded_responses_are_cut_on_resume(
    archive_site: TestSite, tmp_path: Path
) -> None:
    site = archive_site
    urls = [site.url(f"/page/{i}") for i in range(20)]
    out, warc = tmp_path / "out.jsonl", tmp_path / "t.warc.gz"
    fetchpool.run(urls, output=out, warc=warc, concurrency=1)
    # A crash as it can happen: the last records never reached the output, the archive
    # holds their responses, and its last gzip member is torn.
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:12]) + lines[12][:30])
    data = warc.read_bytes()
    warc.write_bytes(data + data[-900:-300])
    summary = fetchpool.run(urls, output=out, warc=warc, resume=True, concurrency=1)
    assert summary.already_done == 12
    check_with_readers([warc], tmp_path / "t.cdxj")
    assert _responses_per_url([warc]) == dict.fromkeys(urls, 1)
    assert sorted(r["url"] for r in records_of(out)) == sorted(urls)


def test_kill_9_at_random_moments_then_resume_keeps_one_final_response_per_url(
    archive_site: TestSite, tmp_path: Path, fetchpool_bin: str, clean_env: dict[str, str]
) -> None:
    site = archive_site
    n = 600
    urls = [site.url(f"/delay/20/{i}") for i in range(n)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    out, warc = tmp_path / "out.jsonl", tmp_path / "k.warc.gz"
    args = [fetchpool_bin, "fetch", str(listing), "-o", str(out), "--warc", str(warc), "-c", "4",
            "--warc-max-size", "600K", "-q"]  # fmt: skip
    rng = random.Random("warc-kill")
    counts = []
    for trial in range(3):
        extra = ["--resume"] if trial else []
        proc = subprocess.Popen([*args, *extra], env=clean_env, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.6, 1.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        counts.append(len(out.read_text().splitlines()) if out.exists() else 0)
    assert any(0 < c < n for c in counts), counts  # kills landed mid-run
    done = subprocess.run([*args, "--resume"], env=clean_env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    recs = records_of(out)
    assert sorted(r["url"] for r in recs) == sorted(urls)
    files = sorted(tmp_path.glob("k-*.warc.gz"))
    check_with_readers(files, tmp_path / "k.cdxj")
    assert _responses_per_url(files) == dict.fromkeys(urls, 1)
    for rec in recs:
        found = record_at(tmp_path / rec["warc_file"], rec["warc_offset"])
        assert found["headers"]["WARC-Target-URI"] == rec["url"]


# -- replay in pywb, and a screenshot ----------------------------------------------------------

_ARTICLE = (
    b"<!doctype html><html><head><title>Archived by fetchpool</title></head>"
    b"<body style='font: 40px sans-serif'><h1>Archived by fetchpool</h1>"
    b"<p>replayed from a WARC</p></body></html>"
)


class _Article(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_ARTICLE)))
        self.end_headers()
        self.wfile.write(_ARTICLE)

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_pages_replay_in_pywb(archive_site: TestSite, tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Article)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    article = f"http://127.0.0.1:{server.server_address[1]}/article"
    pages = [archive_site.url("/page/3"), archive_site.url("/fault/chunked/5?gzip=1"), article]
    warc = tmp_path / "replay.warc.gz"
    try:
        fetchpool.run(pages, output=tmp_path / "o.jsonl", warc=warc)
    finally:
        server.shutdown()
        server.server_close()
    root = tmp_path / "wb"
    root.mkdir()
    subprocess.run([tool("wb-manager"), "init", "coll"], cwd=root, check=True, capture_output=True)
    shutil.copy(warc, root / "collections" / "coll" / "archive" / warc.name)
    # pywb reads our own index (sorted, as pywb wants it): no indexer of its own runs.
    lines = sorted((tmp_path / "replay.cdxj").read_text().splitlines(keepends=True))
    (root / "collections" / "coll" / "indexes" / "index.cdxj").write_text("".join(lines))
    # Replay without pywb's frame, so the browser's page is the archived one.
    (root / "config.yaml").write_text("framed_replay: false\n")
    port = _free_port()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    wayback = subprocess.Popen(
        [tool("wayback"), "-p", str(port), "-b", "127.0.0.1"], cwd=root, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}/coll"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "pywb did not start"
                time.sleep(0.2)
        stamps = {json.loads(x.split(" ", 2)[2])["url"]: x.split(" ")[1] for x in lines}
        for url, want in ((pages[0], b"<title>Page 3</title>"),
                          (pages[1], b"fetchpool test page 5"),
                          (article, b"Archived by fetchpool")):  # fmt: skip
            got = urllib.request.urlopen(f"{base}/{stamps[url]}id_/{url}", timeout=30).read()
            assert want in got, url
            replay = urllib.request.urlopen(f"{base}/{stamps[url]}mp_/{url}", timeout=30).read()
            assert want in replay, url
        chromium = browser.chromium()
        shot = tmp_path / "replay.png"
        replayed = f"{base}/{stamps[article]}/{article}"
        run = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={shot}", "--window-size=1000,400", replayed],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert shot.exists() and shot.stat().st_size > 2000, run.stderr[-1000:]
        dom = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", replayed],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert "<title>Archived by fetchpool</title>" in dom.stdout
        assert "<h1>Archived by fetchpool</h1>" in dom.stdout
        keep = os.environ.get("FETCHPOOL_SCREENSHOT")
        if keep:
            shutil.copy(shot, keep)
    finally:
        wayback.terminate()
        wayback.wait(timeout=10)


def test_the_fast_surt_equals_surt_on_generated_urls() -> None:
    surt = pytest.importorskip("surt")
    from fetchpool.warc.index import _simple_surt

    rng = random.Random("surt")
    hosts = ["example.com", "a-b.example.co.uk", "127.0.0.1", "10.1.2.3", "www.example.org",
             "x.www.net", "127.1", "010.0.0.1", "0x7f.0.0.1", "1234", "localhost",
             "b2"]  # fmt: skip
    parts = ["", "a", "B", "page", "index.html", ".", "..", "x_y~z", "-", "Ab.Cd", "0"]
    fast = 0
    for _ in range(5000):
        scheme = rng.choice(["http", "https"])
        port = rng.choice(["", ":80", ":443", ":8080", ":1", ":65535", ":0080"])
        path = "/".join(rng.choice(parts) for _ in range(rng.randint(0, 4)))
        url = f"{scheme}://{rng.choice(hosts)}{port}" + (f"/{path}" if rng.random() < 0.9 else "")
        got = _simple_surt(url)
        if got is not None:
            fast += 1
            assert got == surt.surt(url), url
    assert fast > 1000


def test_the_fast_head_reading_equals_the_full_one_on_generated_heads() -> None:
    from fetchpool.warc.index import _head_fields, head_fields

    rng = random.Random("heads")
    statuses = [b"HTTP/1.1 200 OK", b"HTTP/1.1  404 Not Found", b"HTTP/1.0 301",
                b"HTTP/1.1 2000", b"HTTP/2 200", b"HTTP/1.1 abc", b"ICY 200 OK",
                b"HTTP/1.1 500 \xe9rror"]  # fmt: skip
    names = [b"Content-Type", b"content-type", b"CONTENT-TYPE ", b"Content-Typo",
             b"X-Content-Type", b"Server", b"Content-Type\t"]  # fmt: skip
    values = [b"text/html", b" text/html; charset=utf-8 ", b"\ttext/plain\t", b"", b"a\tb",
              b"caf\xe9", b"x\x7fy", b"image/png  ", b"x\x1f \t",
              b"\x0bx"]  # fmt: skip
    for _ in range(5000):
        lines = [rng.choice(statuses)]
        for _ in range(rng.randint(0, 4)):
            lines.append(rng.choice(names) + b":" + rng.choice(values))
            if rng.random() < 0.05:
                lines.append(rng.choice([b" folded", b"\tfolded"]))
        eol = rng.choice([b"\r\n", b"\n"])
        head = eol.join(lines) + eol + eol
        assert head_fields(head) == _head_fields(head), head


def test_the_fast_base32_equals_base64s() -> None:
    from fetchpool.warc.format import b32

    for i in range(2000):
        raw = hashlib.sha256(str(i).encode()).digest()
        assert b32(raw) == base64.b32encode(raw).decode()
    for raw in (b"\0" * 32, b"\xff" * 32, bytes(range(32))):
        assert b32(raw) == base64.b32encode(raw).decode()


def test_the_index_lines_fast_way_equals_json_dumps() -> None:
    """The common line is written by hand; what json.dumps makes of the same entry."""
    from fetchpool.warc.index import cdxj_line, timestamp

    rng = random.Random(7)
    texts = ["http://a.example/x", "text/html", "caf\u00e9", 'say "hi"', "back\\slash",
             "tab\there", " lead", "\x7f",
             "~!#$%&'()*+,-./:;<=>?@[]^_`{|}", "", "200", "x\ny"]  # fmt: skip
    for _ in range(3000):
        url, mime, status, filename = (rng.choice(texts) for _ in range(4))
        kind = rng.choice(["response", "response", "revisit"])
        date = rng.choice(["2026-12-03T15:04:05.123456Z", "2026-12-03T15:04:05Z", "20261203"])
        line = cdxj_line(
            str.upper, url=url, date=date, kind=kind, status=status, mime=mime,
            digest="sha256:ABC", length=12, offset=34, filename=filename,
        )  # fmt: skip
        entry = {"url": url}
        if kind == "revisit":
            entry["mime"] = "warc/revisit"
        else:
            entry["mime"] = re.split(r"[;\s]", mime, maxsplit=1)[0].strip() if mime else mime
        entry |= {"status": status, "digest": "sha256:ABC", "length": "12", "offset": "34",
                  "filename": filename}  # fmt: skip
        assert line == f"{url.upper()} {timestamp(date)} {json.dumps(entry)}\n"
    assert timestamp("2026-12-03T15:04:05.123456Z") == "20261203150405"
    assert timestamp("20261203") == "20261203000000"


# -- the archive's own process -----------------------------------------------------------------


def _archive_child(parent: int, deadline: float) -> int:
    """The pid of the archive's process under ``parent``, waited for until ``deadline``."""
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent and b"fetchpool.warc.child" in cmd:
                return int(entry.name)
        time.sleep(0.05)
    raise AssertionError(f"no archive process under {parent}")


def _gone(pid: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":  # dead, waiting for init to reap it
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_the_archive_process_ends_with_the_run(
    archive_site: TestSite, tmp_path: Path, fetchpool_bin: str, clean_env: dict[str, str],
    how: str,
) -> None:  # fmt: skip
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(archive_site.url(f"/delay/200/{i}") + "\n" for i in range(400)))
    out = tmp_path / "out.jsonl"
    args = [fetchpool_bin, "fetch", str(listing), "-o", str(out), "-c", "2",
            "--warc", str(tmp_path / "a.warc.gz"), "-q"]  # fmt: skip
    proc = subprocess.Popen(args, env=clean_env, stderr=subprocess.DEVNULL)
    try:
        child = _archive_child(proc.pid, time.monotonic() + 60)
        deadline = time.monotonic() + 60
        while not (out.exists() and out.read_bytes().count(b"\n") >= 2):  # records are flowing
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(getattr(signal, how))
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _gone(child, time.monotonic() + 30), "the archive's process outlived the run"
    if how == "SIGINT":  # Ctrl-C: every finished record written, each pointing at its response
        assert code == 130
        recs = records_of(out)
        assert len(recs) >= 2
        for rec in recs:
            found = record_at(tmp_path / rec["warc_file"], rec["warc_offset"])
            assert found["headers"]["WARC-Target-URI"] == rec["url"]


def test_a_member_is_one_gzip_member_with_either_compressor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import zlib

    from fetchpool.warc import format as fmt

    block = [b"HTTP/1.1 200 OK\r\n\r\n", b"x" * 5000]
    for deflate, level in ((fmt._deflate, fmt.LEVEL), (zlib, 1)):  # ISA-L's, or zlib without it
        monkeypatch.setattr(fmt, "_deflate", deflate)
        monkeypatch.setattr(fmt, "LEVEL", level)
        data = fmt.record("WARC-Type: response\r\n", block)
        assert data[:2] == b"\x1f\x8b"
        d = zlib.decompressobj(31)
        assert d.decompress(data) == fmt.record("WARC-Type: response\r\n", block, gzip=False)
        assert d.eof and not d.unused_data  # one member, whole
