"""The resolver's bookkeeping (fetchpool.transports.resolve), with a fake lookup function
that blocks until the test lets it go: the cache, shared lookups, abandoning at the
deadline, the thread bound. Real lookups are the bed's (tests/test_bed_modes.py)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from fetchpool.transports.resolve import (
    Address,
    LookupTimedOut,
    Resolver,
    is_ip_literal,
    pool_size,
)


class FakeLookup:
    """Answers 10.0.0.1 for every name but ``bad*`` (gaierror), once its gate is open."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.gates: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def gate(self, host: str) -> threading.Event:
        with self._lock:
            return self.gates.setdefault(host, threading.Event())

    def __call__(self, host: str) -> list[Address]:
        with self._lock:
            self.calls.append(host)
        assert self.gate(host).wait(30), "the test never let the lookup go"
        if host.startswith("bad"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, "10.0.0.1")]


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.005)


def test_answers_are_cached_for_the_run_and_failures_are_not() -> None:
    fake = FakeLookup()
    resolver = Resolver(4, fake)
    fake.gate("a.test").set()
    fake.gate("bad.test").set()
    assert resolver.submit("a.test").result(10) == [(socket.AF_INET, "10.0.0.1")]
    assert resolver.cached("A.test") == [(socket.AF_INET, "10.0.0.1")]
    assert resolver.submit("A.TEST").result(10) == [(socket.AF_INET, "10.0.0.1")]
    for _ in range(2):
        with pytest.raises(socket.gaierror):
            resolver.submit("bad.test").result(10)
    assert fake.calls.count("a.test") == 1 and fake.calls.count("bad.test") == 2
    assert resolver.cached("bad.test") is None


def test_callers_of_one_name_share_its_lookup_and_may_abandon_it_alone() -> None:
    fake = FakeLookup()
    resolver = Resolver(4, fake)
    first, second = resolver.submit("a.test"), resolver.submit("a.test")
    until(lambda: fake.calls == ["a.test"], "the lookup began")
    assert first.cancel()  # the first caller gives up: the second still waits
    fake.gate("a.test").set()
    assert second.result(10) == [(socket.AF_INET, "10.0.0.1")]
    assert fake.calls == ["a.test"]


def test_a_lookup_is_abandoned_at_the_deadline_and_its_thread_ends_later() -> None:
    fake = FakeLookup()
    resolver = Resolver(4, fake)
    with pytest.raises(LookupTimedOut):
        resolver.resolve("dead.test", at=time.monotonic() + 0.05)
    assert resolver.threads == 1  # still blocked in the lookup, abandoned
    threads = [t for t in threading.enumerate() if t.name == "fetchpool-lookup"]
    assert threads and all(t.daemon for t in threads)  # the run never waits for it
    fake.gate("dead.test").set()
    until(lambda: resolver.threads == 0, "the abandoned lookup's thread ended")
    assert resolver.cached("dead.test") is not None  # a late answer still serves the run


def test_threads_are_bounded_and_queued_lookups_wait_for_a_free_one() -> None:
    fake = FakeLookup()
    resolver = Resolver(2, fake)
    futures = {host: resolver.submit(host) for host in ("a.test", "b.test", "c.test")}
    until(lambda: len(fake.calls) == 2, "two lookups began")
    assert resolver.threads == 2 and fake.calls == ["a.test", "b.test"]
    fake.gate("a.test").set()  # a thread is free: the queued lookup gets it
    assert futures["a.test"].result(10)
    until(lambda: "c.test" in fake.calls, "the queued lookup began")
    fake.gate("b.test").set()
    fake.gate("c.test").set()
    assert futures["c.test"].result(10) and futures["b.test"].result(10)
    until(lambda: resolver.threads == 0, "idle threads ended")


def test_a_queued_lookup_nobody_waits_for_any_more_is_never_made() -> None:
    fake = FakeLookup()
    resolver = Resolver(1, fake)
    held = resolver.submit("a.test")
    until(lambda: fake.calls == ["a.test"], "the first lookup began")
    queued = resolver.submit("b.test")
    assert queued.cancel()
    fake.gate("a.test").set()
    assert held.result(10)
    until(lambda: resolver.threads == 0, "the thread ended")
    assert fake.calls == ["a.test"]


def test_pool_size_leaves_room_for_abandoned_lookups() -> None:
    assert pool_size(64) > 2 * 64 and pool_size(1) > 2
    with pytest.raises(ValueError, match="threads"):
        Resolver(0)


@pytest.mark.parametrize(
    ("host", "literal"),
    [("h1.test", False), ("127.0.0.1", True), ("::1", True), ("[::1]", True), ("1.test", False)],
)
def test_addresses_need_no_lookup(host: str, literal: bool) -> None:
    assert is_ip_literal(host) is literal
