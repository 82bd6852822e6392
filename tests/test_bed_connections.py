"""Connections on the real-web bed, counted in nginx's access log: in the curl mode HTTP/2
streams share a connection to a host and a connection opened again resumes its TLS session;
in the curl and async modes hosts taking turns find their connection still open."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bed import Bed, unavailable

pytest_plugins = ["bed.plugin"]

FETCHPOOL = str(Path(sys.executable).parent / "fetchpool")


def _fetch(bed: Bed, tmp_path: Path, urls: list[str], *args: str) -> list[dict[str, str]]:
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(u + "\n" for u in urls))
    mark = bed.mark()
    argv = [FETCHPOOL, "fetch", "-q", "--retries", "0", "--cacert", str(bed.ca_file)]
    done = bed.run([*argv, *args, str(listing)], timeout=120)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["status"] for r in records] == [200] * len(urls), records[:3]
    return bed.access_log(since=mark, wait_for=len(urls), timeout=30)


def _connections(lines: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(x["host"], x["connection"]) for x in lines}


def test_streams_to_one_host_share_a_connection(bed: Bed, tmp_path: Path) -> None:
    urls = [bed.url(7, f"/page/{i}") for i in range(200)]
    lines = _fetch(bed, tmp_path, urls, "-c", "32", "--per-host", "32")
    assert {x["server_protocol"] for x in lines} == {"HTTP/2.0"}
    # 32 in flight at once, on one or two connections (not one per transfer: 32)
    assert len(_connections(lines)) <= 2, sorted(_connections(lines))


def test_hosts_taking_turns_keep_their_connections(bed: Bed, tmp_path: Path) -> None:
    hosts = len(bed.hosts)
    urls = [bed.url(i % hosts, f"/page/{i}") for i in range(hosts * 6)]
    lines = _fetch(bed, tmp_path, urls, "-c", str(max(1, hosts // 4)))
    # a connection per host, kept while the other hosts take their turns
    assert len(_connections(lines)) == hosts, len(_connections(lines))


@pytest.mark.parametrize("mode", ["curl", "async"])
def test_many_hosts_in_sight_keep_a_connection_each(bed: Bed, tmp_path: Path, mode: str) -> None:
    # 20 hosts taking turns, 2 in flight: more hosts than the 8 connections libcurl's select
    # path keeps for 2 in flight (the curl mode takes the epoll path), or than 2 kept idle
    hosts = len(bed.hosts)
    urls = [bed.url(i % hosts, f"/page/{i}") for i in range(hosts * 6)]
    lines = _fetch(bed, tmp_path, urls, "-m", mode, "-c", "2")
    assert len(_connections(lines)) == hosts, len(_connections(lines))


def _reopened(lines: list[dict[str, str]]) -> dict[tuple[str, str], str]:
    """``$ssl_session_reused`` of each connection a host opened after its first."""
    first: dict[str, str] = {}
    for x in lines:
        first.setdefault(x["host"], x["connection"])
    return {
        (x["host"], x["connection"]): x["ssl_session_reused"]
        for x in lines
        if x["connection"] != first[x["host"]]
    }


def test_a_connection_opened_again_resumes_its_tls_session(bed: Bed, tmp_path: Path) -> None:
    # a look-ahead of 2 shows few hosts, so 16 connections are kept for 4 in flight; with
    # 20 hosts taking turns each turn opens its host's connection again, on whichever of
    # the 4 handles is free
    hosts = len(bed.hosts)
    urls = [bed.url(i % hosts, f"/page/{i}") for i in range(hosts * 3)]
    lines = _fetch(bed, tmp_path, urls, "-c", "4", "--per-host", "1", "--lookahead", "2")
    assert len(_connections(lines)) > hosts  # connections were opened again
    new = _reopened(lines)
    assert new and set(new.values()) == {"r"}, new


@pytest.fixture(scope="module")
def hundred() -> Iterator[Bed]:
    """A bed of 100 hosts: more than one libcurl share keeps the TLS sessions of."""
    reason = unavailable()
    if reason:
        pytest.skip(f"test bed unavailable: {reason}")
    with Bed.start(hosts=100) as b:
        yield b


def test_connections_opened_again_to_a_hundred_hosts_resume_their_sessions(
    hundred: Bed, tmp_path: Path
) -> None:
    # As above, each host's turn opens its connection again; with 100 hosts taking turns a
    # single share's session cache (a few dozen peers) has forgotten the host every time
    hosts = len(hundred.hosts)
    urls = [hundred.url(i % hosts, f"/page/{i}") for i in range(hosts * 3)]
    lines = _fetch(hundred, tmp_path, urls, "-c", "4", "--per-host", "1", "--lookahead", "2")
    new = _reopened(lines)
    assert len(new) >= hosts  # connections were opened again, for every host
    full = [key for key, reused in new.items() if reused != "r"]
    assert not full, f"{len(full)} of {len(new)} connections opened again made a full handshake"
