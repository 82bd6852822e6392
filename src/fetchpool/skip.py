"""Skip what is done and duplicates: the step between the sources and the engine.

Each URL (trimmed text, as the sources give it) is known by a 63-bit digest (blake2b),
kept in an open-addressing table of 8-byte slots, not as a string: a million URLs take
16 MB, where a ``set`` of the strings would take well over 100 MB. Two different URLs
share a digest with odds of about n²/2⁶⁴ (1 in 18 million for a million URLs); the
second would then be skipped as a duplicate.

The lowest bit of a slot says where the URL came from: 1 for a URL already recorded in the
output (``--resume``), 0 for one seen in this run's input. Pure; no I/O.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from hashlib import blake2b

__all__ = ["Skip", "digest"]

_MIN_SLOTS = 1024


def digest(url: str) -> int:
    """A URL's 63-bit digest, never 0 (0 marks an empty slot)."""
    raw = blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return (int.from_bytes(raw, "little") >> 1) or 1


class Skip:
    """Passes each URL through once: not again when repeated, not at all when recorded.

    ``skip.add_recorded(url)`` for every URL the output already holds, then
    ``for url in skip(urls)``. Counters: ``recorded`` (URLs the output holds), ``done``
    (skipped as already recorded), ``duplicates`` (skipped as repeated in the input).
    """

    def __init__(self) -> None:
        self._slots = array("Q", bytes(8 * _MIN_SLOTS))
        self._used = 0
        self.recorded = 0
        self.done = 0
        self.duplicates = 0

    def __len__(self) -> int:
        return self._used

    @property
    def nbytes(self) -> int:
        """Memory held by the table."""
        return len(self._slots) * self._slots.itemsize

    def _find(self, h: int) -> int:
        """The slot holding ``h``, or the empty slot where it belongs (linear probing)."""
        slots = self._slots
        mask = len(slots) - 1
        i = h & mask
        while True:
            v = slots[i]
            if v == 0 or v >> 1 == h:
                return i
            i = (i + 1) & mask

    def _put(self, i: int, value: int) -> None:
        self._slots[i] = value
        self._used += 1
        if self._used * 2 > len(self._slots):  # keep the table at most half full
            old = self._slots
            self._slots = array("Q", bytes(16 * len(old)))
            for v in old:
                if v:
                    self._slots[self._find(v >> 1)] = v

    def add_recorded(self, url: str) -> None:
        """``url`` is already in the output: skip it when the input names it."""
        h = digest(url)
        i = self._find(h)
        if self._slots[i] == 0:
            self._put(i, (h << 1) | 1)
            self.recorded += 1

    def __call__(self, urls: Iterable[str]) -> Iterator[str]:
        """The URLs of ``urls`` that are neither recorded nor seen before, lazily."""
        for url in urls:
            h = digest(url)
            i = self._find(h)
            v = self._slots[i]
            if v == 0:
                self._put(i, h << 1)
                yield url
            elif v & 1:
                self._slots[i] = h << 1  # the next time it is a duplicate
                self.done += 1
            else:
                self.duplicates += 1
