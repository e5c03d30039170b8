"""SequenceSet against Python ``set`` as the oracle."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imapproto._seqset import MAX_NUMBER, STAR, SequenceSet

# Small numbers make overlaps, adjacency and gaps likely; a few large ones
# check the edges of the valid range.
small_numbers = st.integers(min_value=1, max_value=60)
numbers = st.one_of(
    small_numbers,
    st.integers(min_value=MAX_NUMBER - 5, max_value=MAX_NUMBER),
)
number_sets = st.frozensets(numbers, max_size=40)


def _is_canonical(seqset: SequenceSet) -> bool:
    ends = [end for _, end in seqset.ranges]
    starts = [start for start, _ in seqset.ranges]
    return all(s <= e for s, e in seqset.ranges) and all(
        start > end + 1 for end, start in zip(ends, starts[1:], strict=False)
    )


@settings(max_examples=200)
@given(number_sets)
def test_from_iterable_matches_set(ids: frozenset[int]) -> None:
    seqset = SequenceSet.from_iterable(ids)
    assert _is_canonical(seqset)
    assert list(seqset) == sorted(ids)
    assert len(seqset) == len(ids)
    assert bool(seqset) == bool(ids)
    for candidate in [*range(0, 62), MAX_NUMBER - 6, MAX_NUMBER, STAR]:
        assert (candidate in seqset) == (candidate in ids)
    if ids:
        assert seqset.min() == min(ids)
        assert seqset.max() == max(ids)


@settings(max_examples=200)
@given(number_sets, number_sets)
def test_set_operations_match_set(a: frozenset[int], b: frozenset[int]) -> None:
    sa, sb = SequenceSet.from_iterable(a), SequenceSet.from_iterable(b)
    for result, expected in [
        (sa.union(sb), a | b),
        (sa.intersection(sb), a & b),
        (sa.difference(sb), a - b),
        (sb.difference(sa), b - a),
        (sa | sb, a | b),
        (sa & sb, a & b),
        (sa - sb, a - b),
    ]:
        assert _is_canonical(result)
        assert result == SequenceSet.from_iterable(expected)
        assert set(result) == expected


@settings(max_examples=200)
@given(number_sets)
def test_wire_form_round_trips(ids: frozenset[int]) -> None:
    seqset = SequenceSet.from_iterable(ids)
    raw = seqset.to_bytes()
    if ids:
        assert SequenceSet.parse(raw) == seqset
        assert SequenceSet.parse(raw.decode()) == seqset
    else:
        assert raw == b""


@settings(max_examples=200)
@given(st.lists(st.tuples(small_numbers, small_numbers), max_size=15))
def test_from_ranges_and_parse_of_messy_input(pairs: list[tuple[int, int]]) -> None:
    expected = {n for a, b in pairs for n in range(min(a, b), max(a, b) + 1)}
    from_ranges = SequenceSet.from_ranges(pairs)
    assert _is_canonical(from_ranges)
    assert set(from_ranges) == expected
    if pairs:
        raw = ",".join(f"{a}:{b}" if a != b else str(a) for a, b in pairs)
        assert SequenceSet.parse(raw) == from_ranges


def test_compressed_form() -> None:
    seqset = SequenceSet.from_iterable([1, 2, 3, 4, 5, 7, 9, 10, 11, 12])
    assert seqset.to_bytes() == b"1:5,7,9:12"
    assert seqset.ranges == ((1, 5), (7, 7), (9, 12))
    assert repr(seqset) == "SequenceSet('1:5,7,9:12')"


def test_memory_is_independent_of_range_size() -> None:
    huge = SequenceSet.from_ranges([(1, MAX_NUMBER)])
    assert huge.ranges == ((1, MAX_NUMBER),)
    assert len(huge) == MAX_NUMBER
    assert (huge - SequenceSet.from_iterable([5])).to_bytes() == b"1:4,6:4294967295"


def test_star() -> None:
    seqset = SequenceSet.parse(b"1:*", allow_star=True)
    assert seqset.ranges == ((1, STAR),)
    assert seqset.has_star and seqset.max() == STAR
    assert seqset.to_bytes() == b"1:*"
    assert SequenceSet.parse("*:5", allow_star=True).to_bytes() == b"5:*"
    assert SequenceSet.parse("*", allow_star=True).to_bytes() == b"*"
    assert 10**6 in seqset and STAR in seqset
    assert (seqset - SequenceSet.from_ranges([(1, 9)])).to_bytes() == b"10:*"
    with pytest.raises(ValueError):
        len(seqset)
    with pytest.raises(ValueError):
        iter(seqset).__next__()
    with pytest.raises(ValueError):
        SequenceSet.parse(b"1:*")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b",",
        b"1,",
        b"0",
        b"1:0",
        b"01",
        b"+1",
        b" 1",
        b"1 ",
        b"1:2:3",
        b"a",
        b"4294967296",
        b"1_0",
        "١".encode(),
        b"\xff",
        b"1;2",
        b"**",
    ],
)
def test_parse_rejects(raw: bytes) -> None:
    with pytest.raises(ValueError):
        SequenceSet.parse(raw, allow_star=True)


def test_invalid_construction_is_refused() -> None:
    with pytest.raises(ValueError):
        SequenceSet(((3, 4), (1, 2)))
    with pytest.raises(ValueError):
        SequenceSet(((1, 2), (3, 4)))  # adjacent: not canonical
    with pytest.raises(ValueError):
        SequenceSet(((0, 2),))
    with pytest.raises(ValueError):
        SequenceSet.from_iterable([0])
    with pytest.raises(ValueError):
        SequenceSet.from_ranges([(1, STAR + 1)])
    assert SequenceSet(((1, 2), (4, 4))) == SequenceSet.parse("1:2,4")


def test_empty_set() -> None:
    empty = SequenceSet()
    assert not empty and len(empty) == 0 and list(empty) == [] and 1 not in empty
    assert SequenceSet.from_iterable([]) == empty
    with pytest.raises(ValueError):
        empty.min()
    with pytest.raises(ValueError):
        empty.max()


def test_hashable_and_picklable() -> None:
    seqset = SequenceSet.parse("1:3,7")
    assert hash(seqset) == hash(SequenceSet.from_iterable([1, 2, 3, 7]))
    assert pickle.loads(pickle.dumps(seqset)) == seqset
    assert "x" not in seqset
