"""The sans-I/O core every mode shares: which request starts next and what a finished one
leads to.

- :mod:`.scheduler`: every limit (concurrency, per host, rate, host rate), retries,
  redirects, the 429 slow-down; :mod:`.limits`, :mod:`.retry`, :mod:`.redirects`,
  :mod:`.robots` (``--robots``): the plain arithmetic and decisions behind it;
- :mod:`.outcome`: the one-method fetcher interface (``get(url, timeout) -> Outcome``)
  and :class:`~.outcome.FakeFetcher`, which answers from a function;
- :mod:`.drive`: the loop around the scheduler, blocking and asyncio.

The core imports no transport and no mode (an import-linter contract keeps it so).
"""
