"""A network namespace of the bed's own: create, run inside, clean up.

`ip netns exec NAME` also bind-mounts /etc/netns/NAME/{resolv.conf,hosts} over /etc, which
is how processes inside find the bed's DNS server instead of the machine's.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

PREFIX = "fpbed-"
ETC = Path("/etc/netns")
_CLONE_NEWNET = 0x40000000
_STALE = re.compile(rf"^{PREFIX}(\d+)(?:-\d+)?$")


def available() -> str | None:
    """None when namespaces can be made here, else why not (a test skips with it)."""
    if os.geteuid() != 0:
        return "the bed needs root to create a network namespace"
    if shutil.which("ip") is None:
        return "no 'ip' command (install iproute2: tests/bed/install.sh)"
    if shutil.which("unshare") is not None:
        probe = subprocess.run(
            ["unshare", "-n", "true"], capture_output=True, text=True, timeout=10
        )
        if probe.returncode != 0:
            return f"'unshare -n' fails here: {probe.stderr.strip() or probe.returncode}"
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=check)


def names() -> list[str]:
    out = _ip("netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def pids(name: str) -> list[int]:
    out = _ip("netns", "pids", name, check=False).stdout
    return [int(p) for p in out.split()]


def create(name: str, resolv_conf: str, hosts: str) -> None:
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        etc = ETC / name
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(resolv_conf)
        (etc / "hosts").write_text(hosts)
    except BaseException:
        delete(name)
        raise


def delete(name: str) -> None:
    """Kill whatever still runs inside, then remove the namespace and its /etc files."""
    for _ in range(3):  # a dying process may have forked; look again
        found = pids(name)
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(pid, signal.SIGKILL)
    if name in names():
        _ip("netns", "del", name, check=False)
    shutil.rmtree(ETC / name, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale() -> list[str]:
    """Remove fpbed-PID namespaces left by a run that died (PID no longer alive)."""
    removed = []
    for name in names():
        m = _STALE.match(name)
        if m and not _alive(int(m.group(1))):
            delete(name)
            removed.append(name)
    if ETC.is_dir():  # /etc/netns leftovers whose namespace is already gone
        for etc in ETC.glob(f"{PREFIX}*"):
            m = _STALE.match(etc.name)
            if m and not _alive(int(m.group(1))):
                shutil.rmtree(etc, ignore_errors=True)
    return removed


def exec_argv(name: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", name, *argv]


def socket_in(
    name: str, family: int = socket.AF_INET, type: int = socket.SOCK_STREAM
) -> socket.socket:
    """A socket that lives in the namespace, made from this process without a subprocess.

    setns() switches only the calling thread, so a short-lived thread enters the namespace,
    makes the socket and ends; the socket stays in the namespace for the whole of its life.
    """
    made: list[socket.socket] = []
    errors: list[BaseException] = []

    def enter() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
            try:
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {name}: {os.strerror(err)}")
            finally:
                os.close(fd)
            made.append(socket.socket(family, type))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=enter, name=f"setns-{name}")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return made[0]
