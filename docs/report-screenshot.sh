#!/bin/sh
# Makes docs/report.png as the README shows it: a run on three built-in test sites (pages,
# slow pages, 404s and 503s, a dead port, pages slower than the timeout), its report made
# by `fetchpool report`, and a screenshot of the report by Debian's headless Chromium.
# Run from the repository's root with the .venv installed: sh docs/report-screenshot.sh
set -eu
bin=$(pwd)/.venv/bin
work=$(mktemp -d)
trap 'kill $(cat "$work"/pids) 2>/dev/null; rm -rf "$work"' EXIT
for host in 127.0.0.1 127.0.0.2 127.0.0.3; do
  "$bin/fetchpool" serve --host $host --port 8016 >/dev/null & echo $! >>"$work/pids"
done
sleep 2
"$bin/python" - "$work/urls.txt" <<'PY'
import random, sys
rng = random.Random(16)
with open(sys.argv[1], "w") as out:
    for i in range(6000):
        host = rng.choice(["127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.3"])
        r = rng.random()
        if r < 0.75:
            path = f"/delay/{int(rng.lognormvariate(3.5, 0.8))}/{i}"
        elif r < 0.83:
            path = f"/status/{rng.choice([404, 404, 500, 503])}?{i}"
        elif r < 0.86:
            host, path = "127.0.0.1:9", f"/{i}"
        elif r < 0.88:
            path = f"/delay/4000/{i}"
        else:
            path = f"/page/{i}"
        if ":" not in host:
            host += ":8016"
        out.write(f"http://{host}{path}\n")
PY
"$bin/fetchpool" fetch "$work/urls.txt" -o "$work/run.jsonl" -c 48 --timeout 2 --retries 1 \
  --backoff 0.2 -q
"$bin/fetchpool" report "$work/run.jsonl" -o "$work/report.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --host-resolver-rules='MAP * ~NOTFOUND' --no-proxy-server \
  --screenshot="$(pwd)/docs/report.png" --window-size=1400,1750 "file://$work/report.html" \
  2>/dev/null
