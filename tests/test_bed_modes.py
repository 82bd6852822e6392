"""Every mode on the test bed's names, addresses and faults, driven as a user runs fetchpool:
names whose server never answers next to good ones (they must not starve them), missing
and slow names, IDN hosts, IPv6, TLS faults, and the protocol that answered."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fetchpool
from bed import Bed, unavailable

pytest_plugins = ["bed.plugin"]

#: Every way of running: each mode, and a Dask cluster of the default one.
MODES = [*fetchpool.MODES, "cluster"]
TIMEOUT = 3.0
MARGIN = 2.0  # a record's elapsed past --timeout allowed on a loaded machine
DEAD_LOOKUP = 10.0  # what glibc spends on a name whose server never answers (the bed's)


def _fetchpool() -> str:
    found = Path(sys.executable).parent / "fetchpool"
    path = str(found) if found.exists() else shutil.which("fetchpool")
    if path is None:
        pytest.skip("fetchpool is not installed")
    return path


def _mode_args(mode: str) -> list[str]:
    if mode == "cluster":
        pytest.importorskip("distributed")
        return ["--cluster", "local:2"]
    return ["-m", mode]


def _fetch(bed: Bed, mode: str, urls: list[str], *flags: str) -> tuple[dict[str, Any], float]:
    """The records of one run, by URL, and how long the command ran."""
    argv = [_fetchpool(), "fetch", "-q", *_mode_args(mode), "--timeout", f"{TIMEOUT:g}"]
    argv += ["--retries", "0", *flags]
    started = time.monotonic()
    r = bed.run(argv, input="".join(u + "\n" for u in urls), timeout=120,
                env={"SSL_CERT_FILE": str(bed.trusted_bundle)})  # fmt: skip
    took = time.monotonic() - started
    assert r.returncode == 0, r.stderr
    records = {rec["url"]: rec for rec in map(json.loads, r.stdout.splitlines())}
    assert sorted(records) == sorted(urls), r.stderr
    return records, took


@pytest.fixture(scope="module")
def many() -> Iterator[Bed]:
    """A bed of 100 hosts, for 100 good URLs that each need a lookup of their own."""
    reason = unavailable()
    if reason:
        pytest.skip(f"test bed unavailable: {reason}")
    with Bed.start(hosts=100, dns_delay=0.2) as b:
        yield b


@pytest.mark.parametrize("mode", MODES)
def test_dead_names_do_not_starve_good_ones(many: Bed, mode: str) -> None:
    # 16 names under dead.test (each its own lookup, which the bed's server swallows),
    # first in the list, then good hosts; in sequence only a few, one lookup at a time.
    dead_count, good_count = (2, 20) if mode == "sequential" else (16, 100)
    dead = [f"https://n{i}.{Bed.DEAD}/page/{i}" for i in range(dead_count)]
    good = [many.url(i, f"/page/{i}") for i in range(good_count)]
    _, baseline = _fetch(many, mode, [many.url(0, "/page/0")], "-c", "64")
    records, took = _fetch(many, mode, dead + good, "-c", "64")
    bad = {u: r["error"] for u, r in records.items() if u in good and r["status"] != 200}
    assert not bad, bad
    for url in dead:
        rec = records[url]
        assert rec["error"].split(":")[0] in ("dns", "timeout"), rec
        assert rec["elapsed"] <= TIMEOUT + MARGIN, rec  # not the resolver's 10 s
    # The run ends with its last record, not when an abandoned lookup gives up (10 s after
    # it began): allowed half the way from the deadline to then. `baseline` is this mode's
    # cost of starting and ending on this machine.
    serial = TIMEOUT * dead_count if mode == "sequential" else TIMEOUT
    assert took < baseline + serial + (DEAD_LOOKUP - TIMEOUT) / 2, (took, baseline)


def _host_of(bed: Bed, mark: int, path: str, count: int) -> set[str]:
    log = bed.access_log(since=mark, wait_for=count)
    return {e["host"] for e in log if e["uri"] == path}


@pytest.mark.parametrize("mode", MODES)
def test_names_addresses_and_tls_faults(bed: Bed, mode: str) -> None:
    idn = {
        "https://bücher.test/page/1": "xn--bcher-kva.test",
        "https://BÜCHER.test/page/2": "xn--bcher-kva.test",
        "https://xn--bcher-kva.test/page/3": "xn--bcher-kva.test",
        "https://straße.test/page/4": "xn--strae-oqa.test",  # IDNA 2008, not "strasse"
        f"https://{Bed.V6ONLY}/page/5": Bed.V6ONLY,
    }
    good = [
        *idn,
        f"https://{Bed.SLOW}/page/6",  # the answer takes 0.2 s, within --timeout
        "https://[::1]/page/7",
        "http://[::1]/page/8",
        bed.url(0, "/page/9", https=False),
        bed.url(1, "/page/10"),
    ]
    faults = {
        f"https://{Bed.NXDOMAIN}/": ("dns",),
        f"https://{Bed.DEAD}/": ("dns", "timeout"),
        f"https://{Bed.EXPIRED}/": ("tls",),
        f"https://{Bed.WRONGNAME}/": ("tls",),
        f"https://{Bed.SILENT}/": ("timeout",),
        f"http://{Bed.SILENT}/": ("timeout",),
    }
    mark = bed.mark()
    records, _ = _fetch(bed, mode, good + list(faults))
    for url in good:
        rec = records[url]
        assert rec["status"] == 200 and rec["error"] is None, rec
        # the cluster's workers run the default mode, curl
        h2 = mode in ("curl", "cluster") and url.startswith("https:")
        assert rec["http_version"] == ("2" if h2 else "1.1"), rec
    for url, kinds in faults.items():
        rec = records[url]
        assert rec["error"].split(":")[0] in kinds, rec
        assert rec["elapsed"] <= TIMEOUT + MARGIN and rec["http_version"] is None, rec
    for url, host in idn.items():
        path = "/" + url.split("/", 3)[3]
        assert _host_of(bed, mark, path, len(good)) == {host}, url
