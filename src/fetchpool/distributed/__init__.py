"""Fetching spread over processes: ``-m processes`` (:mod:`.processes`, its workers in
:mod:`.worker`) and ``--cluster`` on Dask (:mod:`.cluster`). Each worker runs a mode of
:mod:`fetchpool.modes` on its share of the URLs; records come back to the one writer."""
