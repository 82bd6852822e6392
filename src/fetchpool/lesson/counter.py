"""``fetchpool counter``: the threads lesson's counting machine, done right.

One thread prints ``Current count: N`` every interval while the main thread reads lines: an
integer (surrounding spaces allowed) is added to the count, ``stop`` in any case stops, anything
else is answered with a message. ``stop``, end of input and Ctrl-C all stop at once (the ticking
thread waits on an :class:`threading.Event`, not in ``time.sleep``), print ``Final count: N`` and
exit 0.

In a terminal the prompt is a prompt_toolkit ``PromptSession`` and the ticks go through a
``StdoutProxy`` (what ``patch_stdout`` installs), so a tick is drawn above the prompt and never
garbles the line being typed. When standard input or output is not a terminal (or they are not
the process's own ``sys.stdin``/``sys.stdout``), plain lines are read and written, one message
per line, with no prompt, so the command is scriptable::

    printf '2\\n5\\nstop\\n' | fetchpool counter --interval 0.1

The count itself is :class:`Counter`, usable without the command line.
"""

from __future__ import annotations

import math
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, TextIO, cast

if TYPE_CHECKING:
    from prompt_toolkit.patch_stdout import StdoutProxy

__all__ = ["Counter", "run_counter"]

PROMPT = "Enter a positive, negative integer, or 'stop': "
INVALID = "Invalid input. Please enter a positive or negative integer."
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BROKEN_PIPE = 141  # as `fetchpool fetch` (cli.ExitCode.BROKEN_PIPE): the reader went away
_PROXY_BUNDLE_SECONDS = 0.02  # patch_stdout's 0.2 s would delay the final line on stop


class Counter:
    """A count that many threads can add to at once: the lesson's ``Counter`` made safe.

    The lesson's machine did ``self.count += int(input_value)`` in one thread while another
    read ``self.count``. ``+=`` on an attribute is three steps (read, add, write back); a thread
    switch between them loses the other thread's update. Here every read and update holds ONE
    lock, created once in ``__init__`` and shared by every call.

    Writing ``with threading.Lock():`` inside ``add`` instead protects nothing: each call makes
    a brand-new lock that no other thread has ever seen, so acquiring it never waits and two
    threads still run the read-add-write at the same time. A lock only excludes the threads
    that acquire *the same* lock object.

    ::

        counter = Counter(10)
        counter.add(5)     # -> 15, from any thread
        counter.add(-20)   # -> -5
        counter.value      # -> -5
    """

    def __init__(self, count: int = 0) -> None:
        self._lock = threading.Lock()
        self._count = count

    def add(self, n: int) -> int:
        """Add ``n`` (negative to subtract) and return the new count, atomically."""
        with self._lock:
            self._count += n
            return self._count

    @property
    def value(self) -> int:
        """The current count."""
        with self._lock:
            return self._count

    def __repr__(self) -> str:
        return f"Counter({self.value})"


def run_counter(
    *,
    start: int,
    interval: float,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
) -> int:
    """Run the counting machine on ``stdin``/``stdout`` (default: the process's); return the
    exit code: 0 after ``stop``, end of input or Ctrl-C, 2 for a bad ``interval`` (with a
    one-line message on stderr), 141 when standard output went away (a closed pipe).

    The prompt_toolkit prompt is used only when ``stdin`` and ``stdout`` are ``sys.stdin`` and
    ``sys.stdout`` and both are terminals; otherwise lines are read with ``readline``."""
    if not (math.isfinite(interval) and 0 < interval <= threading.TIMEOUT_MAX):
        print(
            f"fetchpool: error: --interval must be a positive number of seconds, not {interval:g}",
            file=sys.stderr,
        )
        return 2
    inp: IO[str] | None = stdin if stdin is not None else sys.stdin  # None: closed (<&-)
    out = stdout if stdout is not None else sys.stdout
    counter = Counter(start)
    stop = threading.Event()
    lines = _Lines(out, stop)
    lines.write(f"Counter - starting count: {start}")
    lines.write("Enter an integer to add it to the count; 'stop', Ctrl-D or Ctrl-C to stop")
    lines.write("==========")
    try:
        if inp is sys.stdin and out is sys.stdout and _isatty(inp) and _isatty(out):
            _run_interactive(counter, interval, stop, lines)
        else:
            _run_plain(inp, counter, interval, stop, lines)
    except KeyboardInterrupt:
        pass  # Ctrl-C is a way to stop, like `stop`
    lines.write(f"Final count: {counter.value}")
    if lines.broken:
        _silence(out)
        return _BROKEN_PIPE
    return 0


