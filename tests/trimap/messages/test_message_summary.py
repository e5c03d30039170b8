"""The message object and the body-part walk, from FETCH responses parsed by imapproto."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.trimap.messages.imap_fetches import (
    ALTERNATIVE,
    FORWARD,
    INVITATION,
    MIXED,
    RELATED,
    SINGLE_PDF,
    SINGLE_TEXT,
    gmail_fetch,
    parse_fetch,
    parse_structure,
)
from trimap.messages.ids import decode_attachment_id, decode_text_id
from trimap.messages.summary import (
    Attachment,
    classify_parts,
    message_summary,
    parse_header_date,
    summary_fetch_items,
    text_part,
)

# -- FETCH items -------------------------------------------------------------------

BASE_ITEMS = ["UID", "FLAGS", "RFC822.SIZE", "BODYSTRUCTURE", "ENVELOPE", "INTERNALDATE"]


@pytest.mark.parametrize(
    ("capabilities", "extra"),
    [
        (set(), []),
        ({"IMAP4REV1", "IDLE"}, []),
        ({"OBJECTID"}, ["EMAILID", "THREADID"]),
        ({"X-GM-EXT-1", "CONDSTORE"}, ["X-GM-MSGID", "X-GM-THRID", "X-GM-LABELS", "MODSEQ"]),
        ({"objectid", "condstore"}, ["EMAILID", "THREADID", "MODSEQ"]),
    ],
)
def test_summary_fetch_items(capabilities: set[str], extra: list[str]) -> None:
    assert summary_fetch_items(frozenset(capabilities)) == BASE_ITEMS + extra


# -- classifying parts -------------------------------------------------------------


@pytest.mark.parametrize(
    ("structure", "plain", "html", "other", "encoded_size", "attachments"),
    [
        (ALTERNATIVE, ["1"], ["2"], [], {"plain": 17, "html": 2135}, []),
        (MIXED, ["1.1"], ["1.2"], [], {"plain": 120, "html": 480}, ["2", "3"]),
        (RELATED, ["1"], ["2.1"], [], {"plain": 30, "html": 700}, ["2.2", "2.3"]),
        (FORWARD, ["1"], [], [], {"plain": 25}, ["2"]),  # not 2.1, 2.2: weakness 11
        (SINGLE_TEXT, ["1"], [], [], {"plain": 1234}, []),
        (SINGLE_PDF, [], [], [], {}, ["1"]),
        (INVITATION, ["1"], ["2"], ["3"], {"plain": 200, "html": 900, "calendar": 1500}, []),
    ],
)
def test_classify_parts(
    structure: bytes,
    plain: list[str],
    html: list[str],
    other: list[str],
    encoded_size: dict[str, int],
    attachments: list[str],
) -> None:
    parts = classify_parts(parse_structure(structure))
    assert (list(parts.plain), list(parts.html), list(parts.other)) == (plain, html, other)
    assert parts.encoded_size == encoded_size
    assert [attachment.part for attachment in parts.attachments] == attachments


def test_related_images_are_embedded_and_inline() -> None:
    assert classify_parts(parse_structure(RELATED)).attachments == (
        Attachment("2.2", "image/png", 4096, "logo.png", True, True, "<logo.1234@example.com>"),
        Attachment("2.3", "image/gif", 60, None, True, True, "<spacer@example.com>"),
    )


def test_filenames_are_rfc_2231_and_rfc_2047_decoded() -> None:
    pdf, notes = classify_parts(parse_structure(MIXED)).attachments
    assert (pdf.filename, pdf.content_type, pdf.inline, pdf.embedded) == (
        "€ rates.pdf",
        "application/pdf",
        False,
        False,
    )
    assert (notes.filename, notes.content_type) == ("naïve notes.txt", "text/plain")


@pytest.mark.parametrize(
    ("leaf", "filename"),
    [
        (b'("image" "png" ("name" "a.png") NIL NIL "base64" 10 NIL NIL NIL NIL)', "a.png"),
        (
            b'("image" "png" ("name" "=?utf-8?B?w6kucG5n?=") NIL NIL "base64" 10 NIL NIL NIL NIL)',
            "é.png",
        ),
        (
            b'("image" "png" ("name" "a.png") NIL NIL "base64" 10 NIL'
            b' ("attachment" ("filename" "b.png")) NIL NIL)',
            "b.png",
        ),
        (b'("image" "png" NIL NIL NIL "base64" 10 NIL ("attachment" NIL) NIL NIL)', None),
        (b'("image" "png" ("name" "") NIL NIL "base64" 10 NIL NIL NIL NIL)', None),
    ],
)
def test_attachment_filename(leaf: bytes, filename: str | None) -> None:
    (attachment,) = classify_parts(parse_structure(leaf)).attachments
    assert attachment.filename == filename


def test_text_with_an_unusual_disposition_is_an_attachment() -> None:
    structure = parse_structure(
        b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 1 NIL ("form-data" NIL) NIL NIL)'
    )
    parts = classify_parts(structure)
    assert parts.plain == () and [a.part for a in parts.attachments] == ["1"]


@pytest.mark.parametrize(
    ("structure", "part", "found"),
    [
        (RELATED, "2.1", ("text", "html", "quoted-printable")),
        (RELATED, "2.2", None),  # an image
        (RELATED, "2", None),  # a multipart
        (FORWARD, "2.1", ("text", "plain", "7bit")),  # inside the forwarded message
        (SINGLE_TEXT, "1", ("text", "plain", "quoted-printable")),
        (SINGLE_TEXT, "9", None),
    ],
)
def test_text_part(structure: bytes, part: str, found: tuple[str, str, str] | None) -> None:
    node = text_part(parse_structure(structure), part)
    if found is None:
        assert node is None
    else:
        assert node is not None and node.part == part
        assert (node.type, node.subtype, node.encoding) == found


# -- the message object ------------------------------------------------------------


def test_extended_summary_of_a_gmail_message() -> None:
    summary = message_summary(
        gmail_fetch(), 1, extended=True, headers=b"Subject: Test\r\nX-Spam: no\r\n\r\n"
    )
    assert list(summary) == [
        "id",
        "uid",
        "emailId",
        "threadId",
        "labels",
        "date",
        "flags",
        "size",
        "subject",
        "from",
        "replyTo",
        "sender",
        "to",
        "cc",
        "bcc",
        "attachments",
        "messageId",
        "inReplyTo",
        "headers",
        "text",
    ]
    assert summary == {
        "id": "AAAAAQAAAeE",
        "uid": 481,
        "emailId": "1686287656474925000",
        "threadId": "1686287656474925001",
        "labels": ["\\Important", "Work"],
        "date": "2020-12-17T09:59:58.000Z",  # the Date header (+0200), not INTERNALDATE
        "flags": ["\\Seen", "$Forwarded"],
        "size": 4334,
        "subject": "Test message ✓",
        "from": {"name": "Peter Põder", "address": "Peter.Poder@example.com"},
        "replyTo": {"name": "Replies", "address": "replies@example.com"},
        "sender": {"name": "Peter Poder", "address": "peter@example.com"},
        "to": [{"name": "", "address": "andris@imapapi.com"}],
        "cc": [{"name": "Åsa", "address": "asa@example.se"}],  # the group's member
        "bcc": [{"name": "Hidden", "address": "hidden@example.com"}],
        "attachments": [
            {
                "id": "AAAAAQAAAeEy",
                "contentType": "application/pdf",
                "encodedSize": 35270,
                "filename": "€ rates.pdf",
                "embedded": False,
                "inline": False,
            },
            {
                "id": "AAAAAQAAAeEz",
                "contentType": "text/plain",
                "encodedSize": 300,
                "filename": "naïve notes.txt",
                "embedded": False,
                "inline": False,
            },
        ],
        "messageId": "<0ebdd7b084794911b03986c827128f1b@example.com>",
        "inReplyTo": "<parent@example.com>",
        "headers": {"subject": ["Test"], "x-spam": ["no"]},
        "text": {"id": "AAAAAQAAAeGTkaMxLjGRozEuMpA", "encodedSize": {"plain": 120, "html": 480}},
    }
    assert decode_attachment_id(summary["attachments"][0]["id"]) == (1, 481, "2")
    text_id = decode_text_id(summary["text"]["id"])
    assert (text_id.plain, text_id.html, text_id.other) == (("1.1",), ("1.2",), ())


def test_listing_summary_leaves_out_the_extended_keys() -> None:
    summary = message_summary(gmail_fetch(), 1, headers=b"Subject: Test\r\n")
    assert list(summary) == [
        "id",
        "uid",
        "emailId",
        "threadId",
        "labels",
        "date",
        "size",
        "subject",
        "from",
        "to",
        "cc",
        "attachments",
        "messageId",
        "inReplyTo",
        "text",
    ]


def test_summary_of_a_plain_server_message_with_object_ids() -> None:
    fetch = parse_fetch(
        b'* 3 FETCH (UID 482 FLAGS () RFC822.SIZE 2048 INTERNALDATE "17-Dec-2020 10:59:58 +0100"'
        b" EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9)"
        b' ENVELOPE (NIL "Hello" (("Ann" NIL "ann" "example.com")) NIL NIL'
        b' ((NIL NIL "bob" "example.com")) NIL NIL NIL "<abc@example.com>")'
        b' BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 120 3 NIL NIL NIL NIL))'
        b"\r\n"
    )
    assert message_summary(fetch, 1, extended=True) == {
        "id": "AAAAAQAAAeI",
        "uid": 482,
        "emailId": "M6d99ac3275bb4e",
        "threadId": "T64b478a75b7ea9",
        "date": "2020-12-17T09:59:58.000Z",  # no Date header: INTERNALDATE
        "unseen": True,
        "size": 2048,
        "subject": "Hello",
        "from": {"name": "Ann", "address": "ann@example.com"},
        "to": [{"name": "", "address": "bob@example.com"}],
        "messageId": "<abc@example.com>",
        "text": {"id": "AAAAAQAAAeKTkaExkJA", "encodedSize": {"plain": 120}},  # spec 3.5
    }


@pytest.mark.parametrize(
    ("flags", "keys"),
    [
        (b"()", {"unseen": True}),
        (b"(\\Seen)", {"flags": ["\\Seen"]}),
        (b"(\\Recent)", {"unseen": True}),
        (
            b"(\\Flagged \\Answered \\Draft \\Seen)",
            {
                "flags": ["\\Flagged", "\\Answered", "\\Draft", "\\Seen"],
                "flagged": True,
                "answered": True,
                "draft": True,
            },
        ),
        (b"(\\seen $Label1)", {"flags": ["\\seen", "$Label1"]}),
    ],
)
def test_flags(flags: bytes, keys: dict[str, Any]) -> None:
    fetch = parse_fetch(b"* 1 FETCH (UID 7 FLAGS " + flags + b")\r\n")
    flag_keys = ("flags", "unseen", "flagged", "answered", "draft")
    summary = message_summary(fetch, 1, extended=True)
    assert {key: summary[key] for key in flag_keys if key in summary} == keys


def test_no_flags_fetched_means_no_flag_keys() -> None:
    summary = message_summary(parse_fetch(b"* 1 FETCH (UID 7)\r\n"), 1, extended=True)
    assert summary == {"id": "AAAAAQAAAAc", "uid": 7}


def test_headers_only_in_the_extended_form_and_only_when_given() -> None:
    fetch = parse_fetch(b"* 1 FETCH (UID 7)\r\n")
    assert "headers" not in message_summary(fetch, 1, headers=b"Subject: x\r\n")
    assert "headers" not in message_summary(fetch, 1, extended=True)
    assert message_summary(fetch, 1, extended=True, headers=b"")["headers"] == {}


def test_summary_needs_the_uid() -> None:
    with pytest.raises(ValueError, match="UID"):
        message_summary(parse_fetch(b"* 1 FETCH (FLAGS ())\r\n"), 1)


def test_forwarded_message_text_stays_inside_it() -> None:
    fetch = parse_fetch(b"* 1 FETCH (UID 9 BODYSTRUCTURE " + FORWARD + b")\r\n")
    summary = message_summary(fetch, 2)
    assert summary["attachments"] == [
        {
            "id": "AAAAAgAAAAky",
            "contentType": "message/rfc822",
            "encodedSize": 1830,
            "filename": "Quarterly numbers.eml",
            "embedded": False,
            "inline": False,
        }
    ]
    assert decode_text_id(summary["text"]["id"]).plain == ("1",)
    assert summary["text"]["encodedSize"] == {"plain": 25}


def test_related_attachment_entries_carry_content_ids() -> None:
    fetch = parse_fetch(b"* 1 FETCH (UID 9 BODYSTRUCTURE " + RELATED + b")\r\n")
    logo, spacer = message_summary(fetch, 2)["attachments"]
    assert logo["contentId"] == "<logo.1234@example.com>"
    assert (logo["filename"], logo["embedded"], logo["inline"]) == ("logo.png", True, True)
    assert spacer["filename"] is False


# -- dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("envelope_date", "date"),
    [
        (b'"Thu, 17 Dec 2020 11:59:58 +0200"', "2020-12-17T09:59:58.000Z"),
        (b'"17 Dec 2020 09:59:58 GMT"', "2020-12-17T09:59:58.000Z"),
        (b'"Thu, 17 Dec 20 09:59:58 -0000"', "2020-12-17T09:59:58.000Z"),  # no zone: UTC
        (b'"Thu, 17 Dec 2020 09:59:58 +0000 (UTC)"', "2020-12-17T09:59:58.000Z"),
        (b'"Thu, 17 Dec 2020 04:59:58 EST"', "2020-12-17T09:59:58.000Z"),
        # unreadable dates fall back to INTERNALDATE, 09:59:59 (weakness 18)
        (b'"not a date"', "2020-12-17T09:59:59.000Z"),
        (b'"Thu, 32 Dec 2020 09:59:58 +0000"', "2020-12-17T09:59:59.000Z"),
        (b'"Thu, 17 Dec 2020 25:59:58 +0000"', "2020-12-17T09:59:59.000Z"),
        (b'"Mon, 1 Jan 999 00:00:00 +0000"', "2020-12-17T09:59:59.000Z"),
        (b'"Fri, 31 Dec 9999 23:59:59 -1200"', "2020-12-17T09:59:59.000Z"),
        (b'""', "2020-12-17T09:59:59.000Z"),
        (b"NIL", "2020-12-17T09:59:59.000Z"),
    ],
)
def test_summary_date(envelope_date: bytes, date: str) -> None:
    assert message_summary(gmail_fetch(envelope_date), 1)["date"] == date


def test_no_date_at_all_leaves_the_key_out() -> None:
    fetch = parse_fetch(
        b'* 1 FETCH (UID 7 ENVELOPE ("garbage" NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n'
    )
    assert "date" not in message_summary(fetch, 1)


@given(st.text())
def test_parse_header_date_never_raises(value: str) -> None:
    date = parse_header_date(value)
    assert date is None or (date.utcoffset() is not None and date.year >= 1000)


@given(st.text(st.characters(blacklist_characters='"\\\r\n'), max_size=60))
def test_summary_never_fails_on_a_date_header(value: str) -> None:
    envelope_date = b'"' + value.encode() + b'"'
    summary = message_summary(gmail_fetch(envelope_date), 1)
    assert len(summary["date"]) == len("2020-12-17T09:59:59.000Z")
