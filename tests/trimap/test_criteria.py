"""The API's search criteria compiled to IMAP search keys, and every mistake named."""

from __future__ import annotations

from typing import Any

import pytest

from imapproto import commands
from trimap.mailbox.criteria import SEARCH_KEYS, InvalidSearch, SearchKey, parse_search


def wire(criteria: SearchKey) -> bytes:
    """What ``UID SEARCH`` would send for ``criteria``."""
    line = b"".join(commands.search(criteria, uid=True).encode("A1"))
    return line.removeprefix(b"A1 UID SEARCH ").removesuffix(b"\r\n")


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({}, b"ALL"),
        ({"seq": "1:5,7"}, b"1:5,7"),
        ({"uid": "100:*"}, b"UID 100:*"),
        ({"uid": 42}, b"UID 42"),
        ({"unseen": True}, b"UNSEEN"),
        ({"unseen": False}, b"SEEN"),
        ({"seen": False}, b"UNSEEN"),
        ({"answered": True, "deleted": False}, b"ANSWERED UNDELETED"),
        ({"draft": False, "flagged": True}, b"UNDRAFT FLAGGED"),
        ({"from": "ann@example.com"}, b"FROM ann@example.com"),
        ({"to": "Ann Smith", "cc": "c", "bcc": "b"}, b'TO "Ann Smith" CC c BCC b'),
        ({"subject": "hello", "body": "world"}, b"SUBJECT hello BODY world"),
        ({"larger": 1000, "smaller": 0}, b"LARGER 1000 SMALLER 0"),
        ({"modseq": 12345}, b"MODSEQ 12345"),
        ({"since": "2024-02-01"}, b"SINCE 1-Feb-2024"),
        ({"before": "2024-02-01T23:30:00-02:00"}, b"BEFORE 2-Feb-2024"),
        (
            {"sentSince": 1706745600000, "sentBefore": "2024-03-10"},
            b"SENTSINCE 1-Feb-2024 SENTBEFORE 10-Mar-2024",
        ),
        ({"emailId": "M6d99ac3275bb4e"}, b"EMAILID M6d99ac3275bb4e"),
        ({"threadId": "T64b478a75b7ea9"}, b"THREADID T64b478a75b7ea9"),
        (
            {"header": {"X-Mailer": "mutt", "List-Id": True}},
            b'HEADER X-Mailer mutt HEADER List-Id ""',
        ),
    ],
)
def test_criteria_compile_to_search_keys(criteria: dict[str, Any], expected: bytes) -> None:
    assert wire(parse_search(criteria)) == expected


def test_gmail_ids_are_gmail_search_keys() -> None:
    criteria = {"emailId": "1278455344230334865", "threadId": "1266894439832287888"}
    assert wire(parse_search(criteria, gmail=True)) == (
        b"X-GM-MSGID 1278455344230334865 X-GM-THRID 1266894439832287888"
    )
    with pytest.raises(InvalidSearch) as refused:
        parse_search({"emailId": "M6d99ac3275bb4e"}, gmail=True)
    assert set(refused.value.fields) == {"emailId"}


def test_non_ascii_text_is_marked_for_a_charset() -> None:
    assert parse_search({"subject": "Grüße"}).non_ascii


def test_every_bad_key_is_named_at_once() -> None:
    criteria = {
        "unseen": "yes",
        "from": "",
        "subject": "x" * 257,
        "body": "line\r\nbreak",
        "larger": -1,
        "smaller": 1.5,
        "modseq": True,
        "since": "yesterday",
        "uid": "1:x",
        "seq": [1, 2],
        "emailId": "not an id!",
        "header": {"Bad Name": "x", "X-Ok": 5, "X-Empty": ""},
        "colour": "red",
        "flagged": True,  # fine
    }
    with pytest.raises(InvalidSearch) as refused:
        parse_search(criteria)
    assert set(refused.value.fields) == {
        "unseen",
        "from",
        "subject",
        "body",
        "larger",
        "smaller",
        "modseq",
        "since",
        "uid",
        "seq",
        "emailId",
        "header.Bad Name",
        "header.X-Ok",
        "header.X-Empty",
        "colour",
    }
    assert refused.value.fields["colour"] == '"colour" is not a search key'
    assert "boolean" in refused.value.fields["unseen"]


def test_header_must_be_an_object() -> None:
    with pytest.raises(InvalidSearch) as refused:
        parse_search({"header": ["X-Mailer"]})
    assert set(refused.value.fields) == {"header"}


def test_the_reference_keys_are_all_known() -> None:
    reference = {
        "seq", "uid", "answered", "deleted", "draft", "unseen", "flagged", "seen", "from",
        "to", "cc", "bcc", "body", "subject", "larger", "smaller", "modseq", "before",
        "since", "sentBefore", "sentSince", "emailId", "threadId", "header",
    }  # fmt: skip
    assert reference == SEARCH_KEYS
