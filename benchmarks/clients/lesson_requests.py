"""The lesson's way: ``ThreadPoolExecutor`` + ``requests.get``, every URL submitted up front.

Usage: python lesson_requests.py URLS_FILE WORKERS  -> prints the number of 200 responses.
As in the lesson: a plain ``requests.get`` per URL (no shared Session, so a new connection
each time) and ``as_completed`` over one future per URL.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor, as_completed

import requests


def download(url: str) -> tuple[int, int]:
    response = requests.get(url, timeout=30)
    return response.status_code, len(response.content)


def main(path: str, workers: int) -> int:
    with open(path) as fh:
        urls = [line.strip() for line in fh if line.strip()]
    ok = 0
    with ThreadPoolExecutor(max_workers=workers) as executor:
        futures = {executor.submit(download, url): url for url in urls}
        for future in as_completed(futures):
            status, _ = future.result()
            ok += status == 200
    return ok


if __name__ == "__main__":
    print(main(sys.argv[1], int(sys.argv[2])))
