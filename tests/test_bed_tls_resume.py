"""Connections of the thread modes on the real-web bed, counted in nginx's access log: hosts
taking turns keep their connections; a new connection to a host seen before resumes the TLS
session of the last one (no full handshake)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bed import Bed

pytest_plugins = ["bed.plugin"]

FETCHPOOL = str(Path(sys.executable).parent / "fetchpool")
MODES = ["threadpool", "sequential", "to-thread", "threading"]


def _fetch(bed: Bed, tmp_path: Path, urls: list[str], args: list[str], nofile: int = 0) -> list:
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(u + "\n" for u in urls))
    mark = bed.mark()
    argv = [FETCHPOOL, "fetch", "-q", "--retries", "0", "--cacert", str(bed.ca_file), *args]
    if nofile:  # a lower limit on open files, which bounds the host pools kept
        argv = ["sh", "-c", f'ulimit -n {nofile} && exec "$@"', "sh", *argv]
    done = bed.run([*argv, str(listing)], timeout=120)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["status"] for r in records] == [200] * len(urls), records[:3]
    return bed.access_log(since=mark, wait_for=len(urls), timeout=30)


@pytest.mark.parametrize("mode", MODES)
def test_hosts_taking_turns_keep_their_connections(bed: Bed, tmp_path: Path, mode: str) -> None:
    # More hosts than the 2 pools 2 × concurrency / per-host once kept at -c 1
    hosts = min(len(bed.hosts), 6)
    urls = [bed.url(i % hosts, f"/page/{i}") for i in range(hosts * 3)]
    lines = _fetch(bed, tmp_path, urls, ["-m", mode, "-c", "1"])
    assert len({(x["host"], x["connection"]) for x in lines}) == hosts


@pytest.mark.parametrize("mode", MODES)
def test_a_new_connection_to_a_host_seen_before_resumes_its_session(
    bed: Bed, tmp_path: Path, mode: str
) -> None:
    # 32 open files at most: at most 16 host pools fit in half of them (4 of 4 connections,
    # or 16 of 1 in the sequential mode), so 20 hosts taking turns find their pool closed,
    # and each turn connects again (counted, not assumed)
    hosts = len(bed.hosts)
    if hosts <= 16:
        pytest.skip("needs a bed of more than 16 hosts")
    urls = [bed.url(i % hosts, f"/page/{i}") for i in range(hosts * 3)]
    lines = _fetch(bed, tmp_path, urls, ["-m", mode, "-c", "4", "--per-host", "4"], nofile=32)
    opened = [x for x in lines if x["connection_requests"] == "1"]  # a connection's first
    seen: set[str] = set()
    first, again = [], []
    for x in opened:
        (again if x["host"] in seen else first).append(x["ssl_session_reused"])
        seen.add(x["host"])
    assert len(first) == hosts and set(first) == {"."}, first  # a full handshake each
    assert len(again) >= hosts, len(again)  # connections were opened again...
    assert set(again) == {"r"}, again  # ...and every one resumed its host's session


def test_the_async_mode_resumes_sessions_too(bed: Bed, tmp_path: Path) -> None:
    # 32 open files: 16 idle connections kept at most, trimmed every 32 releases, so hosts
    # taking turns ten times find theirs closed now and then (counted, not assumed)
    hosts = len(bed.hosts)
    if hosts <= 16:
        pytest.skip("needs a bed of more than 16 hosts")
    urls = [bed.url(i % hosts, f"/page/{i}") for i in range(hosts * 10)]
    lines = _fetch(bed, tmp_path, urls, ["-m", "async", "-c", "4", "--per-host", "4"], nofile=32)
    opened = [x for x in lines if x["connection_requests"] == "1"]
    seen: set[str] = set()
    again = []
    for x in opened:
        if x["host"] in seen:
            again.append(x["ssl_session_reused"])
        seen.add(x["host"])
    assert len(again) >= 5, len(again)  # connections were opened again...
    assert set(again) == {"r"}, again  # ...and every one resumed its host's session
