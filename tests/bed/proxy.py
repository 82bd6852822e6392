"""tinyproxy (Debian's 1.11) as the forward proxies: one open, one with BasicAuth.
Both forward http and CONNECT to 443 (and 80); names are resolved inside the namespace.
An ``https://`` proxy (TLS to the proxy itself) is nginx's stream module in front of the
open one, with a certificate from the bed's CA: what it forwards arrives from the open one."""

from __future__ import annotations

import os
from pathlib import Path

from . import layout, netns, proc, tls

#: Debian's libnginx-mod-stream, for the https:// proxy (tests/bed/install.sh installs it).
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


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


def tls_config(work: Path, cert: tls.CertFiles) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the private dir
    return f"""{user}load_module {STREAM_MODULE};
worker_processes 1;
pid {work}/tls-proxy.pid;
error_log {work}/tls-proxy-error.log warn;
events {{ worker_connections 4096; }}
stream {{
    server {{
        listen {layout.TLS_PROXY}:{layout.TLS_PROXY_PORT} ssl;
        ssl_certificate {cert.cert};
        ssl_certificate_key {cert.key};
        proxy_pass {layout.PROXY}:{layout.PROXY_PORT};
    }}
}}
"""


def launch_tls(ns: str, work: Path, certs: tls.Certs) -> proc.Proc:
    conf = work / "tls-proxy.conf"
    conf.write_text(tls_config(work, certs.issue("tls-proxy", layout.TLS_PROXY)))
    argv = ["nginx", "-p", str(work), "-c", str(conf), "-g", "daemon off;"]
    return proc.start(ns, "tls-proxy", argv, work / "tls-proxy.out")


def wait(ns: str, procs: list[proc.Proc], deadline: float) -> None:
    ports = [(layout.PROXY, layout.PROXY_PORT), (layout.AUTH_PROXY, layout.PROXY_PORT)]
    ports.append((layout.TLS_PROXY, layout.TLS_PROXY_PORT))
    for p, (addr, port) in zip(procs, ports, strict=True):
        proc.wait_until(p.label, lambda a=addr, n=port: connects(ns, a, n), deadline, [p])


def connects(ns: str, addr: str, port: int) -> bool:
    with netns.socket_in(ns) as s:
        s.settimeout(1.0)
        try:
            s.connect((addr, port))
        except OSError:
            return False
        return True
