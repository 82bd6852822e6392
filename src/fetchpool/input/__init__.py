"""The input side of a run: reading URLs from sources (:mod:`.sources`) and skipping what
is done or repeated (:mod:`.skip`). Nothing here fetches or writes."""
