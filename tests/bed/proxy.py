"""tinyproxy (Debian's 1.11) as the forward proxies: one open, one with BasicAuth.
Both forward http and CONNECT to 443 (and 80); names are resolved inside the namespace."""

from __future__ import annotations

import os
from pathlib import Path

from . import layout, netns, proc


def config(work: Path, label: str, listen: str, auth: bool) -> str:
    lines = [
        f"Port {layout.PROXY_PORT}",
        f"Listen {listen}",
        f"Bind {listen}",  # its connections onward come from its own address: nginx's `remote`
        "Timeout 30",
        "MaxClients 4000",
        f'LogFile "{work}/{label}.log"',
        "LogLevel Info",
        "Allow 127.0.0.0/8",
        "ConnectPort 443",
        "ConnectPort 80",
        "DisableViaHeader Yes",
    ]
    if os.geteuid() == 0:  # as root tinyproxy would switch to nobody, who can't read the dir
        lines += ["User root", "Group root"]
    if auth:
        lines.append(f"BasicAuth {layout.PROXY_USER} {layout.PROXY_PASSWORD}")
    return "\n".join(lines) + "\n"


def launch(ns: str, work: Path) -> list[proc.Proc]:
    procs = []
    for label, addr, auth in (
        ("proxy", layout.PROXY, False),
        ("auth-proxy", layout.AUTH_PROXY, True),
    ):
        conf = work / f"{label}.conf"
        conf.write_text(config(work, label, addr, auth))
        procs.append(
            proc.start(ns, label, ["tinyproxy", "-d", "-c", str(conf)], work / f"{label}.out")
        )
    return procs


def wait(ns: str, procs: list[proc.Proc], deadline: float) -> None:
    for p, addr in zip(procs, (layout.PROXY, layout.AUTH_PROXY), strict=True):
        proc.wait_until(p.label, lambda a=addr: connects(ns, a, layout.PROXY_PORT), deadline, [p])


def connects(ns: str, addr: str, port: int) -> bool:
    with netns.socket_in(ns) as s:
        s.settimeout(1.0)
        try:
            s.connect((addr, port))
        except OSError:
            return False
        return True
