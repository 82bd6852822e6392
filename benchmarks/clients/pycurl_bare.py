"""A bare pycurl CurlMulti loop: N reused easy handles, bodies counted by ``len``, no records.

Usage: python pycurl_bare.py URLS_FILE CONCURRENCY  -> prints the number of 200 responses.
The ceiling for any Python driver of libcurl: fetchpool's curl mode adds its policy, its
records and their output on top of this.
"""

from __future__ import annotations

import sys

import pycurl


def main(path: str, concurrency: int) -> int:
    with open(path) as fh:
        urls = iter([line.strip() for line in fh if line.strip()])
    multi = pycurl.CurlMulti()
    free = []
    for _ in range(concurrency):
        handle = pycurl.Curl()
        handle.setopt(pycurl.WRITEFUNCTION, len)  # "all bytes taken", in C
        handle.setopt(pycurl.NOSIGNAL, 1)
        free.append(handle)
    running = ok = 0
    while True:
        while free:
            url = next(urls, None)
            if url is None:
                break
            handle = free.pop()
            handle.setopt(pycurl.URL, url)
            multi.add_handle(handle)
            running += 1
        if not running:
            break
        multi.select(1.0)
        while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        while True:
            queued, done, failed = multi.info_read()
            for handle in done:
                ok += handle.getinfo(pycurl.RESPONSE_CODE) == 200
            for handle in done + [f[0] for f in failed]:
                multi.remove_handle(handle)
                free.append(handle)
                running -= 1
            if not queued:
                break
    return ok


if __name__ == "__main__":
    print(main(sys.argv[1], int(sys.argv[2])))
