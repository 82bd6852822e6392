"""fetchpool: fetch many web pages at once and record what happened to every URL.

import fetchpool
for rec in fetchpool.fetch(["https://example.com", "https://example.org"]):
    print(rec.url, rec.status, rec.length, rec.error)
"""

__version__ = "0.1.0"

from .api import fetch, fetch_async
from .config import DEFAULT_CONCURRENCY, DEFAULT_MODE, MODES, Config
from .errors import FetchpoolError, OutputError, SourceError, UsageError
from .lesson.counter import Counter
from .records import ERROR_KINDS, Record

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MODE",
    "ERROR_KINDS",
    "MODES",
    "Config",
    "Counter",
    "FetchpoolError",
    "OutputError",
    "Record",
    "SourceError",
    "UsageError",
    "__version__",
    "fetch",
    "fetch_async",
]
