"""The loop every engine runs around the scheduler, in a blocking and an asyncio form.

An engine only says how requests run at once: a :class:`Runner` starts requests
(``submit``) and hands back finished ones (``collect``); the loop asks the scheduler what
to do next and hands each finished request back to it, which may give a record. The scheduler is
only ever touched by the thread (or the event loop) running this loop.

When the config has a :class:`~fetchpool.knob.Knob`, the loop reads it on every turn
(:class:`Steer`): a change of the pause or the concurrency goes to the scheduler, a stop
request ends the run as Ctrl-C does (KeyboardInterrupt, the finished records handed over
first), and no wait lasts longer than :data:`TICK`, so a change made while every request
is slow is seen at once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Protocol

from ..knob import Knob
from ..records import Record
from .outcome import Outcome
from .scheduler import Job, Scheduler, Wait

if TYPE_CHECKING:
    import asyncio  # imported where it runs: a blocking mode never loads asyncio

__all__ = ["TICK", "AsyncDriver", "Batches", "Finished", "Runner", "Steer", "drive"]

#: Longest wait, in seconds, of a loop steered by a knob before it looks at the knob again.
TICK = 0.1
_HOSTS_SHOWN = 8  # busiest hosts published to the knob

Finished = tuple[Job, Outcome]
#: What an asyncio engine hands over: records in batches, as URLs complete.
Batches = AsyncGenerator[list[Record], None]


class Runner(Protocol):
    def submit(self, job: Job) -> None:
        """Start a GET of ``job.target`` within ``job.time_left`` seconds."""

    def collect(self, timeout: float | None) -> list[Finished]:
        """Finished requests: wait for at least one, or ``timeout`` seconds (None: no limit)."""

    def drain(self) -> list[Finished]:
        """Requests already finished, without waiting (after an interrupt)."""


class Steer:
    """Applies a knob to a scheduler, once a turn of the loop (see the module doc)."""

    __slots__ = ("_knob", "_next_publish", "_scheduler", "_seen")

    def __init__(self, scheduler: Scheduler, knob: Knob) -> None:
        self._scheduler, self._knob = scheduler, knob
        self._seen = -1
        self._next_publish = 0.0

    def __call__(self) -> None:
        knob, scheduler = self._knob, self._scheduler
        if knob.version != self._seen:
            if knob.stopping:
                raise KeyboardInterrupt  # as Ctrl-C: the loop hands over what finished
            self._seen = knob.version
            scheduler.set_concurrency(knob.concurrency)
            scheduler.pause(knob.paused)

    def wait(self, seconds: float | None) -> float:
        """Before the loop waits (all that may start has started): what is in flight goes
        to the knob, and the wait is cut to TICK."""
        knob, scheduler = self._knob, self._scheduler
        knob.in_flight = scheduler.in_flight
        now = time.monotonic()
        if now >= self._next_publish:  # the busiest hosts: a few times a second is plenty
            self._next_publish = now + TICK
            knob.hosts(scheduler.busiest(_HOSTS_SHOWN))
        return TICK if seconds is None else min(seconds, TICK)


def drive(scheduler: Scheduler, runner: Runner) -> Generator[Record, None, None]:
    """Records as URLs complete. On Ctrl-C, records already finished are handed over first."""
    knob = scheduler.knob
    steer = None if knob is None else Steer(scheduler, knob)
    try:
        while True:
            if steer is not None:
                steer()
            step = scheduler.poll()
            if isinstance(step, Job):  # the most common step first
                runner.submit(step)
            elif step is None:
                return
            elif isinstance(step, Record):
                yield step
            else:
                wait = step.seconds if steer is None else steer.wait(step.seconds)
                for job, outcome in runner.collect(wait):
                    record = scheduler.finish(job, outcome)
                    if record is not None:
                        yield record
    except KeyboardInterrupt:
        for job, outcome in runner.drain():
            record = scheduler.finish(job, outcome)
            if record is not None:
                yield record
        raise


class AsyncDriver:
    """The same loop on an event loop: one task per request, at most ``concurrency`` at once.

    Finished attempts land in a list and wake the loop (no per-wakeup scan over every
    task). Records are handed over in batches: at most ``concurrency`` wait at once, and
    none are made while the consumer holds a batch, so memory does not grow with the input.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        get: Callable[[str, float, bool, str], Awaitable[Outcome]],
    ) -> None:
        self._scheduler = scheduler
        self._get = get
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished: list[Finished] = []
        self._wake: asyncio.Event | None = None
        self._batch = scheduler.concurrency  # invalid-URL records handed over at once
        knob = scheduler.knob
        self._steer = None if knob is None else Steer(scheduler, knob)

    async def _run(self, job: Job) -> None:
        import asyncio

        try:
            outcome = await self._get(job.target, job.time_left, job.foreign, job.url)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a fetcher must not lose the URL's record
            outcome = Outcome.failed("internal", f"{type(exc).__name__}: {exc}")
        self._finished.append((job, outcome))
        assert self._wake is not None
        self._wake.set()

    async def batches(self) -> Batches:
        """Records in batches, as URLs complete."""
        import asyncio

        self._wake = asyncio.Event()
        try:
            while True:
                batch: list[Record] = []
                steer = self._steer
                while True:
                    if steer is not None:
                        steer()  # a stop request raises KeyboardInterrupt, as Ctrl-C
                    step = self._scheduler.poll()
                    if isinstance(step, Job):
                        task = asyncio.create_task(self._run(step))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                    elif isinstance(step, Record):
                        batch.append(step)
                        if len(batch) >= self._batch:
                            break
                    else:
                        break
                if batch:
                    yield batch
                    continue
                if step is None:
                    return
                assert isinstance(step, Wait)
                wait = step.seconds if steer is None else steer.wait(step.seconds)
                if not self._finished:
                    self._wake.clear()
                    try:
                        async with asyncio.timeout(wait):
                            await self._wake.wait()
                    except TimeoutError:
                        pass
                batch = self.take_ready()
                if batch:
                    yield batch
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def take_ready(self) -> list[Record]:
        """Records of requests finished and not yet handed over (also used after Ctrl-C)."""
        finished, self._finished = self._finished, []
        records = []
        for job, outcome in finished:
            record = self._scheduler.finish(job, outcome)
            if record is not None:
                records.append(record)
        return records
