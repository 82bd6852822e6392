"""Skip what is done and duplicates: the step between the sources and the engine.

Each URL (trimmed text, as the sources give it) is known by a 63-bit digest, kept as an
8-byte number, not as a string: a million URLs take about 8.6 MB, where a ``set`` of the
strings would take well over 100 MB. The digest is Python's own string hash (SipHash-1-3
with a key drawn at start-up; a twelfth of the cost of blake2b, and the table lives only as
long as the process, so it need not be stable across runs). Two different URLs share a
digest with odds of about n²/2⁶⁴ (1 in 18 million for a million URLs); the second would
then be skipped as a duplicate.

The digests are split by their top 12 bits into 4,096 segments, each kept sorted and
searched with ``bisect`` (in C). The segments lie side by side, each with a little room to
grow, in one anonymous memory map. When a segment's room runs out, every segment is given
room again (a sixteenth of itself, and a few slots) and moved up in place: the map grows
with ``mremap``, which moves pages instead of copying them. So memory stays close to 8.6
bytes a URL at any size, with no moment of two copies. Separate growing arrays were tried
first: each holds 8 bytes a URL too, but their reallocations left the C heap a third
larger than the digests (12 MB resident for a million).

The lowest bit of a value says where the URL came from: 1 for a URL already recorded in the
output (``--resume``), 0 for one seen in this run's input. Pure; no I/O.
"""

from __future__ import annotations

import mmap
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import accumulate, pairwise

__all__ = ["Skip", "digest"]

_LOW_63 = (1 << 63) - 1
_SEGMENT_BITS = 12
_SEGMENTS = 1 << _SEGMENT_BITS
_SHIFT = 63 - _SEGMENT_BITS
_ROOM = 8  # slots given to every segment at each layout, besides a sixteenth of itself
_FIRST = 16  # each segment's slots at the start: 512 KiB mapped, touched only where used
# A private map: a shared anonymous one cannot grow past its first size (SIGBUS on Linux).
_PRIVATE = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS


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
        # Segment s holds count[s] sorted values from start[s]; its room ends at start[s + 1].
        self._start = array("q", range(0, (_SEGMENTS + 1) * _FIRST, _FIRST))
        self._count = array("q", bytes(8 * _SEGMENTS))
        self._map = mmap.mmap(-1, 8 * _SEGMENTS * _FIRST, flags=_PRIVATE)
        self._q = memoryview(self._map).cast("Q")
        self._used = 0
        self.recorded = 0
        self.done = 0
        self.duplicates = 0

    def __len__(self) -> int:
        return self._used

    @property
    def nbytes(self) -> int:
        """Memory held by the digests (the segments and the room between them)."""
        return self._start[_SEGMENTS] * 8

    def add_recorded(self, url: str) -> None:
        """``url`` is already in the output: skip it when the input names it."""
        h = digest(url)
        s = h >> _SHIFT
        key = h << 1
        a = self._start[s]
        end = a + self._count[s]
        i = bisect_left(self._q, key, a, end)
        if i == end or self._q[i] >> 1 != h:
            self._insert(s, i, key | 1)
            self.recorded += 1

    def __call__(self, urls: Iterable[str]) -> Iterator[str]:
        """The URLs of ``urls`` that are neither recorded nor seen before, lazily."""
        start, count = self._start, self._count
        for url in urls:
            h = hash(url) & _LOW_63  # digest(url), written out: this runs for every URL
            s = h >> _SHIFT
            key = h << 1
            a = start[s]
            end = a + count[s]
            q = self._q
            i = bisect_left(q, key, a, end)  # key and key | 1 sit side by side: either is here
            if i == end or q[i] >> 1 != h:
                # self._insert(s, i, key), written out: this runs for every URL passed
                if end == start[s + 1]:
                    moved = self._layout(s)
                    i += moved
                    end += moved
                    q = self._q
                if i < end:
                    self._map.move(8 * i + 8, 8 * i, 8 * (end - i))
                q[i] = key
                count[s] += 1
                self._used += 1
                yield url
            elif q[i] & 1:
                q[i] = key  # the next time it is a duplicate (the order is kept)
                self.done += 1
            else:
                self.duplicates += 1

    def _insert(self, s: int, i: int, key: int) -> None:
        """Put ``key`` at index ``i`` of the map, in segment ``s``."""
        start, count = self._start, self._count
        end = start[s] + count[s]
        if end == start[s + 1]:
            moved = self._layout(s)
            i += moved
            end += moved
        if i < end:
            self._map.move(8 * i + 8, 8 * i, 8 * (end - i))  # memmove, in bytes
        self._q[i] = key
        count[s] += 1
        self._used += 1

    def _layout(self, moving: int) -> int:
        """Give every segment room again; how far segment ``moving`` moved."""
        start, count = self._start, self._count
        pairs = zip(pairwise(start), count, strict=True)
        rooms = (max(b - a, n + (n >> 4) + _ROOM) for (a, b), n in pairs)
        new = array("q", accumulate(rooms, initial=0))
        if 8 * new[_SEGMENTS] > len(self._map):
            self._q.release()  # the map cannot be resized while a view of it exists
            self._map = _resized(self._map, 8 * new[_SEGMENTS] * 5 // 4)
            self._q = memoryview(self._map).cast("Q")
        move = self._map.move
        for s in range(_SEGMENTS - 1, 0, -1):  # from the top, so nothing is overwritten
            move(8 * new[s], 8 * start[s], 8 * count[s])
        moved = new[moving] - start[moving]
        start[:] = new
        return moved


def _resized(old: mmap.mmap, size: int) -> mmap.mmap:
    """``old`` grown to ``size`` bytes (a whole number of pages; those not written cost nothing)."""
    size = -(-size // mmap.PAGESIZE) * mmap.PAGESIZE
    try:
        old.resize(size)  # mremap: the pages move, nothing is copied
        return old
    except (OSError, SystemError):  # no mremap on this system: copy, once per growth
        new = mmap.mmap(-1, size, flags=_PRIVATE)
        new[: len(old)] = old
        old.close()
        return new
