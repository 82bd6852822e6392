"""Who lives where inside the bed's namespace: names, addresses and ports.

Every host has an address of its own, as on the real web, so that connection pools,
per-host limits and TLS sessions are keyed by something real. Inside the namespace the
whole of 127.0.0.0/8 is local, so none of these needs to be configured on an interface.
"""

from __future__ import annotations

ZONE = "test"
MAX_HOSTS = 2000

DNS = "127.0.0.53"  # dnsmasq, the namespace's resolver
DEAD_DNS = "127.0.0.54"  # swallows queries: dnsmasq forwards dead.test here
SLOW_DNS = "127.0.0.55"  # answers slow.test after the configured delay

IDN = {  # IDNA 2008 (A-labels); straße is "strasse.test" under the older IDNA 2003
    "xn--bcher-kva.test": "127.0.1.1",  # bücher.test
    "xn--strae-oqa.test": "127.0.1.2",  # straße.test
}
SLOW = "slow.test"  # and any name under it, so a benchmark can use names no cache holds
SLOW_ADDR = "127.0.1.3"
DELAY = "delay.test"  # robots.txt with Crawl-delay: 1
DELAY_ADDR = "127.0.1.4"
V6ONLY = "v6only.test"  # AAAA ::1 only
V6_ADDR = "::1"

EXPIRED = "expired.test"  # a certificate that expired a year ago
WRONGNAME = "wrongname.test"  # a valid certificate, for another name
SILENT = "silent.test"  # accepts TCP on 80 and 443, never says a word
REFUSED = "refused.test"  # resolves; nothing listens there
FAULT_ADDRS = {
    EXPIRED: "127.0.2.1",
    WRONGNAME: "127.0.2.2",
    SILENT: "127.0.2.3",
    REFUSED: "127.0.2.4",
}
NXDOMAIN = "nosuch.test"  # not in the zone: NXDOMAIN
DEAD = "dead.test"  # its server never answers

PROXY = "127.0.3.1"  # tinyproxy, open
AUTH_PROXY = "127.0.3.2"  # tinyproxy with BasicAuth
NO_PROXY = "127.0.3.3"  # nothing listens: connection refused
PROXY_PORT = 3128
TLS_PROXY = "127.0.3.4"  # an https:// proxy: nginx's stream module, TLS in front of PROXY
TLS_PROXY_PORT = 3129
PROXY_USER, PROXY_PASSWORD = "bed", "secret"

ROBOTS_KINDS = ("rules", "404", "500")  # host i serves ROBOTS_KINDS[i % 3] for /robots.txt
ROBOTS_RULES = "User-agent: *\nDisallow: /private/\n"
CRAWL_DELAY = 1  # seconds, asked by DELAY's robots.txt
DELAY_RULES = f"User-agent: *\nCrawl-delay: {CRAWL_DELAY}\nDisallow: /private/\n"


def host_name(i: int) -> str:
    return f"h{i}.{ZONE}"


def host_addr(i: int) -> str:
    """127.1.x.y with y in 1..250: distinct for every host, no .0 or .255 to puzzle anyone."""
    if not 0 <= i < MAX_HOSTS:
        raise ValueError(f"host index {i} out of range 0..{MAX_HOSTS - 1}")
    return f"127.1.{i // 250}.{i % 250 + 1}"


def robots_kind(i: int) -> str:
    return ROBOTS_KINDS[i % len(ROBOTS_KINDS)]
