"""The modules mypyc compiles when fetchpool is built (pyproject.toml's [tool.fetchpool]
compiled; setup.py), for the tests to hold the build to what the code says."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def compiled_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["fetchpool"]["compiled"])


def source_of(name: str) -> Path:
    return ROOT / "src" / (name.replace(".", "/") + ".py")


def stale_modules() -> list[str]:
    """Compiled modules whose source changed after they were built: what runs is the
    compiled one, the old code."""
    stale = []
    for name in compiled_modules():
        source = source_of(name)
        built = list(source.parent.glob(f"{source.stem}.cpython-*.so"))
        if built and source.stat().st_mtime > min(b.stat().st_mtime for b in built):
            stale.append(name)
    return stale
