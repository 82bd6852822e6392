"""Where a fetch runs: a mode in this process (:mod:`fetchpool.modes`), worker processes
(``-m processes``) or a Dask cluster (``--cluster``), both in :mod:`fetchpool.distributed`.
The one entry point of the library (:mod:`.api`) and the pipeline (:mod:`.pipeline`)."""

from __future__ import annotations

from collections.abc import Generator, Iterable

from . import modes
from .config import Config
from .records import Record

__all__ = ["module_for", "run"]


def module_for(config: Config) -> str:
    """The module that runs ``config``'s fetch (to import it ahead, as the bench does)."""
    if config.cluster is not None:
        return "fetchpool.distributed.cluster"
    if config.mode == "processes":
        return "fetchpool.distributed.processes"
    return f"fetchpool.modes.{modes.MODULES[config.mode]}"


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    """One record per URL of ``urls``, as each completes, by the engine ``config`` names.
    The ``processes`` and ``cluster`` engines make the ``--extract`` sink in their
    workers, where the bodies are read; the modes here make it in :func:`modes.run`.
    A setting that cannot be used (a ``cacert`` that does not load) raises UsageError
    here, before any URL is read."""
    if config.cacert is not None:
        from .transports.tls import context_for

        context_for(config)
    if config.cluster is not None:
        from .distributed import cluster

        return cluster.run(urls, config)
    if config.mode == "processes":
        from .distributed import processes

        return processes.run(urls, config)
    return modes.run(urls, config)
