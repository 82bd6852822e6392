"""Fixtures: the built-in test site on an ephemeral port, and a clean environment."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fetchpool.site import TestSite

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only loopback is reachable; a proxy setting must not reroute the tests."""
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(scope="session")
def site() -> Iterator[TestSite]:
    with TestSite() as s:
        yield s


@pytest.fixture
def fresh_site(site: TestSite) -> TestSite:
    """The shared site with its request counters reset, once requests left over from
    earlier tests (e.g. a run interrupted mid-flight) have ended."""
    deadline = time.monotonic() + 10
    while site.in_flight and time.monotonic() < deadline:
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
