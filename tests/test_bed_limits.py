"""--per-host holds per name on the real-web bed, in every mode: the requests nginx saw
overlapping at one host, from its access log (when each began and ended), never more than
the limit — and the limit reached, so the check can fail."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import fetchpool
from bed import Bed

pytest_plugins = ["bed.plugin"]

FETCHPOOL = str(Path(sys.executable).parent / "fetchpool")
PER_HOST = 2


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most intervals open at one moment (an end at the same instant as a start first)."""
    events = sorted([(b, 1) for b, _ in spans] + [(e, -1) for _, e in spans])
    at_once = most = 0
    for _, step in events:
        at_once += step
        most = max(most, at_once)
    return most


@pytest.mark.timeout(300)
@pytest.mark.parametrize("how", [*fetchpool.MODES, "cluster"])
def test_per_host_holds_per_name(bed: Bed, tmp_path: Path, how: str) -> None:
    hosts = [bed.host(i) for i in (3, 4, 5)]
    urls = [f"https://{h}/slow/{i}" for i in range(6) for h in hosts]
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(u + "\n" for u in urls))
    mode = ["--cluster", "local:2"] if how == "cluster" else ["-m", how]
    argv = [FETCHPOOL, "fetch", "-q", *mode, "-c", "16", "--per-host", str(PER_HOST),
            "--retries", "0", "--cacert", str(bed.ca_file), str(listing)]  # fmt: skip
    mark = bed.mark()
    done = bed.run(argv, timeout=240)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(r["status"] for r in records) == [200] * len(urls), records[:2]
    lines = [x for x in bed.access_log(since=mark, wait_for=len(urls)) if x["host"] in hosts]
    assert len(lines) == len(urls)
    most = {}
    for host in hosts:
        spans = [
            (float(x["time"]) - float(x["request_time"]), float(x["time"]))
            for x in lines
            if x["host"] == host
        ]
        most[host] = _most_at_once(spans)
    assert max(most.values()) <= PER_HOST, most
    # reached, except one at a time (sequential) and on the cluster, whose workers each get a
    # share of the limit and a list this small is one batch for one of them
    if how not in ("sequential", "cluster"):
        assert max(most.values()) == PER_HOST, most
