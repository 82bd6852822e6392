"""Watching a run: the progress display on stderr (:mod:`.progress`)."""
