"""Fixtures: the built-in test site on an ephemeral port, and a clean environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from fetchpool.testsite.faults import bomb_body
from fetchpool.testsite.site import TestSite

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

# Hypothesis fails an example that takes over 200 ms: a wall-clock budget that a busy machine
# breaks (the properties are about what the code does, not how fast a shared core runs it).
settings.register_profile("fetchpool", deadline=None)
settings.load_profile("fetchpool")


def pytest_sessionstart(session: pytest.Session) -> None:
    """A compiled module older than its source runs the old code: stop before any test."""
    from compiled import stale_modules

    stale = stale_modules()
    if stale:
        pytest.exit(
            f"compiled modules older than their source: {', '.join(stale)}; "
            "rebuild them with `make test` (or pip install -e .)",
            returncode=3,
        )


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only loopback is reachable; a proxy setting must not reroute the tests."""
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(scope="session")
def site() -> Iterator[TestSite]:
    bomb_body()  # built once up front (under a second), not inside a request's timeout
    with TestSite() as s:
        yield s


@pytest.fixture
def fresh_site(site: TestSite) -> TestSite:
    """The shared site with its request counters reset, once requests left over from
    earlier tests (e.g. a run interrupted mid-flight, a cancelled slow page) have ended: a
    test that counts requests must not count theirs. Fails, rather than go on, if they never
    end (the slowest page an earlier test asks for takes 10 s)."""
    deadline = time.monotonic() + 120
    while site.in_flight:
        if time.monotonic() > deadline:
            pytest.fail(f"{site.in_flight} requests of earlier tests never ended")
        time.sleep(0.01)
    site.reset()
    return site


@pytest.fixture(scope="session")
def fetchpool_bin() -> str:
    """The installed command, as a user runs it."""
    path = Path(sys.executable).parent / "fetchpool"
    assert path.exists(), f"fetchpool is not installed next to {sys.executable}"
    return str(path)


@pytest.fixture
def clean_env() -> dict[str, str]:
    """The environment for subprocesses: no proxies."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def other_site() -> Iterator[TestSite]:
    """A second site: another host (host:port) beside `site`."""
    with TestSite() as s:
        yield s


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A URL whose connect hangs: a listening socket with a full accept queue drops SYNs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)  # fills the queue
    try:
        yield f"http://127.0.0.1:{port}/nothing"
    finally:
        filler.close()
        server.close()


# Runs a command with limits a test needs: a largest file size (a stand-in for a full disk),
# and, for root, without the capability that lets root write where permissions say no.
_LAUNCHER = """
import ctypes, os, resource, sys
fsize, drop_dac, argv = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3:]
if fsize:
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
if drop_dac and os.geteuid() == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, out of the bounding set
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            sys.exit(99)
os.execv(argv[0], argv)
"""
_CANNOT_LIMIT = 99


def _run_limited(
    argv: list[str],
    env: dict[str, str],
    *,
    max_file_size: int = 0,
    obey_permissions: bool = False,
) -> subprocess.CompletedProcess[str]:
    flags = [str(max_file_size), "1" if obey_permissions else "0"]
    proc = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *flags, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    if proc.returncode == _CANNOT_LIMIT:
        pytest.skip("cannot set the limits this test needs here")
    return proc


@pytest.fixture
def run_limited() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_limited(argv, env, max_file_size=N, obey_permissions=True)``: run ``argv``
    under those limits (for root too); skips the test where they cannot be set."""
    return _run_limited