def _run_plain(
    inp: IO[str] | None, counter: Counter, interval: float, stop: threading.Event, lines: _Lines
) -> None:
    with _ticking(counter, interval, stop, lines):
        while not stop.is_set():
            try:
                line = inp.readline() if inp is not None else ""
            except UnicodeDecodeError:
                lines.write(INVALID)
                continue
            if not line or not _handle(line, counter, lines):
                return


def _run_interactive(
    counter: Counter, interval: float, stop: threading.Event, lines: _Lines
) -> None:
    """Prompt with prompt_toolkit on the process's terminal (sys.stdin, sys.stdout).

    The prompt, the StdoutProxy and its flush thread all use prompt_toolkit's default
    AppSession: the proxy's thread finds the running prompt through it (a session made with
    create_app_session() is invisible from that thread, and the ticks would be written
    straight into the typed line)."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.patch_stdout import StdoutProxy

    session: PromptSession[str] = PromptSession(PROMPT)
    # What patch_stdout() does, with a shorter bundling delay: every write goes above the
    # prompt (run_in_terminal), so a tick never lands in the middle of the typed line.
    with (
        StdoutProxy(sleep_between_writes=_PROXY_BUNDLE_SECONDS, raw=True) as proxy,
        _patched_stdout(proxy, lines),
        _ticking(counter, interval, stop, lines),
    ):
        while not stop.is_set():
            try:
                text = session.prompt()
            except EOFError:  # Ctrl-D on an empty line
                return
            if not _handle(text, counter, lines):
                return


def _handle(text: str, counter: Counter, lines: _Lines) -> bool:
    """Act on one line of input; False means stop."""
    word = text.strip()
    if word.casefold() == "stop":
        return False
    if _INTEGER.fullmatch(word):
        try:
            counter.add(int(word))
        except ValueError:  # more digits than int() accepts from a string
            lines.write(INVALID)
    else:
        lines.write(INVALID)
    return True


@contextmanager
def _ticking(
    counter: Counter, interval: float, stop: threading.Event, lines: _Lines
) -> Iterator[None]:
    """Print the count now, then every ``interval`` from a thread, until the block ends."""

    def tick() -> None:
        if hasattr(signal, "pthread_sigmask"):
            # Let Ctrl-C's SIGINT reach the main thread, interrupting its blocking read.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        while not stop.wait(interval):
            lines.write(f"Current count: {counter.value}")

    lines.write(f"Current count: {counter.value}")
    ticker = threading.Thread(target=tick, name="fetchpool-counter-ticker", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()


@contextmanager
def _patched_stdout(proxy: StdoutProxy, lines: _Lines) -> Iterator[None]:
    """Send sys.stdout, sys.stderr and our own lines through ``proxy`` for the block."""
    saved = sys.stdout, sys.stderr, lines.stream
    sys.stdout = sys.stderr = lines.stream = cast(TextIO, proxy)
    try:
        yield
    finally:
        sys.stdout, sys.stderr, lines.stream = saved


class _Lines:
    """Whole lines to one stream from several threads; a stream that fails stops the machine."""

    def __init__(self, stream: IO[str], stop: threading.Event) -> None:
        self.stream = stream
        self.broken = False
        self._stop = stop
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        with self._lock:
            if self.broken:
                return
            try:
                self.stream.write(line + "\n")  # one write: lines from two threads never mix
                self.stream.flush()
            except (OSError, ValueError):  # a closed pipe or terminal, a closed file
                self.broken = True
                self._stop.set()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, OSError, ValueError):
        return False


def _silence(stream: IO[str]) -> None:
    """Point a broken stream's descriptor at /dev/null so the flush at exit does not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
