"""Credentials go to the input URL's origin only, in every mode, as curl sends them.

The test site's /credentials page shows the Authorization and Cookie it got in its <title>
(read back with --extract title); /to?url=... redirects anywhere, so a redirect from `site`
to `other_site` (another port: another origin) shows what a second origin is sent.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

import fetchpool
from fetchpool import MODES, Record
from fetchpool.testsite.site import TestSite

HEADERS = {"Authorization": "Bearer X", "Cookie": "a=b", "Proxy-Authorization": "Basic Y"}
SENT = "authorization=Bearer X cookie=a=b"
NOTHING = "authorization=- cookie=-"


def _to(site: TestSite, url: str) -> str:
    return site.url("/to?url=" + quote(url, safe=""))


def _titles(urls: list[str], mode: str, **settings: object) -> dict[str, Record]:
    got = {
        r.url: r
        for r in fetchpool.fetch(
            urls, mode=mode, extract="title", concurrency=1, retries=0, timeout=10, **settings
        )  # type: ignore[arg-type]
    }
    assert set(got) == set(urls)
    return got


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("mode", MODES)
def test_headers_are_not_sent_to_another_origin(
    site: TestSite, other_site: TestSite, mode: str
) -> None:
    here = site.url("/credentials")
    there = other_site.url("/credentials")
    same, away = _to(site, here + "?again"), _to(site, there)
    back = _to(site, _to(other_site, here + "?back"))  # away and back to the input's origin
    got = _titles([here, same, away, back, there], mode, headers=HEADERS)
    assert got[here].title == SENT
    assert got[same].title == SENT  # a redirect within the origin keeps them, as in curl
    assert got[away].title == NOTHING and got[away].final_url == there
    assert got[back].title == SENT  # curl compares with the input's origin, not the last hop
    assert got[there].title == SENT  # its own input: its own origin


@pytest.mark.parametrize("mode", MODES)
def test_location_trusted_sends_them_wherever_it_leads(
    site: TestSite, other_site: TestSite, mode: str
) -> None:
    away = _to(site, other_site.url("/credentials"))
    secret = site.url("/credentials").replace("http://", "http://u:p@")
    away_with_userinfo = _to(site, other_site.url("/credentials?u")).replace(
        "http://", "http://u:p@"
    )
    got = _titles([away, away_with_userinfo], mode, headers=HEADERS, location_trusted=True)
    assert got[away].title == SENT
    # The input's user:password goes along too; the -H Authorization still wins over it.
    assert got[away_with_userinfo].title == SENT
    assert secret not in (got[away_with_userinfo].final_url or "")


@pytest.mark.parametrize("mode", MODES)
def test_userinfo_is_basic_auth_to_its_origin_only(
    site: TestSite, other_site: TestSite, mode: str
) -> None:
    def userinfo(url: str) -> str:
        return url.replace("http://", "http://us%40er:pa%20ss@")

    own = userinfo(site.url("/credentials"))
    same = userinfo(_to(site, "/credentials?same"))  # relative: the userinfo stays, as in curl
    absolute = userinfo(_to(site, site.url("/credentials?absolute")))
    away = userinfo(_to(site, other_site.url("/credentials")))
    plain = site.url("/credentials?plain")  # after a userinfo URL, on a reused connection
    got = _titles([own, same, absolute, away, plain], mode)
    basic = f"authorization={_basic('us@er', 'pa ss')} cookie=-"
    assert got[own].title == basic
    assert got[same].title == basic
    assert got[absolute].title == basic  # the input's origin, written out: still its own
    assert got[away].title == NOTHING
    assert got[plain].title == NOTHING
    for rec in got.values():  # the userinfo stays in the record's url, and nowhere else
        assert "pa%20ss" not in (rec.final_url or "") and "us%40er" not in (rec.final_url or "")


@pytest.mark.parametrize("mode", MODES)
def test_a_header_wins_over_userinfo(site: TestSite, mode: str) -> None:
    url = site.url("/credentials").replace("http://", "http://u:p@")
    got = _titles([url], mode, headers={"Authorization": "Bearer X"})
    assert got[url].title == "authorization=Bearer X cookie=-"


@pytest.mark.parametrize("mode", MODES)
def test_a_password_is_in_no_error_detail(mode: str) -> None:
    urls = [
        "http://user:secret@127.0.0.1:1/",
        "http://user:s%65cret@127.0.0.1:1/x",
        "http://user:secret@127.0.0.1:99999/",
        "http://user:secret@bad_host%/",
    ]
    records = list(fetchpool.fetch(urls, mode=mode, retries=0, timeout=5))
    assert len(records) == len(urls)
    for rec in records:
        assert rec.error is not None, rec
        assert "secret" not in rec.error and "s%65cret" not in rec.error, rec.error


def test_a_password_is_in_no_saved_file_name(site: TestSite, tmp_path: Path) -> None:
    url = site.url("/page/3").replace("http://", "http://user:secret@")
    summary = fetchpool.run([url], output=tmp_path / "out.jsonl", save_dir=tmp_path / "b")
    assert summary.stats.ok == 1
    (name,) = [p.name for p in (tmp_path / "b").iterdir()]
    assert "secret" not in name and "user" not in name
    rec = json.loads((tmp_path / "out.jsonl").read_text())
    assert rec["url"] == url and "secret" not in rec["path"] and "secret" not in rec["final_url"]


def test_the_command_line_drops_them_on_a_redirect_away(
    site: TestSite, other_site: TestSite, fetchpool_bin: str, clean_env: dict[str, str]
) -> None:
    away = _to(site, other_site.url("/credentials"))
    argv = [fetchpool_bin, "fetch", "-q", "--extract", "title", away]
    argv += ["-H", "Authorization: Bearer X", "-H", "Cookie: a=b"]
    for extra, title in (([], NOTHING), (["--location-trusted"], SENT)):
        proc = subprocess.run(
            argv + extra, capture_output=True, text=True, env=clean_env, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["title"] == title
