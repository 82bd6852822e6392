"""Arbitrary input lines through the real paths — the command line (in-process, every
mode and output format) and the library: nothing escapes as an exception, and every line
yields exactly one record or is skipped as blank or a comment.

Only loopback is ever contacted: generated lines that are fetchable URLs point at the
built-in site, its raw fault server, a refused port or localhost; arbitrary text that
happens to be a fetchable URL for another host is filtered out before it runs.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fetchpool import MODES, fetch
from fetchpool.cli import main
from fetchpool.testsite.site import TestSite
from fetchpool.urls import check_url

pytestmark = pytest.mark.timeout(300)

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _loopback_only(text: str) -> bool:
    url = text.strip()
    if check_url(url) is not None:
        return True  # never requested
    return urlsplit(url).hostname in _LOOPBACK


def _lines(site: TestSite) -> st.SearchStrategy[list[str]]:
    no_newline = st.characters(exclude_characters="\r\n", exclude_categories=("Cs",))
    anything = st.text(no_newline, max_size=40)
    path = st.text(no_newline, max_size=20).map(lambda p: "/" + p)
    good = st.builds(
        lambda host, port, p: f"http://{host}:{port}{p}",
        st.sampled_from(["127.0.0.1", "localhost", "LocalHost", "127.0.0.1."]),
        st.sampled_from([site.port, site.port, site.raw.port]),
        st.one_of(path, st.sampled_from(["/page/7", "/status/404", "/fault/not-utf8/33"])),
    )
    mixed = st.builds(
        lambda scheme, host, port, p: f"{scheme}{host}{port}{p}",
        st.sampled_from(["http://", "HTTP://", "https://", "ftp://", "", "http:/", "http:///"]),
        st.sampled_from(["127.0.0.1", "[::1]", "localhost", "", "127.0.0.1."]),
        st.sampled_from(
            [f":{site.port}", f":{site.raw.port}", ":1", ":99999", ":abc", ":0", ":", ""]
        ),
        st.one_of(
            path,
            st.sampled_from(["/page/1", "/status/503", "/garbage", "/fault/gzip/2", "/x#y?z"]),
        ),
    )
    padded = st.builds(
        lambda pre, u, post: pre + u + post,
        st.sampled_from(["", " ", "\t", "\u00a0", "\ufeff"]),
        st.one_of(good, mixed),
        st.sampled_from(["", " ", "\t", "\x0b", " # not a comment"]),
    )
    skipped = st.sampled_from(["", "   ", "\t", "# a comment", "  # indented comment", "#"])
    line = st.one_of(anything, good, padded, skipped).filter(_loopback_only)
    return st.lists(line, max_size=12, unique_by=str.strip)


def _expected(lines: list[str], *, from_file: bool = False) -> list[str]:
    if from_file and lines:  # a file's leading byte order mark is skipped (and then the
        lines = [lines[0].removeprefix("\ufeff"), *lines[1:]]  # line may repeat another)
    return sorted({s.strip() for s in lines if s.strip() and not s.strip().startswith("#")})


FAST = ["--timeout", "2", "--retries", "1", "--backoff", "0.01"]


@settings(
    max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_lines_through_the_command_line(site: TestSite, data: st.DataObject) -> None:
    lines = data.draw(_lines(site), label="lines")
    mode = data.draw(st.sampled_from(MODES), label="mode")
    fmt = data.draw(st.sampled_from(["jsonl", "csv"]), label="format")
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "urls.txt"
        listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
        target = Path(tmp) / f"out.{fmt}"
        err = io.StringIO()
        argv = ["fetch", "-q", "-m", mode, "-c", "4", *FAST, "-o", str(target), str(listing)]
        code = main(argv, stdin=io.StringIO(""), stdout=io.StringIO(), stderr=err)
        assert code == 0, err.getvalue()
        assert err.getvalue() == ""
        with target.open(encoding="utf-8", newline="") as fh:
            if fmt == "jsonl":
                rows = [json.loads(line) for line in fh.read().split("\n") if line]
            else:
                rows = list(csv.DictReader(fh))
    assert sorted(r["url"] for r in rows) == _expected(lines, from_file=True)
    for row in rows:
        assert bool(row["error"]) != bool(row["status"]), row  # an error or a status
        event(str(row["error"]).split(":", 1)[0] if row["error"] else f"status {row['status']}")


@settings(max_examples=75, deadline=None)
@given(data=st.data())
def test_any_strings_through_the_library(site: TestSite, data: st.DataObject) -> None:
    urls = data.draw(_lines(site), label="urls")
    mode = data.draw(st.sampled_from(MODES), label="mode")
    records = list(fetch(urls, mode=mode, concurrency=4, timeout=2, retries=1, backoff=0.01))
    assert sorted(r.url for r in records) == sorted(u.strip() for u in urls)
    for rec in records:
        event(rec.error_kind or f"status {rec.status}")  # --hypothesis-show-statistics
        assert (rec.error is None) == (rec.status is not None), rec
        if rec.error is not None:
            assert "\n" not in rec.error and not rec.error.startswith("internal"), rec
