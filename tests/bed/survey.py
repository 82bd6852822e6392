"""What each of fetchpool's modes does on the bed: pages, HTTP versions, IDN, IPv6, DNS and
TLS faults, proxies. Drives the installed command only; prints a table per mode.

    cd tests && python -m bed.survey [--modes curl,async] [--fetchpool PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from . import Bed

MODES = ("curl", "sequential", "threadpool", "to-thread", "threading", "async", "processes")


def fetch(bed: Bed, fp: str, mode: str, urls: list[str], env: dict[str, str], *extra: str):
    argv = [fp, "fetch", "-q", "-m", mode, "--retries", "0", "--timeout", "4", *extra, *urls]
    t = time.monotonic()
    r = bed.run(argv, env=env, timeout=120)
    took = time.monotonic() - t
    recs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return recs, took, r


def brief(rec: dict) -> str:
    if rec.get("error"):
        return f"{rec['error'][:70]} ({rec['elapsed']:.2f}s)"
    return f"{rec['status']} ({rec['elapsed']:.2f}s)"


def survey(bed: Bed, fp: str, mode: str) -> None:
    ca = {"SSL_CERT_FILE": str(bed.ca_file)}
    print(f"\n== {mode}")
    urls = [bed.url(i % 10, f"/page/{i}") for i in range(20)]
    mark = bed.mark()
    recs, took, r = fetch(bed, fp, mode, urls, ca)
    log = bed.access_log(since=mark, wait_for=len(recs), timeout=5)
    statuses = Counter(x["status"] for x in recs)
    protos = Counter(x["server_protocol"] for x in log)
    conns = len({x["connection"] for x in log})
    reused = sum(x["ssl_session_reused"] == "r" for x in log)
    print(
        f"  20 https pages: {len(recs)} records {dict(statuses)} in {took:.2f}s rc={r.returncode};"
        f" nginx saw {dict(protos)} on {conns} connections, {reused} resumed"
    )
    recs, _, _ = fetch(
        bed, fp, mode, [bed.url(1, "/page/1")], {"SSL_CERT_FILE": str(bed.trusted_bundle)}
    )
    print(f"  trusted bundle: {brief(recs[0]) if recs else 'no record'}")
    cases = [
        "http://h1.test/page/1",
        "https://bücher.test/page/1",
        "https://xn--bcher-kva.test/page/1",
        "https://straße.test/page/1",
        "https://v6only.test/page/1",
        "https://h0.test/redirect-other",
        "https://nosuch.test/",
        "https://slow.test/page/1",
        "https://dead.test/",
        "https://expired.test/",
        "https://wrongname.test/",
        "https://silent.test/",
        "https://refused.test/",
    ]
    recs, took, r = fetch(bed, fp, mode, cases, ca)
    by_url = {x["url"]: x for x in recs}
    for u in cases:
        rec = by_url.get(u)
        extra = f" -> {rec['final_url']}" if rec and rec.get("final_url") not in (None, u) else ""
        print(f"  {u:40} {brief(rec) if rec else 'NO RECORD'}{extra}")
    print(
        f"  (faults run: {took:.2f}s, rc={r.returncode})",
        r.stderr[-200:] if r.returncode > 1 else "",
    )
    proxies = {
        "open proxy": bed.proxy_url,
        "auth proxy": bed.auth_proxy_url,
        "auth proxy, no credentials": bed.auth_proxy_url_no_credentials,
        "refused proxy": bed.refused_proxy_url,
    }
    for label, px in proxies.items():
        env = {**ca, "http_proxy": px, "https_proxy": px}
        recs, _, r = fetch(
            bed, fp, mode, [bed.url(2, "/page/2", https=False), bed.url(2, "/page/3")], env
        )
        got = " | ".join(f"{x['url'].split(':')[0]}: {brief(x)}" for x in recs) or r.stderr[-200:]
        print(f"  {label:28} {got}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--fetchpool", default=str(Path(sys.executable).parent / "fetchpool"))
    args = ap.parse_args()
    fp = args.fetchpool if Path(args.fetchpool).exists() else shutil.which("fetchpool")
    if fp is None:
        sys.exit("fetchpool not found")
    with Bed.start(hosts=10, dns_delay=0.2) as bed:
        print(f"bed started in {bed.started_in:.2f}s")
        for mode in args.modes.split(","):
            survey(bed, fp, mode)


if __name__ == "__main__":
    main()
