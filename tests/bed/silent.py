"""Listeners that accept and never answer: a TLS server that never says hello, a DNS
server that swallows queries.

Run as a script inside the namespace: python silent.py tcp:ADDR:PORT udp:ADDR:PORT ...
TCP connections are accepted (the client's connect succeeds) and held open, their bytes
read and dropped so the client's writes never block; UDP datagrams are dropped.
Prints "ready" once every socket is bound.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the script runs alone, without the package
    from .proc import Proc


async def _swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.read(65536):
            pass
    except OSError:
        pass
    writer.close()


class _Drop(asyncio.DatagramProtocol):
    pass


async def main(specs: list[str]) -> None:
    loop = asyncio.get_running_loop()
    servers = []
    for spec in specs:
        kind, addr, port = spec.split(":")
        if kind == "tcp":
            servers.append(await asyncio.start_server(_swallow, addr, int(port), backlog=1024))
        else:
            await loop.create_datagram_endpoint(_Drop, local_addr=(addr, int(port)))
    print("ready", flush=True)
    await asyncio.Event().wait()  # until SIGTERM


def launch(ns: str, work: Path) -> Proc:
    """The silent TLS host (80 and 443) and the dead DNS server (UDP and TCP 53)."""
    from . import layout, proc

    quiet = layout.FAULT_ADDRS[layout.SILENT]
    specs = [
        f"tcp:{quiet}:80",
        f"tcp:{quiet}:443",
        f"udp:{layout.DEAD_DNS}:53",
        f"tcp:{layout.DEAD_DNS}:53",
    ]
    return proc.start(
        ns, "silent", [sys.executable, __file__, *specs], work / "silent.log", pipe=True
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
