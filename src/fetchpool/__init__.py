"""fetchpool: fetch many web pages at once and record what happened to every URL.

import fetchpool
for rec in fetchpool.fetch(["https://example.com", "https://example.org"]):
    print(rec.url, rec.status, rec.length, rec.error)

# The whole pipeline (outputs, --resume, --save-dir, the summary), as `fetchpool fetch` runs it:
summary = fetchpool.run(fetchpool.open_sources(["urls.txt"]), output="out.sqlite", resume=True)
"""

__version__ = "0.1.0"

from .api import fetch, fetch_async
from .config import DEFAULT_CONCURRENCY, DEFAULT_MODE, MODES, Config, Settings
from .errors import FetchpoolError, OutputError, SourceError, UsageError
from .input.sources import Sources, open_sources
from .knob import Knob
from .pipeline import Interrupted, run
from .records import ERROR_KINDS, Record
from .stats import Stats, Summary

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MODE",
    "ERROR_KINDS",
    "MODES",
    "Config",
    "Counter",
    "FetchpoolError",
    "Interrupted",
    "Knob",
    "OutputError",
    "Record",
    "Settings",
    "SourceError",
    "Sources",
    "Stats",
    "Summary",
    "UsageError",
    "__version__",
    "fetch",
    "fetch_async",
    "open_sources",
    "run",
]


def __getattr__(name: str) -> object:
    # The lesson's Counter, imported when asked for: `import fetchpool` loads nothing of
    # the lesson (nor prompt_toolkit).
    if name == "Counter":
        from .lesson.counter import Counter

        return Counter
    raise AttributeError(f"module 'fetchpool' has no attribute {name!r}")
