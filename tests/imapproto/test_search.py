"""Search criteria: what each key writes, how keys combine, when CHARSET is sent."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from imapproto import _search as search
from imapproto._commands import search as search_command
from imapproto._errors import LocalProtocolError
from imapproto._seqset import SequenceSet
from imapproto._writers import EncodingOptions

UTF8 = EncodingOptions(utf8=True, literal_plus=True)


def text_of(criteria: search.SearchKey) -> bytes:
    chunks = search_command(criteria).encode("A1")
    return b"".join(chunks)[len(b"A1 SEARCH ") : -2]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (search.ALL, b"ALL"),
        (search.UNSEEN, b"UNSEEN"),
        (search.uid(SequenceSet.parse("1:*", allow_star=True)), b"UID 1:*"),
        (search.uid([4, 5, 6, 9]), b"UID 4:6,9"),
        (search.messages(7), b"7"),
        (search.keyword("$Forwarded"), b"KEYWORD $Forwarded"),
        (search.unkeyword("Junk"), b"UNKEYWORD Junk"),
        (search.from_("ann@example.com"), b"FROM ann@example.com"),
        (search.to("Ann Smith"), b'TO "Ann Smith"'),
        (search.cc("x"), b"CC x"),
        (search.bcc("x"), b"BCC x"),
        (search.subject('say "hi"'), b'SUBJECT "say \\"hi\\""'),
        (search.body("b"), b"BODY b"),
        (search.text("t"), b"TEXT t"),
        (search.header("Message-ID", "<a@b>"), b"HEADER Message-ID <a@b>"),
        (search.header("X-Spam", ""), b'HEADER X-Spam ""'),
        (search.since(date(2024, 2, 1)), b"SINCE 1-Feb-2024"),
        (search.before(date(2023, 12, 31)), b"BEFORE 31-Dec-2023"),
        (search.on(datetime(2024, 7, 4, 23, 59)), b"ON 4-Jul-2024"),
        (search.sent_since(date(2024, 1, 1)), b"SENTSINCE 1-Jan-2024"),
        (search.sent_before(date(2024, 1, 1)), b"SENTBEFORE 1-Jan-2024"),
        (search.sent_on(date(999, 1, 1)), b"SENTON 1-Jan-0999"),
        (search.larger(1000), b"LARGER 1000"),
        (search.smaller(10), b"SMALLER 10"),
        (search.modseq(620162338), b"MODSEQ 620162338"),
        (search.older(3600), b"OLDER 3600"),
        (search.younger(60), b"YOUNGER 60"),
        (search.email_id("M6d99ac3275bb4e"), b"EMAILID M6d99ac3275bb4e"),
        (search.thread_id("T64b478a75b7ea9"), b"THREADID T64b478a75b7ea9"),
        (search.gmail_raw("has:attachment in:unread"), b'X-GM-RAW "has:attachment in:unread"'),
        (search.gmail_message_id(1278455344230334865), b"X-GM-MSGID 1278455344230334865"),
        (search.gmail_thread_id(1266894439832287888), b"X-GM-THRID 1266894439832287888"),
        # Combinations.
        (search.UNSEEN & search.FLAGGED, b"UNSEEN FLAGGED"),
        (search.SEEN | search.from_("a"), b"OR SEEN FROM a"),
        (~search.from_("a"), b"NOT FROM a"),
        (~(search.SEEN & search.DRAFT), b"NOT (SEEN DRAFT)"),
        (search.any_of(search.to("a"), search.cc("a"), search.bcc("a")), b"OR OR TO a CC a BCC a"),
        (search.all_of(search.DELETED, ~search.SEEN), b"DELETED NOT SEEN"),
        (
            (search.SEEN & search.FLAGGED) | ~search.since(date(2024, 1, 2)),
            b"OR (SEEN FLAGGED) NOT SINCE 2-Jan-2024",
        ),
    ],
)
def test_criteria(criteria: search.SearchKey, expected: bytes) -> None:
    assert text_of(criteria) == expected
    assert not criteria.non_ascii


def test_non_ascii_needs_charset_unless_utf8() -> None:
    criteria = search.UNSEEN & ~search.subject("Grüße")
    assert criteria.non_ascii
    chunks = search_command(criteria).encode("A1")
    assert chunks == (b"A1 SEARCH CHARSET UTF-8 UNSEEN NOT SUBJECT {7}\r\n", "Grüße\r\n".encode())
    assert search_command(criteria).encode("A1", UTF8) == (
        'A1 SEARCH UNSEEN NOT SUBJECT "Grüße"\r\n'.encode(),
    )
    assert search.header("X-Name", "é").non_ascii
    assert (search.SEEN | search.from_("é")).non_ascii


def test_return_options_and_uid() -> None:
    cmd = search_command(search.ALL, uid=True, return_=("min", "MAX", "COUNT"))
    assert cmd.encode("A1") == (b"A1 UID SEARCH RETURN (MIN MAX COUNT) ALL\r\n",)
    assert search_command(search.ALL, return_=()).encode("A1") == (b"A1 SEARCH RETURN () ALL\r\n",)
    with pytest.raises(LocalProtocolError):
        search_command(search.ALL, return_=("MIN) ALL",))


def test_injection_is_impossible() -> None:
    criteria = search.subject("x\r\nA2 LOGOUT")
    assert search_command(criteria).encode("A1") == (
        b"A1 SEARCH SUBJECT {12}\r\n",
        b"x\r\nA2 LOGOUT\r\n",
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: search.keyword("a b"),
        lambda: search.keyword("\\Seen"),
        lambda: search.header("Bad:Name", "x"),
        lambda: search.header("", "x"),
        lambda: search.larger(-1),
        lambda: search.modseq(1 << 63),
        lambda: search.older(0),
        lambda: search.email_id("bad id"),
        lambda: search.thread_id(""),
        lambda: search.uid([]),
        lambda: search.since("2024-02-01"),  # type: ignore[arg-type]
        lambda: search.from_("nul\x00"),
        lambda: search.any_of(),
        lambda: search.all_of(),
    ],
)
def test_invalid_criteria(make: object) -> None:
    with pytest.raises(LocalProtocolError):
        make()  # type: ignore[operator]
