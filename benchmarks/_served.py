"""Shared by the benchmark scripts: the built-in site in a process of its own, and URL lists."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = str(Path(sys.executable).parent / "fetchpool")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served() -> Iterator[str]:
    """``fetchpool serve`` in its own process (so it does not share a GIL with the client);
    yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [BIN, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(base + "/stats", timeout=1) as resp:
                    json.load(resp)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("fetchpool serve did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def write_urls(path: Path, base: str, n: int) -> list[str]:
    urls = [f"{base}/page/{i}" for i in range(n)]
    path.write_text("\n".join(urls) + "\n")
    return urls
