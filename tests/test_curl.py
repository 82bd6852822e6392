"""The curl mode's own pieces (its faults, limits and retries are tested with every mode's,
in test_faults, test_limits, test_engines): both ways of driving libcurl; the pure pieces
(libcurl codes -> error kinds, URLs handed to libcurl); the fast paths of the hot loop (URL
check, JSON lines) agree with the slow, obvious versions; each mode loads only the
libraries it needs; every mode trusts the same certificates."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fetchpool import MODES, Record, fetch
from fetchpool.bodies.savedir import SaveDir
from fetchpool.config import Config
from fetchpool.outputs.jsonl import _elapsed, _fast_line, generic_line, record_line
from fetchpool.records import ERROR_KINDS
from fetchpool.testsite.site import TestSite, page_body
from fetchpool.transports import curl as _curl
from fetchpool.transports.curl import ascii_url, classify
from fetchpool.urls import _check_fully, check_url

pytestmark = pytest.mark.timeout(60)


def _one(url: str, mode: str, **kwargs: object) -> Record:
    (rec,) = fetch([url], mode=mode, **kwargs)  # type: ignore[arg-type]
    return rec


# The faults themselves are in test_faults.py, every mode (the curl mode too).


@pytest.mark.parametrize("mode", MODES)
def test_a_non_ascii_path_is_sent_percent_encoded(site: TestSite, mode: str) -> None:
    # /page/é reaches the site (which answers 400: not a number): sent, not refused locally.
    rec = _one(site.url("/page/é"), mode)
    assert (rec.status, rec.error) == (400, None), rec


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_asks_for_what_it_decodes_itself(
    site: TestSite, mode: str, tmp_path: Path
) -> None:
    # The curl mode too: Accept-Encoding is fetchpool's, libcurl's own decoding stays off,
    # and the body counted and handed to the sink is the decoded one.
    list(fetch([site.url("/headers")], mode=mode))
    assert site.last_headers["Accept-Encoding"] == "gzip, deflate"
    saver = SaveDir(str(tmp_path / "bodies"))
    cfg = Config(mode=mode, body_sink=saver.sink, max_bytes=len(page_body(7)))
    (rec,) = fetch([site.url("/fault/gzip/7")], config=cfg)
    assert (rec.status, rec.length, rec.error) == (200, len(page_body(7)), None), rec
    assert rec.path is not None and Path(rec.path).read_bytes() == page_body(7)


@pytest.fixture(params=["select", "epoll"])
def driver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way the curl mode drives libcurl, chosen by the concurrency threshold."""
    if request.param == "epoll" and not hasattr(_curl.select, "epoll"):
        pytest.skip("no epoll on this system")
    monkeypatch.setattr(_curl, "EPOLL_FROM", 1 if request.param == "epoll" else 10**9)
    return str(request.param)


def test_both_drivers_give_the_same_records(site: TestSite, driver: str) -> None:
    expected = {site.url(f"/page/{i}"): (200, None) for i in range(40)}
    expected |= {
        site.url("/status/404"): (404, None),
        site.url("/redirect/3"): (200, None),
        site.url("/bytes/300000"): (200, None),
        site.url("/fault/gzip/3"): (200, None),
        site.url("/fault/redirect-to?location=file:///etc/passwd"): (None, "redirect"),
        site.url("/fault/truncated/1000"): (None, "truncated"),
        site.url("/fault/stall-headers"): (None, "timeout"),
        site.raw_url("/close"): (None, "connect"),
        "http://127.0.0.1:1/": (None, "connect"),
        "nope": (None, "invalid-url"),
    }
    records = list(fetch(expected, mode="curl", concurrency=6, timeout=1, retries=0))
    assert sorted(r.url for r in records) == sorted(expected)
    for rec in records:
        assert (rec.status, rec.error_kind) == expected[rec.url], rec


@pytest.mark.parametrize("limit", [3, 12])
def test_both_drivers_bound_and_use_the_concurrency(
    fresh_site: TestSite, driver: str, limit: int
) -> None:
    urls = [fresh_site.url(f"/delay/60/{i}") for i in range(limit * 3)]
    records = list(fetch(urls, mode="curl", concurrency=limit))
    assert len(records) == len(urls) and all(r.status == 200 for r in records)
    assert 1 < fresh_site.peak <= limit


