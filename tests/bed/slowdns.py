"""A DNS server that answers every name under a zone, after a delay: the "slow" resolver.

Run as a script inside the namespace: python slowdns.py ADDR PORT DELAY ZONE ANSWER_ADDR [LOG].
dnsmasq forwards the zone here. Answers carry TTL 0, so no cache keeps them.
Prints "ready" once bound. LOG gets a line per query, "TYPE NAME", so a benchmark can count
the lookups a client made.
"""

from __future__ import annotations

import asyncio
import sys
from typing import cast

from dnslib import QTYPE, RCODE, RR, A, DNSRecord


class Slow(asyncio.DatagramProtocol):
    def __init__(self, delay: float, zone: str, answer: str, log: str | None) -> None:
        self.delay, self.zone, self.answer = delay, zone.rstrip(".").lower(), answer
        self.log = open(log, "a", buffering=1) if log else None  # noqa: SIM115 - the server's life

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = DNSRecord.parse(data)
        except Exception:  # not DNS: drop, as a server would
            return
        reply = query.reply()
        name = str(query.q.qname).rstrip(".").lower()
        if self.log is not None:
            self.log.write(f"{QTYPE.get(query.q.qtype)} {name}\n")
        if name != self.zone and not name.endswith("." + self.zone):
            reply.header.rcode = RCODE.NXDOMAIN
        elif query.q.qtype == QTYPE.A:
            reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A(self.answer), ttl=0))
        # other types: NOERROR with no answer (NODATA), also after the delay
        asyncio.get_running_loop().call_later(self.delay, self.transport.sendto, reply.pack(), addr)


async def main(addr: str, port: int, delay: float, zone: str, answer: str, log: str | None) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(
        lambda: Slow(delay, zone, answer, log), local_addr=(addr, port)
    )
    print("ready", flush=True)
    await asyncio.Event().wait()  # until SIGTERM


if __name__ == "__main__":
    a, p, d, z, ans = sys.argv[1:6]
    asyncio.run(main(a, int(p), float(d), z, ans, sys.argv[6] if len(sys.argv) > 6 else None))
