"""The inside of one worker process of the ``processes`` mode.

The worker runs the ``async`` engine through the normal path (:func:`fetchpool.modes.run`),
so its own scheduler applies the whole policy (limits, retries, redirects, deadlines) and its
body sinks (``--save-dir``, ``--extract``) run here, where the bodies are read. Its input is
the URLs the parent sends. Messages on the two pipes it is given:

* parent -> worker: a list of URLs to fetch, or None: "no more; finish and exit", or
  ``("knob", paused, concurrency)``: the worker's share of a steered run's limit (see
  :mod:`fetchpool.knob`), applied to its own scheduler.
* worker -> parent: ``("records", [packed, ...])``, finished records each packed as a tuple
  of field values (the first, empty, says the worker has started and can take URLs); or
  ``("failed", kind, message)``: the run must stop (a body sink failed, or a bug), after
  which the worker exits.

The worker never decides what to fetch: it fetches what it is sent, so the parent knows
at every moment which URLs each worker holds.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from ..config import Config
from ..errors import BodiesError, OutputError
from ..knob import Knob
from ..records import FIELDS, Record

__all__ = ["Packed", "main", "pack", "unpack"]

Packed = tuple[Any, ...]
_END = object()


def pack(record: Record) -> Packed:
    """A record as a plain tuple: half the bytes of a pickled dataclass."""
    return tuple(getattr(record, name) for name in FIELDS)


def unpack(values: Packed) -> Record:
    return Record(*values)


def main(inbox: Connection, outbox: Connection, config: dict[str, Any]) -> None:
    """The worker process's entry point. ``config``: keyword arguments for Config."""
    # Ctrl-C in a terminal reaches the whole process group, as do a closed terminal's SIGHUP
    # and systemd's SIGTERM (to the whole control group); only the parent decides what to
    # do about them (it takes what the workers finished, writes it, then ends the workers).
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    from ..modes import run

    # A knob of its own when the parent's run is steered (its share of the pause and the limit).
    knob = Knob(config["concurrency"]) if config.pop("steered", False) else None
    cfg = Config(**{**config, "knob": knob})
    check: Callable[[], None] | None = getattr(cfg.body_sink, "check", None)
    todo: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
    out: queue.SimpleQueue[object] = queue.SimpleQueue()

    def read() -> None:
        # A thread, so that a message from the parent is taken as soon as it arrives.
        finishing = False
        while True:
            try:
                message = inbox.recv()
            except (EOFError, OSError):
                if finishing:
                    return  # knob messages may come until the end; no more now
                os._exit(0)  # the parent is gone: no one is left to take records
            if isinstance(message, tuple):  # ("knob", paused, concurrency)
                _, paused, share = message
                assert knob is not None
                knob.set_concurrency(share)
                if paused:
                    knob.pause()
                else:
                    knob.resume()
                continue
            todo.put(message)
            if message is None:
                if knob is None:
                    return
                finishing = True  # no more URLs, but the knob may still turn

    def send() -> None:
        # A thread: records finished meanwhile go out together, and a parent slow to read
        # never stalls the fetches.
        while True:
            item = out.get()
            batch: list[Packed] = []
            while True:
                if item is _END or (isinstance(item, tuple) and item[0] == "failed"):
                    if batch:
                        _send(outbox, ("records", batch))
                    if item is not _END:
                        _send(outbox, item)
                    return
                assert isinstance(item, Record)
                batch.append(pack(item))
                try:
                    item = out.get_nowait()
                except queue.Empty:
                    break
            _send(outbox, ("records", batch))

    def urls() -> Iterator[str]:
        # The parent keeps more URLs here than the engine reads ahead, so this waits only
        # while records are on their way back to the parent (which then sends more).
        while (message := todo.get()) is not None:
            yield from message

    threading.Thread(target=read, name="fetchpool-inbox", daemon=True).start()
    sender = threading.Thread(target=send, name="fetchpool-outbox")
    sender.start()
    _send(outbox, ("records", []))  # ready for URLs
    try:
        for record in run(urls(), cfg):
            if check is not None:
                check()  # a body lost: never hand on this record
            out.put(record)
    except OutputError as exc:
        kind = "bodies" if isinstance(exc, BodiesError) else "output"
        out.put(("failed", kind, str(exc)))
    except Exception as exc:  # a bug: the parent reports it, it is not lost here
        out.put(("failed", "internal", f"{type(exc).__name__}: {exc}"))
    else:
        out.put(_END)
    sender.join()
    outbox.close()


def _send(outbox: Connection, message: object) -> None:
    try:
        outbox.send(message)
    except OSError:
        os._exit(0)  # the parent is gone