def test_curl_reuses_handles_across_many_urls(site: TestSite) -> None:
    urls = [site.url(f"/page/{i}") for i in range(500)] + ["nope", site.url("/status/404")]
    records = list(fetch(urls, mode="curl", concurrency=8))
    assert sorted(r.url for r in records) == sorted(urls)
    by_url = {r.url: r for r in records}
    assert by_url["nope"].error_kind == "invalid-url"
    assert by_url[site.url("/status/404")].status == 404
    assert sum(r.status == 200 for r in records) == 500


def test_curl_many_invalid_urls_do_not_pile_up(site: TestSite) -> None:
    # Input that is all bad lines is still read lazily: records are handed over in batches.
    pulled = 0

    def bad() -> Iterator[str]:
        nonlocal pulled
        for i in range(100_000):
            pulled += 1
            yield f"bad {i}"

    records = fetch(bad(), mode="curl", concurrency=4)
    first = [next(records) for _ in range(10)]
    records.close()
    assert all(r.error_kind == "invalid-url" for r in first)
    assert pulled <= 10 + 4 + 1, pulled


# -- pure pieces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "got_response", "kind"),
    [
        (6, False, "dns"),
        (7, False, "connect"),
        (28, False, "timeout"),
        (28, True, "timeout"),
        (18, True, "truncated"),
        (56, True, "truncated"),
        (56, False, "connect"),
        (52, False, "connect"),
        (35, False, "tls"),
        (60, False, "tls"),
        (61, True, "protocol"),
        (1, False, "protocol"),  # e.g. an HTTP/0.9 reply
        (8, False, "protocol"),
        (3, False, "invalid-url"),
        (27, False, "internal"),
        (9999, False, "protocol"),
    ],
)
def test_libcurl_codes_map_to_the_shared_kinds(code: int, got_response: bool, kind: str) -> None:
    got, detail = classify(code, "some\nmessage", got_response, 2.0)
    assert got == kind and got in ERROR_KINDS
    assert "\n" not in detail and detail


def test_ascii_url() -> None:
    assert ascii_url("http://a.example/x?y=1#frag") == "http://a.example/x?y=1"
    assert ascii_url("http://bücher.example/é?q=ü") == (
        "http://xn--bcher-kva.example/%C3%A9?q=%C3%BC"
    )
    assert ascii_url("http://h/%C3%A9é") == "http://h/%C3%A9%C3%A9"  # escapes kept


_SCHEMES = st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", "http:/"])
_HOSTS = st.sampled_from(
    ["a", "127.0.0.1", "h-1.Example", "a..b", "-a", "[::1]", "é.x", "", "a b", "a" * 250 + ".com"]
)
_PORTS = st.sampled_from(["", ":80", ":0", ":00", ":65535", ":65536", ":99999", ":", ":8a"])
_URLISH = st.text(alphabet="hHtTpPsS:/.-_[]@?#%01239aZé \t\\\x7f", max_size=20)


@settings(max_examples=500)
@given(_SCHEMES, _HOSTS, _PORTS, st.sampled_from(["", "/", "?", "#", "\\"]), _URLISH)
def test_check_url_fast_path_agrees_with_the_full_check(
    scheme: str, host: str, port: str, sep: str, rest: str
) -> None:
    url = scheme + host + port + sep + rest
    assert check_url(url) == _check_fully(url)


@given(
    st.builds(
        Record,
        url=st.text(),
        status=st.none() | st.integers(100, 599),
        length=st.none() | st.integers(0, 10**12),
        elapsed=st.floats(0, 1e6),
        error=st.none() | st.text(),
        final_url=st.none() | st.text(),
        content_type=st.none() | st.text(),
        attempts=st.integers(0, 100),
        path=st.none() | st.text(),
        title=st.none() | st.text(),
        sha256=st.none() | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
        links=st.none() | st.integers(0, 10**6),
        http_version=st.none() | st.sampled_from(["1.0", "1.1", "2", "3"]) | st.text(),
    )
)
@example(Record(url="http://a.test/", status=200, final_url="http://a.test/", elapsed=0.0))
@example(Record(url="http://a.test/\u2028", final_url="http://a.test/\u2028", elapsed=1e-5))
def test_jsonl_fast_line_is_the_generic_line(rec: Record) -> None:
    # The hand-written form is what runs (a field added to Record must be added to it too).
    assert record_line is _fast_line
    line = record_line(rec)
    assert line == generic_line(rec)
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line)["url"] == rec.url


