"""nginx as every host of the bed: HTTP/1.1 on 80, HTTPS with HTTP/2 on 443, per address."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from . import layout, netns, proc, tls

# what the access log records, one JSON object a line: enough to count TLS connections
# ($connection is per connection, $connection_requests the requests on it) and resumptions
LOG_FORMAT = (
    '{"time":"$msec","host":"$host","addr":"$server_addr","port":"$server_port",'
    '"remote":"$remote_addr","method":"$request_method","uri":"$request_uri",'
    '"status":"$status","bytes":"$body_bytes_sent","server_protocol":"$server_protocol",'
    '"ssl_protocol":"$ssl_protocol","connection":"$connection",'
    '"connection_requests":"$connection_requests","ssl_session_reused":"$ssl_session_reused",'
    '"user_agent":"$http_user_agent","proxy_authorization":"$http_proxy_authorization",'
    '"request_time":"$request_time"}'
)

#: Debian's libnginx-mod-http-echo, for /slow/N (tests/bed/install.sh installs it).
ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"

ROUTES = r"""
    location ~ ^/page/(\d+)$ {
        default_type text/html;
        return 200 '<!doctype html>
<html><head><title>page $1</title></head>
<body><h1>page $1 on $host</h1><p><a href="/page/0">home</a></p></body></html>
';
    }
    location ^~ /private/ {
        default_type text/html;
        return 200 '<!doctype html>
<html><head><title>private</title></head><body>robots.txt forbids this</body></html>
';
    }
    location = /robots.txt {
        if ($robots = 404) { return 404; }
        if ($robots = 500) { return 500; }
        if ($robots = delay) { return 200 '__DELAY_RULES__'; }
        default_type text/plain;
        return 200 '__RULES__';
    }
    location = /redirect-other {
        return 302 $scheme://$other_host/page/0;
    }
    location ~ ^/slow/(\d+)$ {
        # answers after half a second (the echo module's timer), so a test can see how many
        # overlap: $msec - $request_time is when one began
        default_type text/plain;
        echo_sleep 0.5;
        echo "slow $1";
    }
    location / {
        return 404;
    }
"""


def _http2_listen() -> str:
    """nginx >= 1.25.1 spells HTTP/2 'http2 on;', older ones 'listen ... http2'."""
    out = subprocess.run(["nginx", "-v"], capture_output=True, text=True, timeout=10).stderr
    m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    version = tuple(int(x) for x in m.groups()) if m else (1, 22, 0)
    return "on" if version >= (1, 25, 1) else "listen"


def _server(addrs: list[str], names: list[str], cert: tls.CertFiles, h2: str) -> str:
    listens = []
    for a in addrs:
        a = f"[{a}]" if ":" in a else a
        listens += [f"listen {a}:80;", f"listen {a}:443 ssl{' http2' if h2 == 'listen' else ''};"]
    body = "\n    ".join(listens)
    if h2 == "on":
        body += "\n    http2 on;"
    return (
        f"server {{\n    {body}\n    server_name {' '.join(names)};\n"
        f"    ssl_certificate {cert.cert};\n    ssl_certificate_key {cert.key};\n"
        f"    include routes.conf;\n}}\n"
    )


def config(work: Path, n: int, certs: tls.Certs) -> str:
    h2 = _http2_listen()
    servers = []
    for group in tls.host_groups(n):
        names = [layout.host_name(i) for i in group]
        servers.append(
            _server(
                [layout.host_addr(i) for i in group],
                names,
                certs.issue(f"hosts-{group[0]}", *names),
                h2,
            )
        )
    special = certs.issue("special", *tls.special_names())
    servers.append(
        _server(
            [*layout.IDN.values(), layout.SLOW_ADDR, layout.DELAY_ADDR, layout.V6_ADDR],
            [*layout.IDN, layout.SLOW, f"*.{layout.SLOW}", layout.DELAY, layout.V6ONLY],
            special,
            h2,
        )
    )
    servers.append(
        _server(
            [layout.FAULT_ADDRS[layout.EXPIRED]],
            [layout.EXPIRED],
            certs.issue("expired", layout.EXPIRED, expired=True),
            h2,
        )
    )
    servers.append(
        _server(
            [layout.FAULT_ADDRS[layout.WRONGNAME]],
            [layout.WRONGNAME],
            certs.issue("wrongname", "someone-else.invalid"),
            h2,
        )
    )
    robots = "\n        ".join(
        f"{layout.host_name(i)} {layout.robots_kind(i)};"
        for i in range(n)
        if layout.robots_kind(i) != "rules"
    )
    other = layout.host_name(1 if n > 1 else 0)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the private dir
    temp = "\n    ".join(
        f"{k}_temp_path {work}/tmp/{k};"
        for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}load_module {ECHO_MODULE};
worker_processes 2;
worker_rlimit_nofile 65536;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 16384; }}
http {{
    log_format bed escape=json '{LOG_FORMAT}';
    access_log {work}/access.log bed;
    {temp}
    keepalive_requests 100000;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:bed:10m;
    map $host $robots {{
        default rules;
        {layout.DELAY} delay;
        {robots}
    }}
    map $host $other_host {{
        default {other};
        {other} {layout.host_name(0)};
    }}
{"".join(servers)}}}
"""


def launch(ns: str, work: Path, n: int, certs: tls.Certs) -> proc.Proc:
    (work / "tmp").mkdir(exist_ok=True)
    routes = ROUTES.replace("__RULES__", layout.ROBOTS_RULES)
    (work / "routes.conf").write_text(routes.replace("__DELAY_RULES__", layout.DELAY_RULES))
    conf = work / "nginx.conf"
    conf.write_text(config(work, n, certs))
    argv = ["nginx", "-p", str(work), "-c", str(conf), "-g", "daemon off;"]
    return proc.start(ns, "nginx", argv, work / "nginx.out")


def wait(ns: str, p: proc.Proc, n: int, deadline: float) -> None:
    """Ready when the last host answers a request (nginx binds all listeners at once)."""
    last = layout.host_addr(n - 1)
    proc.wait_until("nginx", lambda: http_ok(ns, last, layout.host_name(n - 1)), deadline, [p])


def http_ok(ns: str, addr: str, host: str) -> bool:
    """One plain request from inside the namespace: true when nginx answers it."""
    with netns.socket_in(ns) as s:
        s.settimeout(1.0)
        try:
            s.connect((addr, 80))
            s.sendall(f"GET /page/0 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            return s.recv(12).startswith(b"HTTP/1.1 200")
        except OSError:
            return False


def installed() -> bool:
    return shutil.which("nginx") is not None
