"""WARC/1.1 archives of what went over the wire (``--warc FILE``), for web archivists.

The transport of a mode that can see the exact bytes (the ``curl`` mode) fills a
:class:`~.capture.Capture` for every request that got a whole response — the request head
as sent, the response head and body as received (transfer coding removed, content coding
kept), the peer's address — and hands it over on the request's ``Outcome``; the scheduler
collects the captures of one URL's redirect hops and retries and gives them to the run's
:class:`~.writer.ArchiveWriter` when the URL's record is made. That writer, a thread, has
the archive's own process (:mod:`.child`, owning :mod:`.files`) append a ``request`` and a
``response`` (or ``revisit``) record per request, one gzip member each (:mod:`.format`), and
fsync the archive, and only then hands the records on to the records output, each with where
its response lies (``warc_file``, ``warc_offset``).
So every record in the output has its response durable in the archive, and ``--resume``
cuts whatever the archive holds past the last recorded response (:mod:`.resume`). The
CDXJ index is written in the same pass (:mod:`.index`). Workers never write files.
"""

from __future__ import annotations

__all__ = ["ARCHIVING_MODES"]

#: The modes whose transport gives the exact bytes sent and received.
ARCHIVING_MODES = frozenset({"curl"})
