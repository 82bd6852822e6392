"""The issue's "done when", run as a test: 1,000 good URLs mixed with every fault (three
of each) and a slow host, in every mode, through the installed command. benchmarks/soak.py
does the work and prints the same numbers when run by hand."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from fetchpool import MODES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _soak() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"
    spec = importlib.util.spec_from_file_location("fetchpool_soak", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mode", MODES)
def test_a_thousand_urls_with_every_fault(
    fetchpool_bin: str, mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    soak = _soak()
    soak.bomb_body()
    r = soak.run_mode(mode, 1000, fetchpool_bin, tmp_path)
    with capsys.disabled():
        print(
            f"\n[soak] {mode}: {r.urls} URLs in {r.wall:.1f} s (budget {r.budget:.1f} s), "
            f"{len(r.wrong)} wrong, peak RSS {r.peak_rss_mb:.0f} MB, peak in flight per host "
            f"{max(r.host_peaks)} (limit {soak.PER_HOST}), most starts in 1 s "
            f"{r.max_starts_per_s} (limit {soak.RATE:g})"
        )
    assert r.code == 0 and not r.traceback
    assert r.wrong == [], "every URL has exactly one correct record"
    assert r.urls > 1000
    assert r.wall <= r.budget
    assert r.peak_rss_mb < 300
    assert max(r.host_peaks) <= soak.PER_HOST
    assert r.max_starts_per_s <= soak.RATE * 1.1 + 5  # measured at the servers: some jitter
    assert r.ok
