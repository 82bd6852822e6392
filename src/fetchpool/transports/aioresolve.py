"""aiohttp's name lookups on a :class:`~.resolve.Resolver`, the pool every mode uses.

aiohttp's own ThreadedResolver runs ``getaddrinfo`` in the event loop's default executor,
a handful of threads sized for the cores: a few names whose server never answers fill it
for the system resolver's whole timeout, and every other lookup waits behind them. Here a
lookup waits on the resolver's own threads; a cancelled task (the attempt's
``asyncio.timeout``) abandons only its own wait, and a lookup nobody waits for any more is
dropped from the queue.
"""

from __future__ import annotations

import asyncio
import socket

from aiohttp.abc import AbstractResolver, ResolveResult

from .resolve import Resolver

__all__ = ["PoolResolver"]

_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class PoolResolver(AbstractResolver):
    """An aiohttp resolver asking ``resolver`` (which outlives it: closing does nothing)."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = self._resolver.cached(host)
        try:
            if found is None:
                found = await asyncio.wrap_future(self._resolver.submit(host))
        except socket.gaierror as exc:
            # As aiohttp's own resolvers: an OSError, which the connector reports as a
            # ClientConnectorDNSError.
            raise OSError(exc.errno, f"cannot resolve {host}: {exc.strerror}") from exc
        results = [
            ResolveResult(
                hostname=host, host=address, port=port, family=af, proto=0, flags=_NUMERIC
            )
            for af, address in found
            if family in (socket.AF_UNSPEC, af)
        ]
        if not results:
            raise OSError(socket.EAI_NODATA, f"cannot resolve {host}: no address of that family")
        return results

    async def close(self) -> None:
        pass
