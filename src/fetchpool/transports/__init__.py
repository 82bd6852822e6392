"""Transports: one request in, one :class:`~fetchpool.core.outcome.Outcome` out.

- :mod:`.urllib3`: the blocking fetcher, a thread-safe urllib3 pool (the thread modes);
- :mod:`.aiohttp`: the asyncio fetcher, one aiohttp session (``async``);
- :mod:`.curl`: libcurl easy handles on one multi handle (``curl``);
- :mod:`.body`: the one body reader they all use (decode, count, cap, hand to the sink),
  with :mod:`.decode` (gzip/deflate in bounded steps);
- :mod:`.deadline`: the whole-request deadline and the watchdog for blocking sockets;
- :mod:`.resolve`: name lookups on a bounded pool of threads, waited for until the
  deadline at most (:mod:`.aioresolve`: the same pool as aiohttp's resolver);
- :mod:`.proxies`, :mod:`.request`: proxies from the environment; the headers sent.

Transports import no mode: a mode chooses a transport, never the other way round.
"""
