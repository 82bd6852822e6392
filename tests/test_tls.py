"""TLS in every mode against real HTTPS servers on loopback, with a CA made for the run
(trustme): whom a run trusts (the default store with SSL_CERT_FILE, --cacert, -k) and one
shared TLS context per run instead of a CA store loaded for every connection."""

from __future__ import annotations

import json
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from fetchpool import MODES, fetch
from fetchpool.testsite.site import TestSite, page_body
from fetchpool.transports.tls import client_context

_LOCAL = ("127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _https_site(ca: trustme.CA, *names: str) -> TestSite:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return TestSite(ssl_context=context)


@pytest.fixture(scope="module")
def https_sites(ca: trustme.CA) -> Iterator[list[TestSite]]:
    sites = [_https_site(ca, *_LOCAL) for _ in range(3)]
    for s in sites:
        s.__enter__()
    yield sites
    for s in sites:
        s.__exit__(None, None, None)


@pytest.fixture(scope="module")
def wrong_name(ca: trustme.CA) -> Iterator[TestSite]:
    with _https_site(ca, "somewhere-else.test") as site:
        yield site


def _fetch(bin_: str, env: dict[str, str], *args: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [bin_, "fetch", "-q", "--retries", "0", "--timeout", "20", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr  # -k is asked for: no library's lecture
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("mode", MODES)
def test_trust_comes_from_ssl_cert_file_cacert_or_insecure(
    mode: str,
    https_sites: list[TestSite],
    wrong_name: TestSite,
    ca_file: str,
    fetchpool_bin: str,
    clean_env: dict[str, str],
) -> None:
    site = https_sites[0]
    url = site.url("/page/4")
    env = {k: v for k, v in clean_env.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    # Not trusted: the system store knows nothing of this run's CA.
    (rec,) = _fetch(fetchpool_bin, env, "-m", mode, url)
    assert str(rec["error"]).startswith("tls: "), rec
    # Trusted as a user's machine trusts it: SSL_CERT_FILE names the store.
    (rec,) = _fetch(fetchpool_bin, {**env, "SSL_CERT_FILE": ca_file}, "-m", mode, url)
    assert (rec["status"], rec["length"], rec["error"]) == (200, len(page_body(4)), None), rec
    # --cacert, as curl spells it.
    (rec,) = _fetch(fetchpool_bin, env, "-m", mode, "--cacert", ca_file, url)
    assert (rec["status"], rec["error"]) == (200, None), rec
    # A certificate for another name fails even with the CA trusted; -k skips every check.
    other = wrong_name.url("/page/1")
    (rec,) = _fetch(fetchpool_bin, env, "-m", mode, "--cacert", ca_file, other)
    assert str(rec["error"]).startswith("tls: "), rec
    (rec,) = _fetch(fetchpool_bin, env, "-m", mode, "-k", other)
    assert (rec["status"], rec["error"]) == (200, None), rec


@pytest.mark.parametrize("mode", MODES)
def test_a_cacert_under_a_non_ascii_name_is_trusted_for_every_https_url(
    mode: str,
    ca: trustme.CA,
    https_sites: list[TestSite],
    fetchpool_bin: str,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    # One request at a time, so that in the curl mode one handle takes every URL: the trust
    # is set on it at its first https transfer, and must hold for the others.
    ca_file = tmp_path / "josé" / "ca.pem"
    ca_file.parent.mkdir()
    ca.cert_pem.write_to_path(str(ca_file))
    env = {k: v for k, v in clean_env.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    urls = [https_sites[0].url(f"/page/{i}") for i in range(3)]
    recs = _fetch(fetchpool_bin, env, "-m", mode, "-c", "1", "--cacert", str(ca_file), *urls)
    assert [(r["status"], r["error"]) for r in recs] == [(200, None)] * 3, recs


def test_a_cacert_that_cannot_be_read_is_a_usage_error(
    fetchpool_bin: str, clean_env: dict[str, str], tmp_path: Path
) -> None:
    for mode in ("curl", "threadpool", "async"):
        done = subprocess.run(
            [
                fetchpool_bin,
                "fetch",
                "-m",
                mode,
                "--cacert",
                str(tmp_path / "none.pem"),
                "https://127.0.0.1:1/",
            ],
            env=clean_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, (mode, done.stderr)
        assert done.stderr.count("\n") == 1 and "none.pem" in done.stderr, done.stderr


@pytest.mark.parametrize("mode", ["sequential", "threadpool", "to-thread", "threading", "async"])
def test_one_tls_context_per_run_whatever_the_connections(
    mode: str,
    https_sites: list[TestSite],
    ca_file: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CA store is loaded once per run, not once per connection (urllib3 given no
    context builds one and loads the store for every new connection)."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    client_context.cache_clear()
    loads = []
    real = ssl.SSLContext.load_default_certs

    def counted(self: ssl.SSLContext, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH) -> None:
        loads.append(purpose)
        real(self, purpose)

    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", counted)
    urls = [s.url(f"/page/{i}") for s in https_sites for i in range(12)]
    # per_host 4: several connections to each of the three hosts
    recs = list(fetch(urls, mode=mode, concurrency=12, per_host=4, retries=0))
    assert sorted(r.status or 0 for r in recs) == [200] * len(urls), [r.error for r in recs]
    assert len(loads) == 1, f"the CA store was loaded {len(loads)} times"