@example(0.0)
@example(1e-4)
@example(0.00009999995)
@example(999999999.9999996)
@example(1764773165.0000005)
@example(8589934591.9999995)
@example(0.1)
@example(2.0000005)
@example(-1.5)
@given(
    st.floats()
    | st.floats(0, 100)
    | st.floats(1e-5, 1e-3)
    | st.floats(1e8, 1e10)
    | st.floats(1.6e9, 2.1e9)
    | st.floats(8e9, 9e9)
)
def test_jsonl_elapsed_text_is_json_of_the_rounded_float(x: float) -> None:
    assert _elapsed(x) == repr(round(x, 6))  # what json writes for the rounded float


# -- lazy imports ---------------------------------------------------------------------------

_PROBE = """
import io, sys
from fetchpool.cli import main
code = main(sys.argv[1:], stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO())
heavy = ["aiohttp", "urllib3", "pycurl", "rich", "asyncio", "requests", "ssl", "concurrent.futures"]
print(code, " ".join(m for m in heavy if m in sys.modules))
"""


def _loaded(argv: list[str]) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    code, *mods = proc.stdout.splitlines()[-1].split()  # after --help's text
    return int(code), set(mods)


def test_help_loads_no_http_stack_and_no_asyncio() -> None:
    assert _loaded(["fetch", "--help"]) == (0, set())


@pytest.mark.parametrize(
    ("mode", "allowed"),
    [
        ("curl", {"pycurl"}),  # not ssl: an http run never finds the CA store for libcurl
        ("sequential", {"urllib3", "ssl"}),
        ("async", {"aiohttp", "asyncio", "ssl", "concurrent.futures"}),
    ],
)
def test_each_mode_loads_only_its_own_stack(site: TestSite, mode: str, allowed: set[str]) -> None:
    code, loaded = _loaded(["fetch", "-q", "-m", mode, site.url("/page/1")])
    assert code == 0
    assert loaded <= allowed, loaded - allowed
    assert next(iter(sorted(allowed))) in loaded


