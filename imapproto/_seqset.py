"""IMAP sequence sets (RFC 3501 ``sequence-set``) as compact ranges.

Theory of operation: a ``SequenceSet`` is a tuple of inclusive ``(start, end)``
ranges kept in one canonical form -- sorted, disjoint and never adjacent
(``1:3,4`` is stored as ``1:4``).  Memory and the cost of every operation grow
with the number of ranges, never with the number of ids a range covers, so a
mailbox of a million UIDs with few gaps is a handful of pairs.  Because the form
is canonical, ``==`` and ``hash`` are set equality, and ``to_bytes`` gives the
shortest wire form, which ``parse`` reads back (trimap stores UID sets in Redis
this way).

Rules this module keeps:

* Numbers are IMAP ``nz-number`` values, ``1 <= n <= 4294967295``; anything
  else is a ``ValueError`` (the response parser turns it into a
  ``ProtocolError``, command builders into a ``LocalProtocolError``).
* ``*`` ("the largest number in use") is stored as ``STAR``, one more than the
  largest valid number, so it sorts last and range arithmetic needs no special
  case.  It exists for commands (``UID FETCH 1:* ...``, ``SEARCH UID 5:*``); a
  set holding it has no definite members, so ``len`` and iteration raise
  ``ValueError`` on it, while ``in``, ``min``, ``max`` and set operations treat
  ``STAR`` as an ordinary number.  ``parse`` accepts ``*`` only when asked.
* Set operations merge the two range lists in one pass; nothing is ever
  expanded into individual ids.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["MAX_NUMBER", "STAR", "SequenceSet"]

MAX_NUMBER = 0xFFFFFFFF
STAR = MAX_NUMBER + 1

Range = tuple[int, int]


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """A set of message numbers or UIDs stored as canonical inclusive ranges."""

    ranges: tuple[Range, ...] = ()

    def __post_init__(self) -> None:
        previous_end = -1
        for start, end in self.ranges:
            _check_number(start)
            _check_number(end)
            if start > end or start <= previous_end + 1:
                raise ValueError(f"ranges are not sorted, disjoint and apart: {self.ranges!r}")
            previous_end = end

    # -- constructors ---------------------------------------------------------

    @classmethod
    def from_iterable(cls, numbers: Iterable[int]) -> SequenceSet:
        """The set of the given numbers (any order, duplicates allowed)."""
        ordered = sorted(set(numbers))
        if not ordered:
            return _EMPTY
        _check_number(ordered[0])
        _check_number(ordered[-1])
        ranges: list[Range] = []
        start = end = ordered[0]
        for number in ordered[1:]:
            if number != end + 1:
                ranges.append((start, end))
                start = number
            end = number
        ranges.append((start, end))
        return _canonical(ranges)

    @classmethod
    def from_ranges(cls, ranges: Iterable[Range]) -> SequenceSet:
        """The union of inclusive ranges, given in any order; ``(5, 2)`` means ``2:5``."""
        checked: list[Range] = []
        for first, second in ranges:
            _check_number(first)
            _check_number(second)
            checked.append((first, second) if first <= second else (second, first))
        return _canonical(_merge(sorted(checked)))

    @classmethod
    def parse(cls, raw: bytes | str, allow_star: bool = False) -> SequenceSet:
        """Read the IMAP form (``1:5,7,9:*``); ``ValueError`` if it is not one."""
        text = raw.decode("ascii") if isinstance(raw, bytes) else raw
        ranges: list[Range] = []
        for part in text.split(","):
            first, colon, second = part.partition(":")
            start = _parse_number(first, allow_star)
            end = _parse_number(second, allow_star) if colon else start
            ranges.append((start, end) if start <= end else (end, start))
        return _canonical(_merge(sorted(ranges)))

    # -- wire form --------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The shortest IMAP form, e.g. ``b"1:5,7,9:*"``; ``b""`` for the empty set."""
        return ",".join(_format_range(start, end) for start, end in self.ranges).encode("ascii")

    def __repr__(self) -> str:
        return f"SequenceSet({self.to_bytes().decode('ascii')!r})"

    # -- container protocol ----------------------------------------------------

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __len__(self) -> int:
        self._refuse_star("len()")
        return sum(end - start + 1 for start, end in self.ranges)

    def __iter__(self) -> Iterator[int]:
        self._refuse_star("iteration")
        for start, end in self.ranges:
            yield from range(start, end + 1)

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        index = bisect_right(self.ranges, (number, STAR + 1))
        return index > 0 and self.ranges[index - 1][1] >= number

    def min(self) -> int:
        """The smallest member; ``ValueError`` when empty."""
        if not self.ranges:
            raise ValueError("min() of an empty SequenceSet")
        return self.ranges[0][0]

    def max(self) -> int:
        """The largest member (``STAR`` if the set reaches ``*``); ``ValueError`` when empty."""
        if not self.ranges:
            raise ValueError("max() of an empty SequenceSet")
        return self.ranges[-1][1]

    @property
    def has_star(self) -> bool:
        """True if the set reaches ``*``."""
        return bool(self.ranges) and self.ranges[-1][1] == STAR

    # -- set operations ---------------------------------------------------------

    def union(self, other: SequenceSet) -> SequenceSet:
        """Ids in either set."""
        return _canonical(_merge(sorted(self.ranges + other.ranges)))

    def intersection(self, other: SequenceSet) -> SequenceSet:
        """Ids in both sets."""
        result: list[Range] = []
        mine, theirs = self.ranges, other.ranges
        i = j = 0
        while i < len(mine) and j < len(theirs):
            start = max(mine[i][0], theirs[j][0])
            end = min(mine[i][1], theirs[j][1])
            if start <= end:
                result.append((start, end))
            if mine[i][1] < theirs[j][1]:
                i += 1
            else:
                j += 1
        return _canonical(result)

    def difference(self, other: SequenceSet) -> SequenceSet:
        """Ids in this set and not in ``other``."""
        result: list[Range] = []
        theirs = other.ranges
        j = 0
        for start, end in self.ranges:
            # Skip ranges of ``other`` wholly before this one.
            while j < len(theirs) and theirs[j][1] < start:
                j += 1
            k = j
            while k < len(theirs) and theirs[k][0] <= end:
                cut_start, cut_end = theirs[k]
                if cut_start > start:
                    result.append((start, cut_start - 1))
                start = cut_end + 1
                if start > end:
                    break
                k += 1
            if start <= end:
                result.append((start, end))
        return _canonical(result)

    __or__ = union
    __and__ = intersection
    __sub__ = difference

    def _refuse_star(self, operation: str) -> None:
        if self.has_star:
            raise ValueError(f"{operation} of a SequenceSet reaching '*' is undefined")


