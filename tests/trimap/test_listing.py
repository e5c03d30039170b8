"""Paging arithmetic on UID ranges and the listing cursor, checked against plain lists."""

from __future__ import annotations

import random

import pytest

from imapproto import SequenceSet
from trimap.mailbox.listing import Cursor, InvalidCursor, PageRequest, slice_page


def page_of(uids: list[int], size: int, page: int) -> list[int]:
    newest_first = sorted(uids, reverse=True)
    return newest_first[page * size : (page + 1) * size]


@pytest.mark.parametrize("seed", range(20))
def test_pages_and_cursors_match_a_plain_list(seed: int) -> None:
    rng = random.Random(seed)
    uids = sorted(rng.sample(range(1, 400), rng.randint(0, 120)))
    uid_set = SequenceSet.from_iterable(uids)
    size = rng.randint(1, 25)
    pages = max(1, -(-len(uids) // size))
    for page in range(pages + 2):
        cut = slice_page(uid_set, PageRequest(page_size=size, page=page))
        clamped = min(page, pages - 1)
        assert sorted(cut.uids, reverse=True) == page_of(uids, size, clamped)
        assert (cut.total, cut.page, cut.pages) == (len(uids), clamped, pages)
        assert cut.more == (clamped < pages - 1)

    # Following cursors walks every UID once, in order, one page at a time.
    walked: list[int] = []
    request = PageRequest(page_size=size)
    while True:
        cut = slice_page(uid_set, request)
        assert cut.page == len(walked) // size
        walked += sorted(cut.uids, reverse=True)
        if not cut.more:
            break
        request = PageRequest(page_size=size, cursor=Cursor(1, cut.uids.min()))
    assert walked == sorted(uids, reverse=True)


def test_a_cursor_is_keyset_paging_on_uids() -> None:
    before = SequenceSet.parse("1:10")
    first = slice_page(before, PageRequest(page_size=4))
    assert first.uids == SequenceSet.parse("7:10") and first.more
    # 11 and 12 arrive, 6 is expunged: the next page still starts right below 7.
    after = SequenceSet.parse("1:5,7:12")
    cursor = Cursor(1, first.uids.min())
    second = slice_page(after, PageRequest(page_size=4, cursor=cursor))
    assert second.uids == SequenceSet.parse("2:5") and second.more
    assert (second.total, second.page, second.pages) == (11, 1, 3)
    end = slice_page(after, PageRequest(page_size=4, cursor=Cursor(1, 1)))
    assert not end.uids and not end.more and end.page == 2


def test_cursors_round_trip_and_refuse_anything_else() -> None:
    cursor = Cursor(7, 4_000_000_000)
    text = cursor.encode()
    assert Cursor.decode(text) == cursor and len(text) == 12
    assert text == "AQAAAAfuaygA"
    for bad in (
        "",
        "x",
        text + "A",
        "AQAAAAfuay+A",
        "AQAAAAfuayg=",
        "AgAAAAcAAAAB",
        "AQAAAAcAAAAA",
        "é" * 12,
    ):
        with pytest.raises(InvalidCursor):
            Cursor.decode(bad)
