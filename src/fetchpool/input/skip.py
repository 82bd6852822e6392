"""Skip what is done and duplicates: the step between the sources and the engine.

Each URL (trimmed text, as the sources give it) is known by a 63-bit digest, kept as an
8-byte number, not as a string: a million URLs take about 8.5 MB, where a ``set`` of the
strings would take well over 100 MB. The digest is Python's own string hash (SipHash-1-3
with a key drawn at start-up; a twelfth of the cost of blake2b, and the table lives only as
long as the process, so it need not be stable across runs). Two different URLs share a
digest with odds of about n²/2⁶⁴ (1 in 18 million for a million URLs); the second would
then be skipped as a duplicate.

The digests are split by their top 12 bits into 4,096 sorted arrays, searched with
``bisect`` and grown by ``array.insert`` (both in C). A hash table would need slots to spare
(and, to grow, a second copy of itself for a moment); sorted arrays hold 8 bytes a URL and
grow a little at a time, so memory is close to 8 bytes a URL at any size. An insert moves
on average half of one array: 4,000 bytes at 10 million URLs.

The lowest bit of a value says where the URL came from: 1 for a URL already recorded in the
output (``--resume``), 0 for one seen in this run's input. Pure; no I/O.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator

__all__ = ["Skip", "digest"]

_LOW_63 = (1 << 63) - 1
_SEGMENT_BITS = 12
_SHIFT = 63 - _SEGMENT_BITS


def digest(url: str) -> int:
    """A URL's 63-bit digest; the same for the same text within one process."""
    return hash(url) & _LOW_63


class Skip:
    """Passes each URL through once: not again when repeated, not at all when recorded.

    ``skip.add_recorded(url)`` for every URL the output already holds, then
    ``for url in skip(urls)``. Counters: ``recorded`` (URLs the output holds), ``done``
    (skipped as already recorded), ``duplicates`` (skipped as repeated in the input).
    """

    def __init__(self) -> None:
        self._segments = [array("Q") for _ in range(1 << _SEGMENT_BITS)]
        self._used = 0
        self.recorded = 0
        self.done = 0
        self.duplicates = 0

    def __len__(self) -> int:
        return self._used

    @property
    def nbytes(self) -> int:
        """Memory held by the digests (the arrays' buffers, spare room included)."""
        return sum(a.buffer_info()[1] for a in self._segments) * 8

    def add_recorded(self, url: str) -> None:
        """``url`` is already in the output: skip it when the input names it."""
        h = digest(url)
        segment = self._segments[h >> _SHIFT]
        key = h << 1
        i = bisect_left(segment, key)
        if i == len(segment) or segment[i] >> 1 != h:
            segment.insert(i, key | 1)
            self._used += 1
            self.recorded += 1

    def __call__(self, urls: Iterable[str]) -> Iterator[str]:
        """The URLs of ``urls`` that are neither recorded nor seen before, lazily."""
        segments = self._segments
        for url in urls:
            h = hash(url) & _LOW_63  # digest(url), written out: this runs for every URL
            segment = segments[h >> _SHIFT]
            key = h << 1
            i = bisect_left(segment, key)  # key and key | 1 sit side by side: either is here
            if i == len(segment) or segment[i] >> 1 != h:
                segment.insert(i, key)
                self._used += 1
                yield url
            elif segment[i] & 1:
                segment[i] = key  # the next time it is a duplicate (the order is kept)
                self.done += 1
            else:
                self.duplicates += 1
