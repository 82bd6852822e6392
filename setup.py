"""fetchpool's build: setuptools, with the modules every request of the default mode runs
through ([tool.fetchpool] compiled, in pyproject.toml) compiled to C by mypyc, as mypy and
black ship theirs. The source stays the source: the same modules run as Python when built
with FETCHPOOL_PURE=1, or where mypyc cannot be had."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from setuptools import setup

HERE = Path(__file__).resolve().parent


def compiled() -> list[Any]:
    if os.environ.get("FETCHPOOL_PURE"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        return []
    config = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))
    paths = [f"src/{name.replace('.', '/')}.py" for name in config["tool"]["fetchpool"]["compiled"]]
    # The modules they import are read for their types, not checked again (make lint does
    # that); a library absent from the build environment is taken as untyped.
    options = ["--follow-imports=silent", "--ignore-missing-imports"]
    return mypycify([*options, *paths], opt_level="3", group_name="fetchpool")


setup(ext_modules=compiled())
