"""Proxies through the test bed's real proxies (tinyproxy), in every mode: http through
http_proxy, https through https_proxy (CONNECT), no_proxy, the proxy's credentials, and a
proxy that refuses them or cannot be reached — one record each, the same in every mode,
and the credentials nowhere but on the way to the proxy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import fetchpool
from bed import Bed, layout
from bed.tls import SYSTEM_BUNDLES
from fetchpool.errors import UsageError
from fetchpool.transports.proxies import from_env, tunnel_refused, unreachable

pytest_plugins = ["bed.plugin"]

FETCHPOOL = str(Path(sys.executable).with_name("fetchpool"))
#: Every way of running: each mode, and a Dask cluster of the default one.
MODES = [*fetchpool.MODES, "cluster"]
DIRECT = "127.0.0.1"  # where a request straight from fetchpool comes from, inside the bed


def fetch(
    bed: Bed, mode: str, urls: list[str], env: dict[str, str], options: tuple[str, ...] = ()
) -> tuple[dict[str, dict[str, object]], subprocess.CompletedProcess[str]]:
    """One run (progress and summary on, to check them too); its records by URL."""
    if mode == "cluster":
        pytest.importorskip("distributed")
    where = ["--cluster", "local:2"] if mode == "cluster" else ["-m", mode]
    argv = [FETCHPOOL, "fetch", "--retries", "0", "--timeout", "20", *where, *options, *urls]
    r = bed.run(argv, env={"SSL_CERT_FILE": str(bed.ca_file), **env}, timeout=120)
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    got = {rec["url"]: rec for rec in records}
    assert len(got) == len(records) == len(urls), r.stdout
    return got, r


def proxy_with(user: str, password: str, addr: str = layout.AUTH_PROXY) -> str:
    return f"http://{user}:{password}@{addr}:{layout.PROXY_PORT}"


@pytest.mark.parametrize("mode", MODES)
def test_http_https_and_no_proxy_through_the_real_proxies(bed: Bed, mode: str) -> None:
    plain, tunnelled, direct = (
        bed.url(0, "/page/1", https=False),
        bed.url(0, "/page/2"),
        bed.url(1, "/page/3"),
    )
    env = {
        "http_proxy": bed.proxy_url,  # the open one
        "https_proxy": bed.auth_proxy_url,  # BasicAuth bed:secret, in its URL
        "no_proxy": f"example.invalid, {bed.host(1)}",
    }
    mark = bed.mark()
    got, run = fetch(bed, mode, [plain, tunnelled, direct], env)
    assert all(got[u]["status"] == 200 and got[u]["error"] is None for u in got), got
    log = bed.access_log(since=mark, wait_for=3)
    came_from = {(e["host"], e["uri"]): e["remote"] for e in log}
    assert came_from == {
        (bed.host(0), "/page/1"): layout.PROXY,  # GET through the open proxy
        (bed.host(0), "/page/2"): layout.AUTH_PROXY,  # CONNECT through the one with BasicAuth
        (bed.host(1), "/page/3"): DIRECT,  # no_proxy: straight to the host
    }
    # The proxy's credentials went to the proxy alone: not to the server, not to any output.
    assert all(e["proxy_authorization"] == "" for e in log)
    assert layout.PROXY_PASSWORD not in run.stdout + run.stderr


@pytest.mark.parametrize("mode", MODES)
def test_a_proxy_that_wants_credentials_or_is_down(bed: Bed, mode: str) -> None:
    plain, tunnelled = bed.url(0, "/page/4", https=False), bed.url(0, "/page/5")
    auth = f"http://{layout.AUTH_PROXY}:{layout.PROXY_PORT}"
    # http through the BasicAuth proxy without credentials; https through nothing at all
    env = {"http_proxy": bed.auth_proxy_url_no_credentials, "https_proxy": bed.refused_proxy_url}
    mark = bed.mark()
    got, _ = fetch(bed, mode, [plain, tunnelled], env)
    assert got[plain]["status"] == 407 and got[plain]["error"] is None  # the proxy's answer
    assert got[tunnelled]["status"] is None
    assert got[tunnelled]["error"] == (
        f"connect: proxy {bed.refused_proxy_url} unreachable: Connection refused"
    )
    # https through the BasicAuth proxy with the wrong password; http through nothing
    wrong = proxy_with(layout.PROXY_USER, "wrongpass")
    env = {"https_proxy": wrong, "http_proxy": proxy_with("u", "pw0rd", layout.NO_PROXY)}
    got, run = fetch(bed, mode, [plain, tunnelled], env)
    # tinyproxy 1.11 answers a wrong password 401, where a missing one gets 407
    assert got[tunnelled]["error"] in {
        f"connect: proxy {auth} refused the tunnel: 401 Unauthorized",
        f"connect: proxy {auth} refused the tunnel: 407 Proxy Authentication Required",
    }
    assert got[plain]["error"] == (
        f"connect: proxy {bed.refused_proxy_url} unreachable: Connection refused"
    )
    assert "wrongpass" not in run.stdout + run.stderr
    assert "pw0rd" not in run.stdout + run.stderr
    assert bed.access_log(since=mark) == []  # nothing reached the server
    # and without any credentials, the tunnel's 407 (an http URL gets it as its status)
    got, _ = fetch(bed, mode, [tunnelled], {"https_proxy": bed.auth_proxy_url_no_credentials})
    assert got[tunnelled]["error"] == (
        f"connect: proxy {auth} refused the tunnel: 407 Proxy Authentication Required"
    )


@pytest.mark.parametrize("mode", MODES)
def test_an_https_proxy_is_trusted_as_the_servers_are(bed: Bed, mode: str) -> None:
    """TLS to the proxy itself: checked against what the run trusts (SSL_CERT_FILE, or
    --cacert), for an http URL (sent to the proxy inside TLS) and an https one (TLS in TLS)."""
    plain, tunnelled = bed.url(0, "/page/6", https=False), bed.url(0, "/page/7")
    env = {"http_proxy": bed.tls_proxy_url, "https_proxy": bed.tls_proxy_url}
    system = str(next(p for p in SYSTEM_BUNDLES if Path(p).is_file()))
    for trust_env, options in (
        ({}, ()),  # fetch()'s SSL_CERT_FILE: the bed's CA
        ({"SSL_CERT_FILE": system}, ("--cacert", str(bed.ca_file))),
    ):
        mark = bed.mark()
        got, _ = fetch(bed, mode, [plain, tunnelled], {**env, **trust_env}, options)
        assert all(got[u]["status"] == 200 and got[u]["error"] is None for u in got), got
        log = bed.access_log(since=mark, wait_for=2)
        assert {e["uri"]: e["remote"] for e in log} == {
            "/page/6": layout.PROXY,  # the TLS proxy hands on to the open one
            "/page/7": layout.PROXY,
        }
    # A store without the bed's CA: the proxy is not trusted, and nothing goes through it.
    mark = bed.mark()
    got, _ = fetch(bed, mode, [plain, tunnelled], {**env, "SSL_CERT_FILE": system})
    for url in (plain, tunnelled):
        assert got[url]["status"] is None
        assert got[url]["error"] == (
            f"tls: proxy {bed.tls_proxy_url}: unable to get local issuer certificate"
        )
    assert bed.access_log(since=mark) == []
    # -k checks no certificate: neither the proxy's nor the server's.
    got, _ = fetch(bed, mode, [plain, tunnelled], {**env, "SSL_CERT_FILE": system}, ("-k",))
    assert all(got[u]["status"] == 200 and got[u]["error"] is None for u in got), got


# -- pure ----------------------------------------------------------------------------------


def test_a_proxy_is_named_without_its_credentials() -> None:
    assert unreachable("http://u:secret@p.test:3128", "Connection refused").detail == (
        "proxy http://p.test:3128 unreachable: Connection refused"
    )
    assert tunnel_refused("http://u:secret@p.test:3128", 407).detail == (
        "proxy http://p.test:3128 refused the tunnel: 407 Proxy Authentication Required"
    )
    assert (
        tunnel_refused("http://p.test", 599).detail == "proxy http://p.test refused the tunnel: 599"
    )
    with pytest.raises(UsageError) as caught:
        from_env({"https_proxy": "socks5://u:secret@p.test:1080"})
    assert "secret" not in str(caught.value) and "socks5" in str(caught.value)
