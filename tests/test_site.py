"""The built-in test site: its pages, its counters, and `fetchpool serve` as a user runs it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

import pytest

from fetchpool import fetch
from fetchpool.testsite.site import TestSite, page_body

pytestmark = pytest.mark.timeout(60)


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as resp:  # loopback only
        return resp.status, resp.read()


def test_pages_have_a_title_and_sizes_vary(site: TestSite) -> None:
    status, body = _get(site.url("/page/3"))
    assert status == 200 and body == page_body(3) and b"<title>Page 3</title>" in body
    assert 2000 <= len(page_body(1)) <= 6000 and len(page_body(1)) != len(page_body(2))


def test_delay_waits(site: TestSite) -> None:
    start = time.perf_counter()
    status, body = _get(site.url("/delay/300/4"))
    assert status == 200 and body == page_body(4)
    assert time.perf_counter() - start >= 0.29


def test_bad_parameters_are_400(site: TestSite) -> None:
    with pytest.raises(urllib.request.HTTPError) as info:
        _get(site.url("/page/abc"))
    assert info.value.code == 400
    info.value.close()


@pytest.mark.timeout(30)
def test_holds_a_thousand_slow_requests_at_once(fresh_site: TestSite) -> None:
    urls = [fresh_site.url(f"/delay/1000/{i}") for i in range(1000)]
    start = time.perf_counter()
    records = list(fetch(urls, mode="async", concurrency=1000, per_host=1000, timeout=20))
    wall = time.perf_counter() - start
    assert sum(r.status == 200 for r in records) == 1000
    assert fresh_site.peak >= 900, fresh_site.peak
    assert wall < 8, f"1000 x 1 s at once took {wall:.1f} s"


def test_serve_command(fetchpool_bin: str, clean_env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [fetchpool_bin, "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("fetchpool test site on http://127.0.0.1:"), line
        base = line.split()[4].rstrip("/")
        status, body = _get(base + "/page/5")
        assert status == 200 and body == page_body(5)
        stats = json.loads(_get(base + "/stats")[1])
        assert stats["requests"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err
