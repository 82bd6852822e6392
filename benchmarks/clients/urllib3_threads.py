"""urllib3 on N threads: one shared PoolManager, N plain threads pulling URLs from one iterator.

Usage: python urllib3_threads.py URLS_FILE THREADS  -> prints the number of 200 responses.
The natural limit of fetchpool's blocking modes (they use the same urllib3 pool), with no
records, no policy and no output.
"""

from __future__ import annotations

import sys
import threading

import urllib3


def main(path: str, threads: int) -> int:
    with open(path) as fh:
        urls = iter([line.strip() for line in fh if line.strip()])
    pool = urllib3.PoolManager(maxsize=threads, retries=False)
    lock = threading.Lock()
    counts = [0]

    def worker() -> None:
        ok = 0
        while True:
            with lock:  # one iterator, shared: take the next URL under the lock
                url = next(urls, None)
            if url is None:
                break
            response = pool.request("GET", url)
            ok += response.status == 200
        with lock:
            counts[0] += ok

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return counts[0]


if __name__ == "__main__":
    print(main(sys.argv[1], int(sys.argv[2])))
