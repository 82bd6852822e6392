"""--extract: title, sha256 and links computed from bodies — the pure part on its own,
then through every mode against the built-in site, and in the outputs."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fetchpool import MODES, Config, Record, UsageError, fetch
from fetchpool.bodies.extract import (
    EXTRACTORS,
    MAX_TITLE,
    Extraction,
    new_extraction,
    parse_extract,
)
from fetchpool.cli import main
from fetchpool.records import FIELDS
from fetchpool.testsite.site import TestSite, page_body

pytestmark = pytest.mark.timeout(60)

PAGE = (
    b"<!DOCTYPE html><html><head><meta charset=utf-8>\n<TITLE>  Caf&eacute; &amp;\n  Bar "
    b"</TITLE></head><body><a href='/x'>x</a> <a name=top>no href</a> <A HREF=/y>y</A>"
    b"<svg><title>not the page title</title></svg></body></html>"
)


def extract(body: bytes, content_type: str | None = "text/html", sizes: int = 0) -> Record:
    ex = Extraction(EXTRACTORS, content_type)
    step = sizes or len(body) or 1
    for i in range(0, len(body), step):
        ex.feed(body[i : i + step])
    return ex.apply(Record(url="u", status=200, length=len(body)))


def test_parse_extract_orders_dedups_and_rejects_unknown_names() -> None:
    assert parse_extract("sha256, title,TITLE") == ("title", "sha256")
    assert parse_extract(["links"]) == ("links",)
    assert parse_extract("") == ()
    with pytest.raises(UsageError, match="unknown field to extract 'md5'; choose from: title"):
        parse_extract("title,md5")
    with pytest.raises(UsageError, match="unknown field"):
        Config(extract=("bogus",))
    assert Config(extract="links,title").extract == ("title", "links")  # type: ignore[arg-type]


def test_title_links_and_hash_of_a_page() -> None:
    rec = extract(PAGE)
    assert rec.title == "Café & Bar"
    assert rec.links == 2  # <a name=...> is not a link; case does not matter
    assert rec.sha256 == hashlib.sha256(PAGE).hexdigest()
    assert (rec.url, rec.status, rec.length) == ("u", 200, len(PAGE))


@given(st.integers(min_value=1, max_value=40))
def test_chunk_boundaries_do_not_change_the_result(size: int) -> None:
    body = "<title>Ünïcødé — ✓</title><a href=1></a>".encode()
    assert extract(body, "text/html", sizes=size) == extract(body, "text/html")


def test_charset_from_content_type() -> None:
    body = "<title>Grüße</title>".encode("latin-1")
    assert extract(body, "text/html; charset=ISO-8859-1").title == "Grüße"
    assert extract(body, "text/html; charset=no-such-charset").title == "Gr\ufffd\ufffde"


def test_non_html_gets_a_hash_but_no_title_or_links() -> None:
    rec = extract(b"<title>x</title>", "application/octet-stream")
    assert rec.title is None and rec.links is None
    assert rec.sha256 == hashlib.sha256(b"<title>x</title>").hexdigest()


def test_no_title_unclosed_title_and_long_title() -> None:
    assert extract(b"<html><body><title>in body</title></body></html>").title is None
    assert extract(b"<title>cut off here").title == "cut off here"
    long = extract(b"<title>" + b"word " * 5000 + b"</title>").title
    assert long is not None and len(long) == MAX_TITLE


@given(st.binary(max_size=300))
def test_any_bytes_give_a_record_never_an_exception(body: bytes) -> None:
    rec = extract(b"<title>" + body, "text/html", sizes=7)
    assert rec.sha256 == hashlib.sha256(b"<title>" + body).hexdigest()


def test_only_what_was_asked_for_is_filled_in() -> None:
    assert new_extraction((), "text/html") is None
    ex = Extraction(("title",), "text/html")
    ex.feed(PAGE)
    rec = ex.apply(Record(url="u"))
    assert rec.title == "Café & Bar" and rec.sha256 is None and rec.links is None


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_extracts_from_real_responses(site: TestSite, mode: str) -> None:
    urls = [site.url(f"/page/{n}") for n in range(6)] + [site.url("/bytes/1000"), "nope"]
    got = {r.url: r for r in fetch(urls, mode=mode, concurrency=3, extract="title,sha256,links")}
    assert sorted(got) == sorted(urls)
    for n in range(6):
        rec = got[site.url(f"/page/{n}")]
        assert rec.title == f"Page {n}" and rec.links == 0
        assert rec.sha256 == hashlib.sha256(page_body(n)).hexdigest()
    binary = got[site.url("/bytes/1000")]
    assert binary.title is None and binary.links is None
    assert binary.sha256 == hashlib.sha256((bytes(range(256)) * 4)[:1000]).hexdigest()
    assert got["nope"].sha256 is None and got["nope"].error_kind == "invalid-url"
    plain = next(iter(fetch([urls[0]], mode=mode)))
    assert (plain.title, plain.sha256, plain.links) == (None, None, None)


def test_outputs_carry_the_fields_null_unless_asked(site: TestSite, tmp_path: Path) -> None:
    url = site.url("/page/3")
    out, err = io.StringIO(), io.StringIO()
    assert main(["fetch", "-q", "--extract", "title", url], stdout=out, stderr=err) == 0
    row = json.loads(out.getvalue())
    assert tuple(row) == FIELDS and FIELDS[9:12] == ("title", "sha256", "links")
    assert (row["title"], row["sha256"], row["links"]) == ("Page 3", None, None)
    target = tmp_path / "out.csv"
    code = main(["fetch", "-q", "--extract", "links,sha256", "-o", str(target), url], stderr=err)
    assert code == 0
    with target.open(newline="") as fh:
        (csv_row,) = csv.DictReader(fh)
    assert csv_row["title"] == "" and csv_row["links"] == "0"
    assert csv_row["sha256"] == hashlib.sha256(page_body(3)).hexdigest()


def test_bad_extract_flag_is_one_line_and_exit_2() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["fetch", "--extract", "title,md5", "http://x/"], stdout=out, stderr=err) == 2
    assert err.getvalue().startswith("fetchpool: error: unknown field to extract 'md5'")
    assert err.getvalue().count("\n") == 1 and out.getvalue() == ""


@pytest.mark.parametrize("mode", ["async", "processes"])
def test_extract_and_save_dir_share_the_body_hook(
    fetchpool_bin: str, clean_env: dict[str, str], site: TestSite, tmp_path: Path, mode: str
) -> None:
    # Both sinks see the same body; a retried response (503, then a page) leaves no file and
    # no fields from the failed attempt: the kept body is the one that made the record.
    flaky = site.url(f"/fault/flaky/503/1/extract-{mode}?after=0")
    urls = [site.url(f"/page/{n}") for n in range(8)] + [flaky]
    bodies = tmp_path / "bodies"
    argv = [fetchpool_bin, "fetch", "-q", "-m", mode, "-c", "4", "--backoff", "0"]
    argv += ["--extract", "title,sha256", "--save-dir", str(bodies), *urls]
    proc = subprocess.run(argv, capture_output=True, text=True, env=clean_env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = {r["url"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert sorted(rows) == sorted(urls)
    for n in range(8):
        row = rows[site.url(f"/page/{n}")]
        assert row["title"] == f"Page {n}"
        assert Path(row["path"]).read_bytes() == page_body(n)
        assert row["sha256"] == hashlib.sha256(page_body(n)).hexdigest()
    again = rows[flaky]
    assert (again["status"], again["attempts"]) == (200, 2)
    assert again["sha256"] == hashlib.sha256(b"ok after 1\n").hexdigest()
    assert Path(again["path"]).read_bytes() == b"ok after 1\n"
    assert len(list(bodies.iterdir())) == 9  # no temporary file left, no failed body kept
