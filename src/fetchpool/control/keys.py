"""Keys while a run goes: the lesson's counting machine in ``fetchpool fetch`` — one thread
does the work, another reads what you type.

``p`` pauses and resumes, ``+`` and ``-`` turn the concurrency up and down, ``s`` stops as
Ctrl-C does, ``?`` shows the keys. The keys are read from the controlling terminal
(``/dev/tty``) in cbreak mode (each key as it is pressed, not echoed; Ctrl-C still sends
SIGINT) on a thread of its own, which touches nothing but the run's
:class:`~fetchpool.knob.Knob`. The terminal's settings are put back however the run
ends: :meth:`Keys.close` runs in a ``finally`` of the command, and SIGTERM and SIGHUP end a
run through the same path as Ctrl-C (:class:`fetchpool.StopSignals`). Ctrl-Z gives the
terminal back before the run stops, and ``fg`` takes it again (SIGTSTP, SIGCONT); while the
run is in the background no key is read (reading would stop it).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import termios
import threading
import tty
from types import FrameType
from typing import Any, Final

from ..knob import Knob

__all__ = ["KEYS", "Keys"]

#: Each key and what it does, as ``?`` shows them.
KEYS: Final = (
    ("p", "pause / resume: nothing new starts; what is in flight finishes"),
    ("+", "more at once: the concurrency up by about a quarter"),
    ("-", "fewer at once: down by about a fifth (what is in flight finishes)"),
    ("s", "stop, as Ctrl-C: every finished record is written"),
    ("?", "show or hide these keys"),
)
_POLL = 0.1  # seconds between looks at whether the run is over


class Keys:
    """Reads keys from ``path`` (the controlling terminal) for ``knob`` until :meth:`close`.
    ``help_shown`` and ``said`` (what the last key did) are for the live display."""

    def __init__(self, knob: Knob, fd: int, saved: list[Any]) -> None:
        self._knob = knob
        self._fd = fd
        self._saved = saved
        self._closing = threading.Event()
        self.help_shown = False
        self.said = ""
        self._old: dict[int, Any] = {}
        self._cbroken = True  # the terminal is in cbreak mode (open() set it)
        if threading.current_thread() is threading.main_thread():
            for sig, handler in ((signal.SIGTSTP, self._on_stop), (signal.SIGCONT, self._on_cont)):
                self._old[sig] = signal.signal(sig, handler)
        self._thread = threading.Thread(target=self._read, name="fetchpool-keys", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, knob: Knob, path: str = "/dev/tty") -> Keys | None:
        """Start reading keys, or None when there is no terminal to read them from (or this
        process is not in its foreground, where reading would stop it)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOCTTY)
        except OSError:
            return None
        try:
            if os.tcgetpgrp(fd) != os.getpgrp():
                os.close(fd)
                return None
            saved = termios.tcgetattr(fd)
            tty.setcbreak(fd, termios.TCSANOW)
        except (OSError, termios.error):
            os.close(fd)
            return None
        return cls(knob, fd, saved)

    def press(self, key: str) -> None:
        """What one key does (also for tests and other front ends)."""
        knob = self._knob
        if key in "pP":
            self.said = "paused" if knob.toggle_pause() else "resumed"
        elif key in "+=":
            self.said = f"concurrency {knob.more()}"
        elif key in "-_":
            self.said = f"concurrency {knob.fewer()}"
        elif key in "sS":
            self.said = "stopping"
            knob.stop()
        elif key in "?hH":
            self.help_shown = not self.help_shown

    def _foreground(self) -> bool:
        try:
            return os.tcgetpgrp(self._fd) == os.getpgrp()
        except OSError:
            return False

    def _cbreak(self) -> None:
        if self._foreground():  # from the background, setting the terminal would stop us
            with contextlib.suppress(OSError, termios.error):
                tty.setcbreak(self._fd, termios.TCSANOW)
                self._cbroken = True

    def _restore(self) -> None:
        if not self._cbroken:
            return
        # Set from the background (the run ended after bg), it would stop the process with
        # SIGTTOU, unless that is ignored meanwhile (signals are the main thread's).
        ignore = threading.current_thread() is threading.main_thread()
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN) if ignore else None
        try:
            with contextlib.suppress(OSError, termios.error):
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
                self._cbroken = False
        finally:
            if ignore:
                signal.signal(signal.SIGTTOU, old)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        """Ctrl-Z: the terminal as it was, then stop as a process does by default."""
        self._restore()
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until SIGCONT
        signal.signal(signal.SIGTSTP, self._on_stop)

    def _on_cont(self, signum: int, frame: FrameType | None) -> None:
        self._cbreak()  # fg: the keys again (bg: nothing, until fg)

    def _read(self) -> None:
        while not self._closing.is_set():
            try:
                ready, _, _ = select.select([self._fd], [], [], _POLL)
                if not ready:
                    continue
                if not self._foreground():
                    self._closing.wait(_POLL)  # in the background: leave the keys alone
                    continue
                data = os.read(self._fd, 64)
            except OSError:
                return  # the terminal went away
            if not data:
                return
            for key in data.decode("utf-8", "replace"):
                self.press(key)

    def close(self) -> None:
        """Stop reading and give the terminal back its settings."""
        self._closing.set()
        self._thread.join(timeout=2)
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()
        self._restore()
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def __enter__(self) -> Keys:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
