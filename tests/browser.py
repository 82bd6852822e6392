"""Debian's headless Chromium for the tests that look at a page as a browser shows it (the
WARC replay in pywb, the run report): found, or installed by tools/install_chromium.sh."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

#: Flags of every headless run: no sandbox (tests may run as root), no GPU.
HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
#: And with no network at all: every host name fails to resolve, and no proxy is tried.
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--no-proxy-server"]


def chromium() -> str:
    """The path of a headless Chromium; skips the test when there is none and it cannot
    be installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    script = Path(__file__).parent / "tools" / "install_chromium.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600)
    found = shutil.which("chromium")
    if done.returncode or not found:
        pytest.skip(f"no headless Chromium, and {script.name} could not install it: "
                    f"{(done.stderr or done.stdout).strip()[-300:]}")  # fmt: skip
    return found
