"""The bed's server processes: started inside the namespace, awaited, stopped for sure."""

from __future__ import annotations

import selectors
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from . import netns


class Proc:
    """One server inside the namespace; `ip netns exec` execs it, so popen.pid is the server."""

    def __init__(self, label: str, popen: subprocess.Popen[str], log: Path) -> None:
        self.label, self.popen, self.log = label, popen, log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def check_alive(self) -> None:
        code = self.popen.poll()
        if code is not None:
            raise RuntimeError(f"{self.label} exited with {code}:\n{self.tail()}")

    def wait_line(self, expected: str, deadline: float) -> None:
        """Wait until the process prints `expected` on stdout (our helpers do once bound)."""
        assert self.popen.stdout is not None, "started without pipe=True"
        with selectors.DefaultSelector() as sel:
            sel.register(self.popen.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError(f"{self.label} did not get ready:\n{self.tail()}")
                line = self.popen.stdout.readline()
                if line.strip() == expected:
                    return
                if not line:  # EOF: it died
                    self.popen.wait(5)
                    self.check_alive()

    def stop(self, grace: float = 5.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(grace)
        if self.popen.stdout is not None:
            self.popen.stdout.close()


def start(ns: str, label: str, argv: list[str], log: Path, *, pipe: bool = False) -> Proc:
    """Start argv in the namespace, its output into `log` (stdout into a pipe with `pipe`,
    for helpers that announce readiness there: see Proc.wait_line)."""
    with open(log, "w") as out:
        popen = subprocess.Popen(
            netns.exec_argv(ns, argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe else out,
            stderr=out,
            text=True,
            start_new_session=True,  # a ^C to pytest is for pytest; teardown stops these
        )
    return Proc(label, popen, log)


def wait_until(what: str, probe: Callable[[], bool], deadline: float, procs: list[Proc]) -> None:
    """Poll `probe` (a connection attempt, a query) until it succeeds; fail fast if one of
    `procs` died, and at `deadline` at the latest."""
    pause = 0.005
    while True:
        for p in procs:
            p.check_alive()
        if probe():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not ready in time")
        time.sleep(pause)  # between attempts only; readiness is the probe's answer
        pause = min(pause * 2, 0.1)


def pid_alive(pid: int) -> bool:
    """True while pid runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


__all__ = ["Proc", "pid_alive", "start", "wait_until"]
