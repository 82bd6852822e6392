"""The test bed itself (tests/bed): its DNS, web servers, proxies and faults behave as the
real web does, inside a namespace that nothing outside can reach."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bed import Bed, dns, layout, netns, proc, unavailable

pytest_plugins = ["bed.plugin"]

PY = sys.executable


def curl(bed: Bed, *args: str, max_time: float = 20) -> subprocess.CompletedProcess[str]:
    """curl inside the bed, trusting its CA; stdout ends with 'CODE VERSION'."""
    argv = ["curl", "-sS", "--cacert", str(bed.ca_file), "--max-time", str(max_time)]
    argv += ["-w", r"\n%{http_code} %{http_version}", *args]
    return bed.run(argv, timeout=max_time + 10)


def code_version(result: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    code, version = result.stdout.rsplit("\n", 1)[1].split()
    return code, version


def resolve(bed: Bed, name: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """getaddrinfo inside the bed, as a Python client calls it; prints addresses and the time."""
    script = (
        "import socket, sys, time\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    found = sorted({a[4][0] for a in socket.getaddrinfo(sys.argv[1], 443)})\n"
        "except socket.gaierror as e:\n"
        "    print('error', e.errno, time.monotonic() - t)\n"
        "else:\n"
        "    print(' '.join(found), time.monotonic() - t)\n"
    )
    return bed.run([PY, "-c", script, name], timeout=timeout)


# -- DNS ---------------------------------------------------------------------------------


def test_every_host_has_its_own_address(bed: Bed) -> None:
    out = bed.run(["getent", "hosts", "h1.test", "h2.test"], timeout=10, check=True).stdout
    assert out.split() == ["127.1.0.2", "h1.test", "127.1.0.3", "h2.test"]
    last = len(bed.hosts) - 1
    assert resolve(bed, bed.hosts[last]).stdout.split()[0] == bed.addrs[last]
    assert len(set(bed.addrs)) == len(bed.addrs)


def test_unknown_name_is_nxdomain(bed: Bed) -> None:
    answer = dns.query(bed.name, bed.NXDOMAIN)
    assert answer is not None and dns.is_nxdomain(answer)
    assert bed.run(["getent", "hosts", bed.NXDOMAIN], timeout=10).returncode == 2  # not found
    assert resolve(bed, bed.NXDOMAIN).stdout.split()[:2] == ["error", str(socket.EAI_NONAME)]


def test_v6only_name_has_only_aaaa(bed: Bed) -> None:
    a = dns.query(bed.name, bed.V6ONLY, "A")
    aaaa = dns.query(bed.name, bed.V6ONLY, "AAAA")
    assert a is not None and not dns.is_nxdomain(a) and dns.answers(a) == []
    assert aaaa is not None and dns.answers(aaaa) == ["::1"]


def test_idn_names_resolve(bed: Bed) -> None:
    for name, addr in layout.IDN.items():
        assert resolve(bed, name).stdout.split()[0] == addr


def test_slow_name_takes_the_delay(bed: Bed) -> None:
    for name in (bed.SLOW, "any.thing.slow.test"):  # never cached: slow every time
        addr, took = resolve(bed, name).stdout.split()
        assert addr == layout.SLOW_ADDR
        assert float(took) >= bed.dns_delay


def test_dead_name_never_resolves(bed: Bed) -> None:
    assert dns.query(bed.name, bed.DEAD, timeout=2) is None  # the server swallows it
    # and a client inside gets nothing in 2 s either (glibc gives up after 2 x 5 s)
    assert bed.run(["timeout", "2", "getent", "hosts", bed.DEAD], timeout=30).returncode == 124


# -- HTTP and TLS ------------------------------------------------------------------------


def test_https_is_http2_and_http_is_http11(bed: Bed) -> None:
    r = curl(bed, bed.url(1, "/page/1"))
    assert r.returncode == 0, r.stderr
    assert "<title>page 1</title>" in r.stdout
    assert code_version(r) == ("200", "2")
    r = curl(bed, bed.url(1, "/page/7", https=False))
    assert "<title>page 7</title>" in r.stdout and code_version(r) == ("200", "1.1")


def test_idn_and_v6_hosts_serve_pages(bed: Bed) -> None:
    for url in (
        "https://bücher.test/page/1",
        "https://xn--strae-oqa.test/page/2",
        "https://v6only.test/page/3",
        "https://x.slow.test/page/4",
    ):
        r = curl(bed, url)
        assert code_version(r) == ("200", "2"), (url, r.stderr)


def test_robots_variants_and_redirect(bed: Bed) -> None:
    r = curl(bed, bed.url(0, "/robots.txt"))
    assert bed.robots(0) == "rules" and code_version(r)[0] == "200"
    assert "Disallow: /private/" in r.stdout
    assert code_version(curl(bed, bed.url(1, "/robots.txt")))[0] == bed.robots(1) == "404"
    assert code_version(curl(bed, bed.url(2, "/robots.txt")))[0] == bed.robots(2) == "500"
    r = curl(bed, "-o", "/dev/null", "-w", "%{redirect_url}", bed.url(0, "/redirect-other"))
    assert r.stdout.startswith("https://h1.test/page/0")


def test_expired_and_wrong_name_certificates_fail(bed: Bed) -> None:
    r = curl(bed, bed.url(bed.EXPIRED))
    assert r.returncode == 60 and "expired" in r.stderr
    r = curl(bed, bed.url(bed.WRONGNAME))
    assert r.returncode == 60 and "wrongname.test" in r.stderr


def test_silent_host_accepts_and_never_speaks(bed: Bed) -> None:
    # curl's connect succeeds and its TLS handshake waits: a time-out (28), not a refusal (7)
    r = curl(bed, bed.url(bed.SILENT), max_time=1)
    assert r.returncode == 28, r.stderr
    r = curl(bed, bed.url(bed.REFUSED))
    assert r.returncode == 7, r.stderr


def test_access_log_counts_connections_and_resumed_sessions(bed: Bed) -> None:
    mark = bed.mark()
    # two TLS connections to one host, the second resuming the first one's session
    script = (
        "import socket, ssl, sys\n"
        "ctx = ssl.create_default_context(cafile=sys.argv[1])\n"
        "session = None\n"
        "for i in range(2):\n"
        "    with socket.create_connection((sys.argv[2], 443), timeout=10) as raw:\n"
        "        with ctx.wrap_socket(raw, server_hostname=sys.argv[2], session=session) as s:\n"
        "            s.sendall(f'GET /page/{i} HTTP/1.1\\r\\nHost: {sys.argv[2]}\\r\\n"
        "Connection: close\\r\\n\\r\\n'.encode())\n"
        "            while s.recv(65536):\n"
        "                pass\n"
        "            session = s.session\n"
        "            print(s.session_reused)\n"
    )
    r = bed.run([PY, "-c", script, str(bed.ca_file), bed.hosts[3]], timeout=30)
    assert r.stdout.split() == ["False", "True"], r.stderr
    # and two requests on one HTTP/2 connection
    curl(bed, bed.url(4, "/page/1"), bed.url(4, "/page/2"))
    lines = bed.access_log(since=mark, wait_for=4)
    tls_lines = [x for x in lines if x["host"] == bed.hosts[3]]
    assert [x["ssl_session_reused"] for x in tls_lines] == [".", "r"]
    assert len({x["connection"] for x in tls_lines}) == 2
    h2 = [x for x in lines if x["host"] == bed.hosts[4]]
    assert [x["connection_requests"] for x in h2] == ["1", "2"]
    assert {x["server_protocol"] for x in h2} == {"HTTP/2.0"}
    assert {x["ssl_protocol"] for x in h2} == {"TLSv1.3"}


def test_trusted_bundle_is_the_system_store_plus_the_ca(bed: Bed) -> None:
    assert bed.ca_file.read_bytes() in bed.trusted_bundle.read_bytes()
    script = (
        "import urllib.request, sys\n"
        "print(urllib.request.urlopen(sys.argv[1], timeout=10).status)\n"
    )
    r = bed.run(
        [PY, "-c", script, bed.url(5, "/page/5")],
        env={"SSL_CERT_FILE": str(bed.trusted_bundle)},
        timeout=30,
    )
    assert r.stdout.strip() == "200", r.stderr
    r = bed.run([PY, "-c", script, bed.url(5, "/page/5")], timeout=30)  # the real store: no
    assert "CERTIFICATE_VERIFY_FAILED" in r.stderr


# -- proxies -----------------------------------------------------------------------------


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_proxies(bed: Bed, https: bool) -> None:
    url = bed.url(6, "/page/6", https=https)
    mark = bed.mark()
    for proxy in (bed.proxy_url, bed.auth_proxy_url):
        r = curl(bed, "-x", proxy, url)
        assert code_version(r)[0] == "200", (proxy, r.stderr)
    assert curl(bed, url).returncode == 0
    # each proxy connects onward from its own address: nginx tells them from a direct request
    remotes = [e["remote"] for e in bed.access_log(since=mark, wait_for=3)]
    assert remotes == [layout.PROXY, layout.AUTH_PROXY, "127.0.0.1"]
    r = curl(bed, "-x", bed.auth_proxy_url_no_credentials, url)
    if https:  # the CONNECT is refused
        assert r.returncode == 56 and "407" in r.stderr
    else:
        assert code_version(r)[0] == "407"
    assert curl(bed, "-x", bed.refused_proxy_url, url).returncode == 7


# -- isolation and lifetime --------------------------------------------------------------


def test_nothing_is_reachable_from_outside(bed: Bed) -> None:
    """The bed's addresses are local to its namespace: from the machine's own, nobody is
    there (the host's loopback answers with a refusal)."""
    for addr, port in ((bed.addrs[1], 443), (bed.addrs[1], 80), (layout.PROXY, 3128)):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((addr, port), timeout=5).close()
    assert bed.name in netns.names()  # while the bed itself is up


def test_teardown_leaves_nothing() -> None:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    b = Bed.start(hosts=2)
    name, work = b.name, b.work
    child = b.popen(["sleep", "600"])  # a process a test started inside
    pids = b.pids()
    assert child.pid in pids and len(pids) >= 6  # dnsmasq, nginx and workers, proxies, helpers
    b.stop()
    assert [p for p in pids if proc.pid_alive(p)] == []
    assert name not in netns.names()
    assert not (netns.ETC / name).exists() and not work.exists()


def test_stale_namespaces_are_removed() -> None:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = f"{netns.PREFIX}{gone.pid}-0"
    netns.create(stale, "nameserver 127.0.0.53\n", "127.0.0.1 localhost\n")
    try:
        assert stale in netns.remove_stale()
        assert stale not in netns.names() and not (netns.ETC / stale).exists()
    finally:
        netns.delete(stale)


# -- fetchpool, as a user runs it --------------------------------------------------------


def _fetchpool() -> str | None:
    found = Path(sys.executable).parent / "fetchpool"
    return str(found) if found.exists() else shutil.which("fetchpool")


@pytest.mark.parametrize("mode", [None, "async"], ids=["default", "async"])
def test_fetchpool_fetches_through_the_bed(bed: Bed, mode: str | None) -> None:
    fetchpool = _fetchpool()
    if fetchpool is None:
        pytest.skip("fetchpool is not installed")
    hosts = min(10, len(bed.hosts))
    urls = [bed.url(i % hosts, f"/page/{i}") for i in range(20)]
    argv = [fetchpool, "fetch", "-q", *urls, *(["-m", mode] if mode else [])]
    r = bed.run(argv, env={"SSL_CERT_FILE": str(bed.ca_file)}, timeout=60)
    records = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert len(records) == 20, r.stderr
    assert sorted(x["url"] for x in records) == sorted(urls)
    assert {x["status"] for x in records} == {200}, records
