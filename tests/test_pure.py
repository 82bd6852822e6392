"""Pure logic: records, config, URL checks, redirect decisions. No sockets."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fetchpool import ERROR_KINDS, Config, Record, UsageError
from fetchpool.config import USER_AGENT, parse_header
from fetchpool.core.redirects import redirect_target
from fetchpool.input.sources import url_lines
from fetchpool.records import FIELDS, error_record, response_record
from fetchpool.stats import Stats
from fetchpool.urls import check_url, invalid_record


def test_record_is_frozen_and_has_the_contract_fields() -> None:
    rec = Record(url="http://a/", status=200, length=5, elapsed=0.1)
    assert FIELDS[:5] == ("url", "status", "length", "elapsed", "error")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.status = 404  # type: ignore[misc]
    assert rec.ok and rec.error_kind is None


def test_error_record_is_one_line_with_a_known_kind() -> None:
    rec = error_record("x", "connect", "refused\nby peer\t now")
    assert rec.error == "connect: refused by peer now"
    assert rec.error_kind == "connect" and not rec.ok and rec.status is None
    with pytest.raises(ValueError, match="unknown error kind"):
        error_record("x", "nonsense", "d")
    assert "invalid-url" in ERROR_KINDS and "timeout" in ERROR_KINDS


def test_http_error_status_is_data_not_an_error() -> None:
    rec = Record(url="u", status=503, length=0)
    assert rec.error is None and not rec.ok


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "warp"}, "unknown mode"),
        ({"concurrency": 0}, "at least 1"),
        ({"concurrency": -3}, "at least 1"),
        ({"concurrency": 2.5}, "whole number"),
        ({"timeout": 0}, "timeout"),
        ({"max_redirects": -1}, "max_redirects"),
        ({"max_bytes": -1}, "max_bytes"),
    ],
)
def test_config_rejects_bad_values_naming_them(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Config(**kwargs)  # type: ignore[arg-type]


def test_config_headers_user_agent_default_and_override() -> None:
    assert Config().headers["User-Agent"] == USER_AGENT
    cfg = Config(headers={"user-agent": "me/1", "X-A": "b"})
    assert dict(cfg.headers) == {"user-agent": "me/1", "X-A": "b"}


def test_parse_header() -> None:
    assert parse_header("X-Token:  abc ") == ("X-Token", "abc")
    assert parse_header("Accept: a: b") == ("Accept", "a: b")
    for bad in ("nocolon", ": v", "Bad Name: v"):
        with pytest.raises(UsageError):
            parse_header(bad)


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "http://",
        "ftp://host/x",
        "http://exa mple.com",
        "example.com",
        "https://host:99999/",
        "http://host:0/",
        "http://[::zz]/",
        "",
        "http://a..b/",
    ],
)
def test_check_url_rejects(url: str) -> None:
    assert check_url(url) is not None
    rec = invalid_record(url)
    assert rec is not None and rec.error is not None and rec.error.startswith("invalid-url: ")


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "https://example.com:8443/a?b=c#d",
        "HTTP://EXAMPLE.COM/",
        "http://[::1]:8/",
    ],
)
def test_check_url_accepts(url: str) -> None:
    assert check_url(url) is None


@given(st.text())
def test_check_url_never_raises(text: str) -> None:
    assert check_url(text) is None or isinstance(check_url(text), str)


@given(st.lists(st.text()))
def test_url_lines_skips_only_blank_and_comment_lines(lines: list[str]) -> None:
    got = list(url_lines(lines))
    expected = [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]
    assert got == expected


def test_redirect_target_follows_relative_and_stops_loops() -> None:
    seen = {"http://a/x"}
    assert redirect_target("http://a/x", "/y#frag", seen, 10) == ("http://a/y", None)
    nxt, why = redirect_target("http://a/y", "http://a/x", seen, 10)
    assert nxt is None and why is not None and "loop" in why


def test_redirect_target_refuses_other_schemes_and_too_many() -> None:
    nxt, why = redirect_target("http://a/", "file:///etc/passwd", {"http://a/"}, 10)
    assert nxt is None and why is not None and "file" in why
    seen = {f"http://a/{i}" for i in range(3)}
    nxt, why = redirect_target("http://a/2", "/3", seen, 2)
    assert nxt is None and why is not None and "more than 2" in why


def test_stats_counts_classes_and_errors() -> None:
    stats = Stats()
    for rec in (
        Record(url="a", status=200, length=10),
        Record(url="b", status=404, length=3),
        error_record("c", "timeout", "slow"),
    ):
        stats.add(rec)
    assert (stats.done, stats.ok, stats.failed, stats.bytes) == (3, 1, 2, 13)
    text = stats.summary(1.5)
    assert "3 URLs" in text and "2xx 1" in text and "4xx 1" in text and "timeout 1" in text


@given(
    url=st.text(),
    status=st.none() | st.integers(100, 599),
    length=st.none() | st.integers(0, 10**12),
    elapsed=st.floats(0, 1e6),
    final_url=st.text(),
    content_type=st.none() | st.text(),
    attempts=st.integers(0, 100),
)
def test_response_record_is_the_dataclass_record(
    url: str,
    status: int | None,
    length: int | None,
    elapsed: float,
    final_url: str,
    content_type: str | None,
    attempts: int,
) -> None:
    made = response_record(url, status, length, elapsed, final_url, content_type, attempts)
    expected = Record(
        url=url, status=status, length=length, elapsed=elapsed, final_url=final_url,
        content_type=content_type, attempts=attempts,
    )  # fmt: skip
    # Field by field (every field set: a new one must be set there too), then as a whole.
    assert [getattr(made, f) for f in FIELDS] == [getattr(expected, f) for f in FIELDS]
    assert type(made) is Record and made == expected and hash(made) == hash(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.status = 1  # type: ignore[misc]
