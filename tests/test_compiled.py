"""The build compiles the hot path with mypyc (setup.py; pyproject.toml names the modules),
so every other test runs against the compiled modules; and an edit made after the build is
caught before the tests run (conftest.py), not silently run as the old compiled code."""

from __future__ import annotations

import importlib
import os
import time

import pytest

from compiled import compiled_modules, source_of, stale_modules

PURE = bool(os.environ.get("FETCHPOOL_PURE"))


@pytest.mark.skipif(PURE, reason="built as pure Python (FETCHPOOL_PURE)")
@pytest.mark.parametrize("name", compiled_modules())
def test_the_hot_path_is_compiled(name: str) -> None:
    module = importlib.import_module(name)
    assert str(module.__file__).endswith(".so"), f"{name} runs as Python: {module.__file__}"


def test_each_compiled_module_is_a_source_file_named_once() -> None:
    names = compiled_modules()
    assert len(names) == len(set(names))
    assert [n for n in names if not source_of(n).is_file()] == []


@pytest.mark.skipif(PURE, reason="built as pure Python (FETCHPOOL_PURE)")
def test_an_edit_after_the_build_makes_its_module_stale() -> None:
    name = compiled_modules()[0]
    source = source_of(name)
    st = source.stat()
    assert name not in stale_modules()
    try:
        later = time.time_ns() + 60 * 10**9  # after the build, whenever it was
        os.utime(source, ns=(st.st_atime_ns, later))
        assert name in stale_modules()
    finally:
        os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert name not in stale_modules()