def _check_number(number: int) -> None:
    if not 1 <= number <= STAR:
        raise ValueError(f"{number!r} is not a valid IMAP number (1..{MAX_NUMBER} or STAR)")


def _parse_number(text: str, allow_star: bool) -> int:
    if text == "*":
        if not allow_star:
            raise ValueError("'*' is not allowed in this sequence set")
        return STAR
    # int() would also take "+1", " 1", "1_0" and non-ASCII digits.
    if not (text.isascii() and text.isdigit()) or text[0] == "0":
        raise ValueError(f"{text!r} is not an IMAP nz-number")
    number = int(text)
    if number > MAX_NUMBER:
        raise ValueError(f"{text!r} is larger than {MAX_NUMBER}")
    return number


def _merge(ordered: list[Range]) -> list[Range]:
    """Coalesce sorted ranges that overlap or touch."""
    merged: list[Range] = []
    for start, end in ordered:
        if merged and start <= merged[-1][1] + 1:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _canonical(ranges: list[Range]) -> SequenceSet:
    """Wrap ranges already known to be canonical, skipping ``__post_init__``'s check."""
    seqset = object.__new__(SequenceSet)
    object.__setattr__(seqset, "ranges", tuple(ranges))
    return seqset


def _format_range(start: int, end: int) -> str:
    first = "*" if start == STAR else str(start)
    if start == end:
        return first
    return f"{first}:{'*' if end == STAR else end}"


_EMPTY = SequenceSet()
