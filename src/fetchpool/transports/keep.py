"""How many connections a run keeps open, idle or busy, in the curl and async modes.

Hosts that take turns (a list over thousands of hosts, each coming round again after the
others) find their connection still open only if there are as many kept as hosts in the
cycle; with fewer, every turn opens a new connection and pays a TLS handshake.
"""

from __future__ import annotations

from typing import Final

__all__ = ["KEEP_CONNECTIONS", "SELECT_KEEPS", "kept_connections"]

#: Connections kept open at least, whatever the concurrency.
KEEP_CONNECTIONS: Final = 2048
#: Connections libcurl's select path keeps at most: every socket must stay numbered below
#: 1024 (FD_SETSIZE), which select cannot watch, with room for the process's other files.
SELECT_KEEPS: Final = 960


def kept_connections(concurrency: int, *, select: bool = False) -> int:
    """At least :data:`KEEP_CONNECTIONS` and four per request in flight (libcurl's own
    default), within half the descriptors the process may open; with ``select``, four per
    request in flight within :data:`SELECT_KEEPS`. Never fewer than ``concurrency``."""
    if select:
        return max(concurrency, min(4 * concurrency, SELECT_KEEPS - concurrency))
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        soft = 1024
    budget = soft // 2 if soft > 0 else KEEP_CONNECTIONS
    return max(concurrency, min(max(4 * concurrency, KEEP_CONNECTIONS), budget))
