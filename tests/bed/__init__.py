"""The real web in a box: DNS, HTTP/1.1 and HTTP/2 over TLS, proxies and faults, in a
network namespace of its own, so no packet leaves the machine.

    with Bed.start(hosts=10) as bed:
        bed.run(["curl", "--cacert", str(bed.ca_file), bed.url(1, "/page/1")])

Nothing here imports fetchpool: tests drive the installed command inside the namespace.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from . import dns, layout, netns, nginx, proc, proxy, silent, tls

__all__ = ["Bed", "layout", "unavailable"]

TOOLS = {"nginx": "nginx-light", "dnsmasq": "dnsmasq-base", "tinyproxy": "tinyproxy"}
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy")
_seq = itertools.count()


def unavailable() -> str | None:
    """Why the bed can't run here (for a skip), or None."""
    reason = netns.available()
    if reason:
        return reason
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if not os.path.exists(nginx.ECHO_MODULE):
        missing.append("libnginx-mod-http-echo")
    if not os.path.exists(proxy.STREAM_MODULE):
        missing.append("libnginx-mod-stream")
    if missing:
        return f"missing {', '.join(missing)}: run tests/bed/install.sh"
    try:
        import dnslib  # noqa: F401
        import trustme  # noqa: F401
    except ImportError as exc:
        return f"missing Python package {exc.name} (pip install trustme dnslib)"
    return None