def test_quick_start_in_the_curl_mode(site: TestSite) -> None:
    # The point is no heavy import on the way (measured: well under 0.3 s): what is imported
    # says so on any machine, where a clock would only on a quiet one.
    urls = [site.url(f"/page/{i}") for i in range(10)]
    script = (
        "import sys\n"
        "from fetchpool.cli import main\n"
        "code = main(['fetch', '-q', '-m', 'curl', *sys.argv[1:]])\n"
        "heavy = ('aiohttp', 'urllib3', 'distributed', 'dask', 'asyncio', 'rich', 'hashlib',\n"
        "         'html.parser')  # the last two: OpenSSL and a parser --extract alone needs\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *urls], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 10, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "[]", proc.stderr


# -- TLS: the same trust store in every mode ------------------------------------------------


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """An HTTPS server on 127.0.0.1 with a fresh self-signed certificate: (URL, cert file)."""
    import http.server
    import shutil
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"secure page\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/", str(cert)
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", MODES)
def test_an_untrusted_certificate_is_a_tls_error(tls_site: tuple[str, str], mode: str) -> None:
    url, _ = tls_site
    rec = _one(url, mode, timeout=10)
    assert rec.error_kind == "tls", rec


@pytest.mark.parametrize("mode", MODES)
def test_ssl_cert_file_is_trusted_in_every_mode(
    fetchpool_bin: str, clean_env: dict[str, str], tls_site: tuple[str, str], mode: str
) -> None:
    url, cert = tls_site
    proc = subprocess.run(
        [fetchpool_bin, "fetch", "-q", "-m", mode, url],
        capture_output=True,
        text=True,
        env={**clean_env, "SSL_CERT_FILE": cert},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    assert (row["status"], row["length"], row["error"]) == (200, len(b"secure page\n"), None), row


# -- reading the response head --------------------------------------------------------------


def _head(*lines: bytes) -> _curl.Transfer:
    from fetchpool.transports.proxies import Proxies

    transfer = _curl.Transfer(Config(), Proxies(), list)
    transfer._lines.extend(lines)  # as libcurl hands them over, one list.append per line
    transfer._read_headers()
    return transfer


def test_the_head_read_is_the_last_response_and_the_last_of_each_header() -> None:
    t = _head(
        b"HTTP/1.1 100 Continue\r\n",
        b"Location: /not-this\r\n",
        b"\r\n",
        b"HTTP/1.1 301 Moved Permanently\r\n",
        b"content-TYPE: text/plain\r\n",
        b"Content-Type :  text/HTML; charset=UTF-8 \r\n",  # a space before the colon, case kept
        b"X-Location: /no\r\n",
        b"LOCATION: /there?q=%41\r\n",
        b"Retry-After: 7\r\n",
        b"\r\n",
    )
    assert t.status == 301
    assert t.content_type == "text/HTML; charset=UTF-8"
    assert t.location == "/there?q=%41"
    assert t.retry_after == "7"
    assert t._encoding is None


def test_the_head_read_ignores_a_location_without_a_redirect_and_knows_gzip() -> None:
    t = _head(
        b"HTTP/2 200\r\n",
        b"location: /x\r\n",
        b"Content-Encoding: gzip\r\n",
        b"Content-Length: 10\r\n",
        b"\r\n",
    )
    assert (t.status, t.location, t.content_type, t.retry_after) == (200, None, None, None)
    assert t._encoding == "gzip"


def test_the_head_read_survives_a_status_line_alone_or_garbage() -> None:
    assert _head(b"HTTP/1.0 204 No Content\r\n").status == 204
    t = _head(b"HTTP/1.1 abc\r\n", b"Content-Type: a\r\n")
    assert (t.status, t.content_type) == (0, "a")


@settings(max_examples=500)
@given(_SCHEMES, _HOSTS, _PORTS, st.sampled_from(["", "/", "?", "#", "\\"]), _URLISH)
def test_admit_is_the_url_check_then_the_host_key(
    scheme: str, host: str, port: str, sep: str, rest: str
) -> None:
    from fetchpool.urls import admit, host_key, invalid_record

    url = scheme + host + port + sep + rest
    bad = invalid_record(url)
    expected = host_key(url) if bad is None else bad
    # Twice: the second time its authority may be known (and other examples' are, too).
    assert admit(url) == expected and admit(url) == expected


def test_admit_knows_an_authority_only_with_a_plain_path_after_it() -> None:
    from fetchpool.urls import admit

    assert admit("http://Known.test:81/a") == "known.test:81"
    assert admit("http://Known.test:81/b?c#d") == "known.test:81"
    for bad in ("http://Known.test:81/a b", "http://Known.test:81/\x7f"):
        record = admit(bad)
        assert not isinstance(record, str) and record.error is not None, bad
    assert admit("http://Known.test:81/é") == "known.test:81"  # by the full check
    assert admit("http://known.test:81?/x") == "known.test:81"  # the authority ends at "?"
    assert admit("http://known.test:81x/y") != "known.test:81"


def test_the_common_head_is_read_the_same_way() -> None:
    # Only Content-Type among the headers read: the short way; the last one counts.
    t = _head(b"HTTP/1.1 200 OK\r\n", b"content-type: a/b\r\n", b"Content-Type:  c/D \r\n")
    assert (t.status, t.content_type, t.location, t._encoding) == (200, "c/D", None, None)
    # A space before the colon takes the general way, with the same answer.
    t = _head(b"HTTP/1.1 200 OK\r\n", b"Content-Type\t: x/y\r\n", b"\r\n")
    assert t.content_type == "x/y"


def test_plain_http_transfers_to_one_host_start_together(fresh_site: TestSite) -> None:
    # Over http:// no stream can share a connection: a transfer that waited for one to say
    # so (PIPEWAIT) would start only once the first slow page had answered.
    urls = [fresh_site.url(f"/delay/300/{i}") for i in range(8)]
    records = list(fetch(urls, mode="curl", concurrency=8, per_host=8, retries=0))
    assert [r.status for r in records] == [200] * 8
    assert fresh_site.peak == 8
