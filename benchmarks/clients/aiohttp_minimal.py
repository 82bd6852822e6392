"""A minimal aiohttp client: N worker tasks over one session, bodies read and dropped.

Usage: python aiohttp_minimal.py URLS_FILE CONCURRENCY  -> prints the number of 200 responses.
No error handling, no records: the floor of what an asyncio client costs per page.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp


async def main(path: str, concurrency: int) -> int:
    with open(path) as fh:
        urls = iter([line.strip() for line in fh if line.strip()])
    ok = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal ok
            for url in urls:
                async with session.get(url) as resp:
                    await resp.read()
                    ok += resp.status == 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))
