"""A small copy of benchmarks/hostile.py: hostile lines mixed with good ones, in every mode,
through the installed command: one correct record per line, no password shown."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fetchpool import MODES
from fetchpool.testsite.hostile import HEADERS, hostile_input, problems
from fetchpool.testsite.site import TestSite


@pytest.mark.parametrize("mode", MODES)
def test_hostile_input_gives_one_correct_record_per_line(
    site: TestSite,
    other_site: TestSite,
    tmp_path: Path,
    fetchpool_bin: str,
    clean_env: dict[str, str],
    mode: str,
) -> None:
    data, expect = hostile_input(site.url("").rstrip("/"), other_site.url("").rstrip("/"), 40)
    source = tmp_path / "hostile.txt"
    source.write_bytes(data)
    argv = [fetchpool_bin, "fetch", "-q", "-m", mode, "--extract", "title", "--retries", "0"]
    for header in HEADERS:
        argv += ["-H", header]
    for output in ("out.jsonl", "out.sqlite"):
        out = tmp_path / output
        proc = subprocess.run(
            [*argv, "-o", str(out), str(source)],
            capture_output=True,
            text=True,
            env=clean_env,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert problems(records, expect) == []
