"""The loop every engine runs around the scheduler, in a blocking and an asyncio form.

An engine only says how requests run at once: a :class:`Runner` starts requests
(``submit``) and hands back finished ones (``collect``); the loop asks the scheduler what
to do next and hands each finished request back to it, which may give a record. The scheduler is
only ever touched by the thread (or the event loop) running this loop.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Protocol

from ..records import Record
from .outcome import Outcome
from .scheduler import Job, Scheduler, Wait

if TYPE_CHECKING:
    import asyncio  # imported where it runs: a blocking mode never loads asyncio

__all__ = ["AsyncDriver", "Batches", "Finished", "Runner", "drive"]

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


def drive(scheduler: Scheduler, runner: Runner) -> Generator[Record, None, None]:
    """Records as URLs complete. On Ctrl-C, records already finished are handed over first."""
    try:
        while True:
            step = scheduler.poll()
            if isinstance(step, Job):  # the most common step first
                runner.submit(step)
            elif step is None:
                return
            elif isinstance(step, Record):
                yield step
            else:
                for job, outcome in runner.collect(step.seconds):
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
                while True:
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
                if not self._finished:
                    self._wake.clear()
                    try:
                        async with asyncio.timeout(step.seconds):
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
