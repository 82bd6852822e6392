"""The pytest side of the bed: a session fixture `bed`, skipped with the reason where the
bed can't run (no root, no namespaces, packages missing).

A test module uses it with `pytest_plugins = ["bed.plugin"]` (or conftest.py does, once for
all) and a `bed` argument; no marker is needed. BED_HOSTS sets the number of hosts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from . import Bed, unavailable


@pytest.fixture(scope="session")
def bed() -> Iterator[Bed]:
    reason = unavailable()
    if reason:
        pytest.skip(f"test bed unavailable: {reason}")
    with Bed.start(hosts=int(os.environ.get("BED_HOSTS", "20")), dns_delay=0.2) as b:
        yield b
