"""The pipeline as a library call (fetchpool.run) and each setting declared once: the
library's keywords and the command line's flags are Config's fields."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import sqlite3
import typing
from pathlib import Path

import pytest

import fetchpool
from fetchpool import Config, OutputError, Settings, Summary, UsageError
from fetchpool.bodies.hook import BodySink
from fetchpool.cli import build_parser
from fetchpool.cli.fetch import NOT_FLAGS, config_from_args
from fetchpool.records import Record
from fetchpool.testsite.site import TestSite, page_body

# -- each setting once ---------------------------------------------------------------------


def test_settings_are_the_fields_of_config_with_their_types() -> None:
    fields = {f.name for f in dataclasses.fields(Config)}
    assert set(Settings.__annotations__) == fields
    hints = typing.get_type_hints(Settings)
    config_hints = typing.get_type_hints(Config)
    for name in fields - {"extract"}:  # extract is parsed from text or a list
        assert hints[name] == config_hints[name], name


@pytest.mark.parametrize("call", [fetchpool.fetch, fetchpool.fetch_async, fetchpool.run])
def test_library_calls_take_every_setting(call: typing.Callable[..., object]) -> None:
    settings = typing.get_type_hints(call)["settings"]
    assert typing.get_origin(settings) is typing.Unpack, settings
    assert typing.get_args(settings) == (Settings,)


def _fetch_options() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {action.dest: action for action in sub.choices["fetch"]._actions}


def test_every_config_field_has_its_fetch_flag_with_the_same_default() -> None:
    options = _fetch_options()
    defaults = Config()
    for field in dataclasses.fields(Config):
        if field.name in NOT_FLAGS:
            continue
        assert field.name in options, f"no fetchpool fetch flag sets Config.{field.name}"
        flag_default = options[field.name].default
        if field.name == "headers":
            assert flag_default == [] and defaults.headers == {"User-Agent": fetchpool_ua()}
        elif field.name == "extract":
            assert flag_default == "" and defaults.extract == ()
        else:
            assert flag_default == getattr(defaults, field.name), field.name


def fetchpool_ua() -> str:
    return f"fetchpool/{fetchpool.__version__}"


def test_flags_become_the_config() -> None:
    flags = ["-m", "async", "-c", "7", "--per-host", "3", "-H", "X-A: b", "--lookahead", "9"]
    flags += ["--extract", "title", "--rate", "5", "--max-bytes", "100", "--timeout", "4"]
    args = build_parser().parse_args(["fetch", *flags])
    cfg = config_from_args(args)
    assert (cfg.mode, cfg.concurrency, cfg.per_host, cfg.lookahead) == ("async", 7, 3, 9)
    assert (cfg.extract, cfg.rate, cfg.max_bytes, cfg.timeout) == (("title",), 5.0, 100, 4.0)
    assert cfg.headers["X-A"] == "b"


def test_config_and_settings_together_are_refused() -> None:
    with pytest.raises(UsageError, match="not both"):
        list(fetchpool.fetch([], config=Config(), timeout=3))


def test_settings_missing_from_the_old_api_now_work(site: TestSite) -> None:
    urls = [site.url(f"/page/{i}") for i in range(6)]
    recs = list(
        fetchpool.fetch(urls, mode="threadpool", lookahead=2, trust_env=False, concurrency=2)
    )
    assert sorted(r.status or 0 for r in recs) == [200] * 6


# -- fetchpool.run -------------------------------------------------------------------------


def test_run_writes_sqlite_and_returns_the_summary(site: TestSite, tmp_path: Path) -> None:
    out = tmp_path / "out.sqlite"
    urls = [site.url(f"/page/{i}") for i in range(20)] + [site.url("/status/404"), "nope"]
    summary = fetchpool.run(urls + urls[:3], output=out, concurrency=4)
    assert isinstance(summary, Summary)
    assert (summary.stats.done, summary.stats.ok, summary.repeated) == (22, 20, 3)
    assert summary.stats.by_error == {"invalid-url": 1}
    with sqlite3.connect(out) as db:
        assert db.execute("select count(*), count(distinct url) from results").fetchone() == (
            22,
            22,
        )
    db.close()
    assert "22 URLs in" in str(summary)


def test_run_resumes_an_output(site: TestSite, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    first = [site.url(f"/page/{i}") for i in range(10)]
    fetchpool.run(first, output=out)
    with pytest.raises(UsageError, match="already exists"):
        fetchpool.run(first, output=out)
    more = first + [site.url(f"/page/{i}") for i in range(10, 15)]
    summary = fetchpool.run(more, output=out, resume=True)
    assert (summary.stats.done, summary.already_done) == (5, 10)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["url"] for r in lines) == sorted(more)
    assert "10 already in" in str(summary)


def test_run_saves_bodies_and_stops_on_a_body_it_cannot_keep(
    site: TestSite, tmp_path: Path
) -> None:
    saved = tmp_path / "bodies"
    stdout = io.StringIO()
    summary = fetchpool.run([site.url("/page/3")], save_dir=saved, stdout=stdout)
    rec = json.loads(stdout.getvalue())
    assert summary.stats.ok == 1
    assert Path(rec["path"]).read_bytes() == page_body(3)

    class Failing:
        """A sink factory that keeps a failure, as SaveDir does on a full disk."""

        failure = OSError(28, "No space left on device")

        def __call__(self, url: str, content_type: str | None) -> BodySink:
            from fetchpool.bodies.hook import no_sink

            return no_sink(url, content_type)

        def check(self) -> None:
            raise OutputError(f"cannot save bodies: {self.failure.strerror}")

    out = tmp_path / "x.jsonl"
    with pytest.raises(OutputError, match="No space left"):
        fetchpool.run([site.url("/page/1")], output=out, body_sink=Failing(), mode="sequential")
    assert out.read_text() == ""  # the record whose body was lost is never written


def test_run_reads_command_line_sources(site: TestSite, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(site.url(f"/page/{i}") + "\n" for i in range(5)))
    stdin = io.StringIO(site.url("/page/99") + "\n")
    stdout = io.StringIO()
    sources = fetchpool.open_sources([str(listing), "-"], stdin=stdin)
    summary = fetchpool.run(sources, stdout=stdout)
    assert summary.stats.done == 6
    assert len(stdout.getvalue().splitlines()) == 6


def test_run_with_a_missing_source_file_fails_before_anything() -> None:
    with pytest.raises(fetchpool.SourceError, match="no such file"):
        fetchpool.open_sources(["/nonexistent/urls.txt"])


def test_an_output_error_keeps_its_cause(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as caught:
        fetchpool.run([], output=tmp_path / "no" / "such" / "dir.jsonl")
    assert isinstance(caught.value.__cause__, OSError)


def test_interrupted_is_a_keyboard_interrupt_with_the_summary() -> None:
    summary = Summary(stats=fetchpool.Stats(), wall=1.0, interrupted=True)
    stop = fetchpool.Interrupted(summary)
    assert isinstance(stop, KeyboardInterrupt)
    assert stop.summary is summary
    assert "(interrupted)" in str(summary)


def test_record_is_the_same_in_run_and_fetch(site: TestSite) -> None:
    stdout = io.StringIO()
    url = site.url("/page/5")
    fetchpool.run([url], stdout=stdout, mode="async")
    (streamed,) = fetchpool.fetch([url], mode="async")
    written = json.loads(stdout.getvalue())
    assert isinstance(streamed, Record)
    assert (written["status"], written["length"]) == (streamed.status, streamed.length)
