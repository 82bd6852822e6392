"""`fetchpool report`: the HTML page of a run, from its .jsonl or .sqlite output, made by the
installed command and opened in a headless Chromium with no network."""

from __future__ import annotations

import csv
import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

import browser
import fetchpool
from fetchpool.report.aggregate import aggregate
from fetchpool.testsite.site import TestSite

FETCHPOOL = str(Path(sys.executable).parent / "fetchpool")
pytest.importorskip("matplotlib")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _urls(site: TestSite, other: TestSite) -> list[str]:
    dead = _closed_port()
    urls = [site.url(f"/page/{i}") for i in range(40)]
    urls += [other.url(f"/delay/{20 + i}/{i}") for i in range(20)]
    urls += [site.url(f"/status/404?{i}") for i in range(5)]
    urls += [other.url(f"/status/503?{i}") for i in range(3)]
    urls += [f"http://127.0.0.1:{dead}/{i}" for i in range(4)]  # connect: refused
    urls += [site.url(f"/delay/5000/{i}") for i in range(2)]  # timeout
    urls += ["not a url"]
    # With credentials, slow: among the slowest URLs, where the page must not show them.
    urls += [site.url("/delay/400/1").replace("://", "://user:s3cr3t@")]
    return urls


@pytest.fixture(scope="module")
def outputs(
    site: TestSite, other_site: TestSite, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """One run, written as JSON lines, SQLite and CSV (the same URLs, fetched three times)."""
    root = tmp_path_factory.mktemp("report")
    made = {}
    urls = _urls(site, other_site)
    for ext in ("jsonl", "sqlite", "csv"):
        path = root / f"out.{ext}"
        fetchpool.run(urls, output=path, timeout=0.5, retries=0)
        made[ext] = path
    return made


def _report(source: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FETCHPOOL, "report", str(source), "-o", str(target)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_every_output_format_carries_started(outputs: dict[str, Path]) -> None:
    before = time.time()
    rows = [json.loads(line) for line in outputs["jsonl"].read_text().splitlines()]
    assert list(rows[0])[-1] == "started"  # the last field
    fetched = [r for r in rows if r["url"] != "not a url"]
    assert all(isinstance(r["started"], float) and 0 < before - r["started"] < 600 for r in fetched)
    assert [r["started"] for r in rows if r["url"] == "not a url"] == [None]  # no request
    with sqlite3.connect(outputs["sqlite"]) as db:
        got = db.execute("SELECT count(*) FROM results WHERE typeof(started) = 'real'").fetchone()
    assert got == (len(fetched),)
    with outputs["csv"].open() as fh:
        table = list(csv.DictReader(fh))
    assert sum(1 for r in table if float(r["started"] or 0) > 0) == len(fetched)


def _offline(html: str) -> None:
    """Nothing on the page is fetched: no script, stylesheet, image or frame from anywhere."""
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", html, re.I)
    assert not re.search(r"""\b(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.I)
    assert "@import" not in html
    assert not re.search(r"url\(\s*(?!#)", html)  # only the charts' own clip paths, by id


@pytest.mark.parametrize("fmt", ["jsonl", "sqlite"])
def test_the_report_counts_and_draws_the_run(
    outputs: dict[str, Path], tmp_path: Path, site: TestSite, fmt: str
) -> None:
    page = tmp_path / "report.html"
    done = _report(outputs[fmt], page)
    assert done.returncode == 0, done.stderr
    assert "76 records" in done.stderr
    html = page.read_text()
    _offline(html)
    for chart in ("status", "errors", "latency", "throughput"):
        assert html.count(f'data-chart="{chart}"') == 1
    assert re.search(r"<td>2xx</td><td>61</td>", html)
    assert re.search(r"<td>4xx</td><td>5</td>", html)
    assert re.search(r"<td>5xx</td><td>3</td>", html)
    assert re.search(r"<td>error: connect</td><td>4</td>", html)
    assert re.search(r"<td>error: timeout</td><td>2</td>", html)
    assert re.search(r"<td>error: invalid-url</td><td>1</td>", html)
    assert f"127.0.0.1:{site.port}" in html  # the hosts table
    assert "/delay/5000/" in html  # among the slowest URLs
    assert "/delay/400/1" in html and "s3cr3t" not in html and "***@" in html


def test_jsonl_and_sqlite_give_the_same_totals(outputs: dict[str, Path]) -> None:
    a, b = aggregate(str(outputs["jsonl"])), aggregate(str(outputs["sqlite"]))
    assert (a.records, a.by_class, a.by_error) == (b.records, b.by_class, b.by_error)
    assert a.latency.count == b.latency.count == 69
    assert set(a.hosts) == set(b.hosts) and len(a.hosts) == 4  # two sites, a dead port, none


def test_an_older_sqlite_output_without_started_is_reported_and_resumed(
    site: TestSite, tmp_path: Path
) -> None:
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as db:
        db.execute(
            "CREATE TABLE results (url TEXT NOT NULL UNIQUE, status INTEGER, length INTEGER,"
            " elapsed REAL, error TEXT, final_url TEXT, content_type TEXT, attempts INTEGER)"
        )
        db.execute("INSERT INTO results VALUES (?, 200, 10, 0.5, NULL, ?, 'text/html', 1)",
                   (site.url("/page/1"), site.url("/page/1")))  # fmt: skip
    assert aggregate(str(old)).records == 1  # read with started as null
    fetchpool.run([site.url("/page/1"), site.url("/page/2")], output=old, resume=True)
    with sqlite3.connect(old) as db:
        rows = dict(db.execute("SELECT url, started FROM results").fetchall())
    assert rows == {
        site.url("/page/1"): None,
        site.url("/page/2"): pytest.approx(time.time(), abs=600),
    }
    assert _report(old, tmp_path / "r.html").returncode == 0


def test_a_big_output_is_aggregated_in_bounded_memory_into_a_small_page(tmp_path: Path) -> None:
    source = tmp_path / "big.jsonl"
    start = 1.7e9
    with source.open("w") as fh:
        for i in range(200_000):
            row = {"url": f"http://h{i % 300}.test/{i}", "status": 200 + 100 * (i % 4 == 0),
                   "elapsed": 0.001 * (1 + i % 977), "error": None,
                   "started": start + i / 500, "length": 100}  # fmt: skip
            fh.write(json.dumps(row) + "\n")
    tracemalloc.start()
    try:
        totals = aggregate(str(source))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert totals.records == 200_000
    assert peak < 20_000_000  # a list of the records would take hundreds of MB
    page = tmp_path / "big.html"
    assert _report(source, page).returncode == 0
    assert page.stat().st_size < 500_000  # as small as the page of a short run


@pytest.mark.parametrize(
    ("content", "name", "why"),
    [
        (None, "missing.jsonl", "no such file"),
        ("url,status\n", "out.csv", ".jsonl and .sqlite"),
        ('{"url": "u"}\nnot json\n', "bad.jsonl", "line 2 is not a fetchpool record"),
    ],
)
def test_a_source_that_cannot_be_reported_is_a_one_line_error(
    tmp_path: Path, content: str | None, name: str, why: str
) -> None:
    source = tmp_path / name
    if content is not None:
        source.write_text(content)
    done = _report(source, tmp_path / "r.html")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and why in done.stderr
    assert not (tmp_path / "r.html").exists()


@pytest.mark.slow
def test_chromium_shows_the_report_with_no_network(
    outputs: dict[str, Path], tmp_path: Path
) -> None:
    from PIL import Image, ImageStat

    chromium = browser.chromium()
    page = tmp_path / "report.html"
    assert _report(outputs["jsonl"], page).returncode == 0
    shot = tmp_path / "report.png"
    url = page.as_uri()
    run = subprocess.run(
        [chromium, *browser.HEADLESS, *browser.OFFLINE, f"--screenshot={shot}",
         "--window-size=1400,1600", url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shot.exists(), run.stderr[-1000:]
    with Image.open(shot) as image:
        grey = image.convert("L")
        spread = ImageStat.Stat(grey).stddev[0]
        extrema = grey.getextrema()
    assert spread > 10 and extrema[0] < 80 and extrema[1] > 200  # not a blank page
    dom = subprocess.run(
        [chromium, *browser.HEADLESS, *browser.OFFLINE, "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    charts = re.findall(r'<svg[^>]*data-chart="(\w+)"', dom.stdout)
    assert sorted(charts) == ["errors", "latency", "status", "throughput"]
    assert dom.stdout.count("<path") > 50  # the charts are drawn, not empty frames
