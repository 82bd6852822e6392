"""The benchmark's defaults, apart so that building the command line imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULTS"]


@dataclass(frozen=True, slots=True)
class _Defaults:
    pages: int = 50  # the lesson downloads a handful; 50 makes the ratios clear
    delay_ms: int = 500  # the lesson's time.sleep(0.5) per page
    concurrency: int = 10
    polite_concurrency: int = 4  # on real sites: at most this many at once, to any host
    rounds: int = 100  # parses per page in --cpu: about 2-3 s sequential on a laptop core


DEFAULTS: Final = _Defaults()
