"""The bed's DNS: dnsmasq serving the zone from a hosts file, forwarding the slow and dead
subzones to the helpers in slowdns.py and silent.py."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from dnslib import QTYPE, RCODE, DNSRecord

from . import layout, netns, proc

HERE = Path(__file__).parent


def hosts_file(n: int) -> str:
    lines = [f"{layout.host_addr(i)} {layout.host_name(i)}" for i in range(n)]
    lines += [f"{addr} {name}" for name, addr in layout.IDN.items()]
    lines.append(f"{layout.DELAY_ADDR} {layout.DELAY}")
    lines += [f"{addr} {name}" for name, addr in layout.FAULT_ADDRS.items()]
    lines.append(f"{layout.V6_ADDR} {layout.V6ONLY}")  # AAAA only: A queries get NODATA
    return "\n".join(lines) + "\n"


def resolv_conf() -> str:
    # glibc's defaults (timeout 5 s, 2 attempts) as on a user's machine: the dead name
    # costs a resolver that long
    return f"nameserver {layout.DNS}\n"


def dnsmasq_argv(hosts: Path, log: Path) -> list[str]:
    return [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        f"--listen-address={layout.DNS}",
        "--port=53",
        f"--addn-hosts={hosts}",
        f"--local=/{layout.ZONE}/",  # the zone is ours: unknown names are NXDOMAIN
        f"--server=/{layout.SLOW}/{layout.SLOW_DNS}#53",
        f"--server=/{layout.DEAD}/{layout.DEAD_DNS}#53",
        "--cache-size=0",  # every lookup asks again: the slow name is slow each time
        "--no-negcache",
        "--dns-forward-max=1000",
        "--user=root",  # the work dir is private (0700); dnsmasq must read the hosts file
        "--pid-file=",
        f"--log-facility={log}",
    ]


def launch(ns: str, work: Path, n: int, delay: float) -> list[proc.Proc]:
    hosts = work / "dns.hosts"
    hosts.write_text(hosts_file(n))
    slow = proc.start(
        ns,
        "slow dns",
        [
            sys.executable,
            str(HERE / "slowdns.py"),
            layout.SLOW_DNS,
            "53",
            str(delay),
            layout.SLOW,
            layout.SLOW_ADDR,
            str(work / "slowdns.queries"),
        ],
        work / "slowdns.log",
        pipe=True,
    )
    dnsmasq = proc.start(
        ns, "dnsmasq", dnsmasq_argv(hosts, work / "dnsmasq.log"), work / "dnsmasq.out"
    )
    return [slow, dnsmasq]


def wait(ns: str, procs: list[proc.Proc], n: int, deadline: float) -> None:
    slow, dnsmasq = procs
    slow.wait_line("ready", deadline)
    last = layout.host_name(n - 1)
    proc.wait_until(
        "dnsmasq", lambda: query(ns, last, timeout=0.2) is not None, deadline, [dnsmasq]
    )


def query(ns: str, name: str, qtype: str = "A", timeout: float = 1.0) -> DNSRecord | None:
    """Ask the bed's DNS server from inside the namespace; None when no answer came."""
    with netns.socket_in(ns, socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(DNSRecord.question(name, qtype).pack(), (layout.DNS, 53))
            return DNSRecord.parse(s.recv(4096))
        except OSError:  # refused (not yet bound) or timed out
            return None


def answers(record: DNSRecord) -> list[str]:
    return [str(rr.rdata) for rr in record.rr if rr.rtype in (QTYPE.A, QTYPE.AAAA)]


def is_nxdomain(record: DNSRecord) -> bool:
    return record.header.rcode == RCODE.NXDOMAIN