class Bed:
    # the fault names, for tests to spell as bed.EXPIRED etc.
    NXDOMAIN, DEAD, SLOW, V6ONLY = layout.NXDOMAIN, layout.DEAD, layout.SLOW, layout.V6ONLY
    DELAY, CRAWL_DELAY = layout.DELAY, layout.CRAWL_DELAY
    EXPIRED, WRONGNAME, SILENT, REFUSED = (
        layout.EXPIRED,
        layout.WRONGNAME,
        layout.SILENT,
        layout.REFUSED,
    )
    IDN = tuple(layout.IDN)  # A-labels: bücher.test, straße.test
    IDN_UNICODE = ("bücher.test", "straße.test")

    def __init__(self, n: int, dns_delay: float) -> None:
        self.n, self.dns_delay = n, dns_delay
        self.name = f"{netns.PREFIX}{os.getpid()}-{next(_seq)}"
        self.work = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self.procs: list[proc.Proc] = []
        self._popens: list[subprocess.Popen[Any]] = []
        self._log_start = 0
        self.started_in = 0.0
        self.hosts = [layout.host_name(i) for i in range(n)]
        self.addrs = [layout.host_addr(i) for i in range(n)]
        self.proxy_url = f"http://{layout.PROXY}:{layout.PROXY_PORT}"
        self.auth_proxy_url = f"http://{layout.PROXY_USER}:{layout.PROXY_PASSWORD}@{layout.AUTH_PROXY}:{layout.PROXY_PORT}"
        self.auth_proxy_url_no_credentials = f"http://{layout.AUTH_PROXY}:{layout.PROXY_PORT}"
        self.refused_proxy_url = f"http://{layout.NO_PROXY}:{layout.PROXY_PORT}"
        self.tls_proxy_url = f"https://{layout.TLS_PROXY}:{layout.TLS_PROXY_PORT}"

    @classmethod
    def start(cls, hosts: int = 10, dns_delay: float = 0.2, timeout: float = 30.0) -> Bed:
        if not 1 <= hosts <= layout.MAX_HOSTS:
            raise ValueError(f"hosts must be 1..{layout.MAX_HOSTS}")
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        netns.remove_stale()
        bed = cls(hosts, dns_delay)
        try:
            bed._start(time.monotonic() + timeout)
        except BaseException:
            bed.stop()
            raise
        return bed

    def _start(self, deadline: float) -> None:
        t0 = time.monotonic()
        netns.create(self.name, dns.resolv_conf(), "127.0.0.1 localhost\n::1 localhost\n")
        # the Python helpers start first: their interpreters boot while we make certificates
        quiet = silent.launch(self.name, self.work)
        dns_procs = dns.launch(self.name, self.work, self.n, self.dns_delay)
        self.procs += [quiet, *dns_procs]
        self.certs = tls.Certs(self.work)
        self.ca_file = self.certs.ca_file
        self.trusted_bundle = self.certs.trusted_bundle()
        web = nginx.launch(self.name, self.work, self.n, self.certs)
        proxies = [*proxy.launch(self.name, self.work)]
        proxies.append(proxy.launch_tls(self.name, self.work, self.certs))
        self.procs += [web, *proxies]
        quiet.wait_line("ready", deadline)
        dns.wait(self.name, dns_procs, self.n, deadline)
        nginx.wait(self.name, web, self.n, deadline)
        proxy.wait(self.name, proxies, deadline)
        # The readiness probe's request is not the tests': nginx logs it just after it
        # answered, so wait for its line before marking where the tests' begin.
        proc.wait_until("nginx's log", lambda: self.mark() > 0, deadline, [web])
        self._log_start = self.mark()
        self.started_in = time.monotonic() - t0

    # -- running things inside ------------------------------------------------------------

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment for a process inside: ours, less any proxy setting."""
        env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}
        env.update(extra or {})
        return env

    def run(
        self,
        argv: list[str],
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
        input: str | None = None,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside the namespace; output captured as text. `env` adds variables."""
        return subprocess.run(
            netns.exec_argv(self.name, argv),
            env=self.env(env),
            timeout=timeout,
            input=input,
            capture_output=True,
            text=True,
            check=check,
            stdin=None if input is not None else subprocess.DEVNULL,
        )

    def popen(
        self, argv: list[str], env: dict[str, str] | None = None, **kw: Any
    ) -> subprocess.Popen[Any]:
        """Start argv inside the namespace; stop() kills it if it still runs then."""
        p = subprocess.Popen(netns.exec_argv(self.name, argv), env=self.env(env), **kw)
        self._popens.append(p)
        return p

    # -- where things are -----------------------------------------------------------------

    def host(self, i: int) -> str:
        return self.hosts[i]

    def url(self, host_index: int | str, path: str = "/", https: bool = True) -> str:
        host = self.hosts[host_index] if isinstance(host_index, int) else host_index
        return f"{'https' if https else 'http'}://{host}{path}"

    def robots(self, host_index: int) -> str:
        """What /robots.txt does on that host: 'rules' (Disallow: /private/), '404' or '500'."""
        return layout.robots_kind(host_index)

    # -- what nginx saw -------------------------------------------------------------------

    def mark(self) -> int:
        """A position in the access log: pass it to access_log(since=...)."""
        try:
            return (self.work / "access.log").stat().st_size
        except FileNotFoundError:
            return 0

    def access_log(
        self, since: int | None = None, wait_for: int = 0, timeout: float = 10.0
    ) -> list[dict[str, str]]:
        """Access log records after `since` (default: since the bed started). nginx writes a
        line once a request is done, which may be just after the client has its answer:
        wait_for=N waits (until timeout) for at least N lines."""
        start = self._log_start if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            with open(self.work / "access.log", "rb") as f:
                f.seek(start)
                data = f.read()
            lines = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
            if len(lines) >= wait_for or time.monotonic() >= deadline:
                return lines
            time.sleep(0.01)

    def slow_lookups(self) -> list[tuple[str, str]]:
        """Every query the slow DNS server (``*.slow.test``) has had: (type, name) pairs."""
        try:
            text = (self.work / "slowdns.queries").read_text()
        except FileNotFoundError:
            return []
        return [(t, n) for t, _, n in (line.partition(" ") for line in text.splitlines())]

    # -- lifetime -------------------------------------------------------------------------

    def pids(self) -> list[int]:
        """Every process the bed started that is still alive (nginx workers included)."""
        found = netns.pids(self.name) if self.name in netns.names() else []
        return sorted(set(found) | {p.pid for p in self.procs if proc.pid_alive(p.pid)})

    def stop(self) -> None:
        for p in self._popens:
            if p.poll() is None:
                p.kill()
            p.wait(10)
            for stream in (p.stdin, p.stdout, p.stderr):
                if stream is not None:
                    stream.close()
        for pr in reversed(self.procs):
            pr.stop()
        netns.delete(self.name)  # kills anything left inside (workers, strays)
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self) -> Bed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
