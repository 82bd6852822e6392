"""The inside of one worker process of the ``processes`` mode.

The worker runs the ``async`` fetcher on its own event loop, with as many fetches at once
as it is sent URLs (the parent keeps the total within ``concurrency``). Messages on the two
pipes it is given:

* parent -> worker: a list of URLs to fetch, or None: "no more; finish and exit".
* worker -> parent: a list of finished records, each packed as a tuple of field values;
  the first list, empty, says the worker has started and can take URLs.

The worker never decides what to fetch: it fetches what it is sent, so the parent knows
at every moment which URLs each worker holds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any

from ..config import Config
from ..records import FIELDS, Record
from ._aiohttp import AsyncFetcher

__all__ = ["main", "pack", "unpack"]

Packed = tuple[Any, ...]


def pack(record: Record) -> Packed:
    """A record as a plain tuple: half the bytes of a pickled dataclass."""
    return tuple(getattr(record, name) for name in FIELDS)


def unpack(values: Packed) -> Record:
    return Record(*values)


def main(inbox: Connection, outbox: Connection, config: dict[str, Any]) -> None:
    """The worker process's entry point. ``config``: keyword arguments for Config."""
    # Ctrl-C in a terminal reaches the whole process group; only the parent decides
    # what to do about it (it writes what finished, then ends the workers).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve(inbox, outbox, Config(**config)))


async def _serve(inbox: Connection, outbox: Connection, config: Config) -> None:
    loop = asyncio.get_running_loop()
    todo: asyncio.Queue[str | None] = asyncio.Queue()  # bounded by the parent
    finished: list[Record] = []
    changed = asyncio.Event()

    def deliver(message: list[str] | None) -> None:
        if message is None:
            for _ in range(config.concurrency):
                todo.put_nowait(None)
        else:
            for url in message:
                todo.put_nowait(url)

    def read() -> None:
        # A thread, so that waiting for URLs never stalls the fetches on the loop.
        while True:
            try:
                message = inbox.recv()
            except (EOFError, OSError):
                os._exit(0)  # the parent is gone: no one is left to take records
            loop.call_soon_threadsafe(deliver, message)
            if message is None:
                return

    async def work(fetcher: AsyncFetcher) -> None:
        try:
            while (url := await todo.get()) is not None:
                finished.append(await fetcher.fetch(url))
                changed.set()
        finally:
            changed.set()

    async def send(batch: list[Packed]) -> None:
        # From a thread: a parent slow to read must not stall the fetches in flight.
        try:
            await loop.run_in_executor(None, outbox.send, batch)
        except OSError:
            os._exit(0)  # the parent is gone

    threading.Thread(target=read, name="fetchpool-inbox", daemon=True).start()
    async with AsyncFetcher(config) as fetcher:
        workers = [asyncio.create_task(work(fetcher)) for _ in range(config.concurrency)]
        await send([])  # ready for URLs
        while True:
            await changed.wait()
            changed.clear()
            if finished:
                batch = [pack(r) for r in finished]
                finished.clear()
                await send(batch)  # records finishing meanwhile go in the next batch
            if all(w.done() for w in workers) and not finished:
                break
        await asyncio.gather(*workers)  # a failed worker is a bug: let it show
    outbox.close()
