"""What a benchmark ran on: the Python build (with the GIL or free-threaded) and the cores.

The lesson's CPU-bound finding depends on both: threads cannot run Python code in parallel
under the GIL, and processes cannot go faster than the cores allow. A free-threaded CPython
(3.13t and later) runs threads in parallel, so every table says which build ran.
"""

from __future__ import annotations

import platform
import sys
import sysconfig
from dataclasses import dataclass

from ...distributed.start import usable_cores

__all__ = ["Machine", "this_machine"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Machine:
    implementation: str  # CPython, PyPy
    python: str  # 3.11.7
    free_threaded_build: bool  # built with --disable-gil (3.13t)
    gil_enabled: bool  # whether the GIL is on in this run (a 3.13t build can turn it back on)
    cores: int  # cores this process may use
    system: str  # Linux-6.1-x86_64

    @property
    def build(self) -> str:
        """``GIL`` or ``free-threaded`` (or ``free-threaded build, GIL on``)."""
        if not self.free_threaded_build:
            return "GIL"
        return "free-threaded" if not self.gil_enabled else "free-threaded build, GIL on"

    def label(self) -> str:
        """One line: ``CPython 3.11.7 (GIL), 2 cores``."""
        cores = f"{self.cores} core" + ("s" if self.cores != 1 else "")
        return f"{self.implementation} {self.python} ({self.build}), {cores}"


def this_machine() -> Machine:
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)  # Python 3.13+
    return Machine(
        implementation=platform.python_implementation(),
        python=platform.python_version(),
        free_threaded_build=free_threaded,
        gil_enabled=bool(is_gil_enabled()) if callable(is_gil_enabled) else True,
        cores=usable_cores(),
        system=platform.platform(terse=True),
    )
