#!/usr/bin/env bash
# Debian's headless Chromium, for the tests that look at pages (tests/browser.py).
# Installs with apt-get as root (or with sudo); exits non-zero when it cannot.
set -euo pipefail
if command -v chromium >/dev/null; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
command -v chromium >/dev/null
