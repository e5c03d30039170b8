"""Unit tests of the response parser, one grammar area at a time."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from imapproto._errors import ProtocolError
from imapproto._events import (
    NEED_DATA,
    Acl,
    Capability,
    ConnectionClosed,
    ContinuationRequest,
    Enabled,
    ESearch,
    Event,
    Exists,
    Expunge,
    Fetch,
    FetchLiteralData,
    FetchLiteralEnd,
    FetchLiteralStart,
    Flags,
    Id,
    ListResponse,
    ListRights,
    Metadata,
    MyRights,
    Namespace,
    Quota,
    QuotaRoot,
    Recent,
    Search,
    Sort,
    Status,
    TaggedResponse,
    Thread,
    UnknownUntagged,
    UntaggedCondition,
    Vanished,
)
from imapproto._parser import STREAM_CHUNK_SIZE, ResponseParser
from imapproto._seqset import SequenceSet
from imapproto._types import (
    Address,
    AddressGroup,
    AppendUid,
    BodySection,
    BodyStructure,
    CopyUid,
    NamespaceEntry,
    QuotaResource,
    ResponseCode,
    StreamedLiteral,
)


def events(data: bytes, **options: object) -> list[Event]:
    parser = ResponseParser(**options)  # type: ignore[arg-type]
    parser.feed(data)
    result = []
    while (event := parser.next_event()) is not NEED_DATA:
        assert isinstance(event, Event)
        result.append(event)
    return result


def one(data: bytes, **options: object) -> Event:
    (event,) = events(data, **options)
    return event


def fetch(data: bytes) -> Fetch:
    event = one(data)
    assert isinstance(event, Fetch)
    return event


def body(structure: bytes) -> BodyStructure:
    result = fetch(b"* 1 FETCH (BODYSTRUCTURE " + structure + b")\r\n").bodystructure
    assert result is not None
    return result


# -- status responses and codes ------------------------------------------------


def test_tagged_and_untagged_conditions() -> None:
    assert events(
        b"* OK [ALERT] System shutdown in 10 minutes\r\n"
        b"a1 NO [TRYCREATE] no such mailbox\r\n"
        b"* BYE\r\n"
        b"* ok\r\n"
        b"* PREAUTH [CAPABILITY IMAP4rev2 IDLE] ready\r\n"
        b"a2 bad [PARSE]\r\n"
    ) == [
        UntaggedCondition("OK", ResponseCode("ALERT"), "System shutdown in 10 minutes"),
        TaggedResponse("a1", "NO", ResponseCode("TRYCREATE"), "no such mailbox"),
        UntaggedCondition("BYE", None, ""),
        UntaggedCondition("OK", None, ""),
        UntaggedCondition("PREAUTH", ResponseCode("CAPABILITY", ("IMAP4REV2", "IDLE")), "ready"),
        TaggedResponse("a2", "BAD", ResponseCode("PARSE"), ""),
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (b"UIDNEXT 4392", ResponseCode("UIDNEXT", 4392)),
        (b"UIDVALIDITY 3857529045", ResponseCode("UIDVALIDITY", 3857529045)),
        (b"UNSEEN 12", ResponseCode("UNSEEN", 12)),
        (b"HIGHESTMODSEQ 90060115205545359", ResponseCode("HIGHESTMODSEQ", 90060115205545359)),
        (b"NOMODSEQ", ResponseCode("NOMODSEQ")),
        (b"READ-ONLY", ResponseCode("READ-ONLY")),
        (b"read-write", ResponseCode("READ-WRITE")),
        (b"CLOSED", ResponseCode("CLOSED")),
        (b"UIDNOTSTICKY", ResponseCode("UIDNOTSTICKY")),
        (b"OVERQUOTA", ResponseCode("OVERQUOTA")),
        (b"PERMANENTFLAGS (\\Seen \\*)", ResponseCode("PERMANENTFLAGS", ("\\Seen", "\\*"))),
        (b"PERMANENTFLAGS ()", ResponseCode("PERMANENTFLAGS", ())),
        (b'BADCHARSET (UTF-8 "US-ASCII")', ResponseCode("BADCHARSET", ("UTF-8", "US-ASCII"))),
        (b"MODIFIED 7,9", ResponseCode("MODIFIED", SequenceSet.parse(b"7,9"))),
        (
            b"APPENDUID 38505 3955",
            ResponseCode("APPENDUID", AppendUid(38505, SequenceSet.parse(b"3955"))),
        ),
        (
            b"COPYUID 38505 304,319:320 3956:3958",
            ResponseCode(
                "COPYUID",
                CopyUid(
                    38505,
                    SequenceSet.parse(b"304,319:320"),
                    SequenceSet.parse(b"3956:3958"),
                    ((304, 304), (319, 320)),
                    ((3956, 3958),),
                ),
            ),
        ),
        (b"MAILBOXID (F2212ea87-6097-4256)", ResponseCode("MAILBOXID", "F2212ea87-6097-4256")),
        (b"REFERRAL imap://x/y", ResponseCode("REFERRAL", "imap://x/y")),
        (b"UIDNEXT soon", ResponseCode("UIDNEXT", "soon")),  # unreadable argument: raw text
    ],
)
def test_response_codes(code: bytes, expected: ResponseCode) -> None:
    event = one(b"* OK [" + code + b"] text\r\n")
    assert event == UntaggedCondition("OK", expected, "text")


@pytest.mark.parametrize(
    "name",
    [
        "UNAVAILABLE",
        "AUTHENTICATIONFAILED",
        "AUTHORIZATIONFAILED",
        "EXPIRED",
        "PRIVACYREQUIRED",
        "CONTACTADMIN",
        "NOPERM",
        "INUSE",
        "EXPUNGEISSUED",
        "CORRUPTION",
        "SERVERBUG",
        "CLIENTBUG",
        "CANNOT",
        "LIMIT",
        "OVERQUOTA",
        "ALREADYEXISTS",
        "NONEXISTENT",
    ],
)
def test_rfc5530_codes(name: str) -> None:
    assert one(b"a NO [" + name.encode() + b"] nope\r\n") == TaggedResponse(
        "a", "NO", ResponseCode(name), "nope"
    )


def test_brackets_in_text_that_are_not_a_code() -> None:
    assert one(b"* OK [Gmail]/Sent created\r\n") == UntaggedCondition(
        "OK", None, "[Gmail]/Sent created"
    )
    assert one(b'a OK [Error="x y" z] done\r\n') == TaggedResponse(
        "a", "OK", None, '[Error="x y" z] done'
    )


def test_continuation_requests() -> None:
    assert events(b"+ Ready for literal data\r\n+\r\n+ \r\n+ [ALERT] go\r\n") == [
        ContinuationRequest("Ready for literal data", b"Ready for literal data"),
        ContinuationRequest("", b""),
        ContinuationRequest("", b""),
        ContinuationRequest("go", b"[ALERT] go", ResponseCode("ALERT")),
    ]
    assert one(
        b"+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n"
    ) == (
        ContinuationRequest(
            "YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=",
            b"YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=",
        )
    )


def test_mailbox_size_and_flags() -> None:
    assert events(
        b"* 23 EXISTS\r\n* 3 RECENT\r\n* 44 EXPUNGE\r\n"
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded [Gmail]x)\r\n"
        b"* FLAGS ()\r\n"
        b"* CAPABILITY IMAP4rev1 IDLE auth=PLAIN\r\n* ENABLED CONDSTORE QRESYNC\r\n"
    ) == [
        Exists(23),
        Recent(3),
        Expunge(44),
        Flags(
            ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "$Forwarded", "[Gmail]x")
        ),
        Flags(()),
        Capability(("IMAP4REV1", "IDLE", "AUTH=PLAIN")),
        Enabled(("CONDSTORE", "QRESYNC")),
    ]


# -- FETCH ------------------------------------------------------------------------


def test_fetch_simple_items() -> None:
    result = fetch(
        b'* 12 FETCH (UID 4827313 FLAGS (\\Seen $Label1) INTERNALDATE "17-Jul-1996 02:44:25 -0700"'
        b" RFC822.SIZE 4286 MODSEQ (90060115205545359) EMAILID (M6d99ac3275bb4e)"
        b" THREADID (T64b478a75b7ea9) X-GM-MSGID 1278455344230334865"
        b" X-GM-THRID 1266894439832287888"
        b' X-GM-LABELS (\\Inbox "\\\\Important" "[Gmail]/&BBoEPgRABDcEOAQ9BDA-" foo)'
        b' PREVIEW "Hello there" SAVEDATE NIL)\r\n'
    )
    assert result == Fetch(
        12,
        uid=4827313,
        flags=("\\Seen", "$Label1"),
        internaldate=datetime(1996, 7, 17, 2, 44, 25, tzinfo=timezone(timedelta(hours=-7))),
        size=4286,
        modseq=90060115205545359,
        email_id="M6d99ac3275bb4e",
        thread_id="T64b478a75b7ea9",
        gm_msgid=1278455344230334865,
        gm_thrid=1266894439832287888,
        gm_labels=("\\Inbox", "\\Important", "[Gmail]/Корзина", "foo"),
        preview="Hello there",
        extra=(("SAVEDATE", None),),
    )


def test_fetch_internaldate_tolerance() -> None:
    assert fetch(b'* 1 FETCH (INTERNALDATE " 9-Feb-2007 17:08:08 +0100")\r\n').internaldate == (
        datetime(2007, 2, 9, 16, 8, 8, tzinfo=UTC)
    )
    bad = fetch(b'* 1 FETCH (INTERNALDATE "31-Feb-2007 17:08:08 +0100")\r\n')
    assert bad.internaldate is None and bad.extra == (
        ("INTERNALDATE", "31-Feb-2007 17:08:08 +0100"),
    )
    assert fetch(b"* 1 FETCH (INTERNALDATE NIL)\r\n").extra == (("INTERNALDATE", None),)


def test_fetch_body_sections() -> None:
    result = fetch(
        b"* 3 FETCH (BODY[HEADER.FIELDS (FROM TO)] {9}\r\nFrom: a\r\n BODY[1.2]<0> {3}\r\nabc"
        b' BINARY[2] ~{2}\r\n\x00\x01 BINARY.SIZE[2] 2 RFC822.HEADER "H" RFC822.TEXT NIL'
        b" BODY[] {0}\r\n RFC822 {1}\r\nx)\r\n"
    )
    assert result.sections == (
        BodySection("BODY", "HEADER.FIELDS (FROM TO)", None, b"From: a\r\n"),
        BodySection("BODY", "1.2", 0, b"abc"),
        BodySection("BINARY", "2", None, b"\x00\x01"),
        BodySection("RFC822.HEADER", "", None, b"H"),
        BodySection("RFC822.TEXT", "", None, None),
        BodySection("BODY", "", None, b""),
        BodySection("RFC822", "", None, b"x"),
    )
    assert result.binary_sizes == (("2", 2),)
    assert result.section("body", "header.fields (from to)") == result.sections[0]
    assert result.section("BINARY", "3") is None


def test_uidfetch() -> None:
    assert one(b"* 25997 UIDFETCH (FLAGS (\\Flagged))\r\n") == Fetch(
        0, uid=25997, flags=("\\Flagged",)
    )


def test_fetch_errors() -> None:
    for bad in (
        b"* 1 FETCH (UID)\r\n",
        b"* 1 FETCH (UID x)\r\n",
        b"* 1 FETCH UID 1\r\n",
        b"* FETCH (UID 1)\r\n",
        b"* 1 FETCH ((UID) 1)\r\n",
        b"* 1 FETCH (FLAGS \\Seen)\r\n",
    ):
        with pytest.raises(ProtocolError):
            events(bad)


# -- ENVELOPE ---------------------------------------------------------------------


def test_envelope_with_groups_and_raw_words() -> None:
    result = fetch(
        b'* 1 FETCH (ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "=?utf-8?q?caf=C3=A9?="'
        b' (("Terry \\"T\\" Gray" NIL "gray" "cac.washington.edu"))'
        b" NIL NIL"
        b' ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)'
        b' (NIL NIL "team" NIL)("A" NIL "a" "x.org")(NIL NIL "b" "x.org")(NIL NIL NIL NIL)'
        b' ("Z" "@relay" "z" "y.org"))'
        b' NIL NIL "<parent@x>" "<B27397-0100000@cac.washington.edu>"))\r\n'
    )
    envelope = result.envelope
    assert envelope is not None
    assert envelope.subject == "=?utf-8?q?caf=C3=A9?="
    terry = Address('Terry "T" Gray', None, "gray", "cac.washington.edu")
    assert envelope.from_ == (terry,)
    assert envelope.sender == envelope.reply_to == ()  # NIL: kept as sent
    assert terry.email == "gray@cac.washington.edu"
    assert envelope.to == (
        AddressGroup("undisclosed-recipients", ()),
        AddressGroup("team", (Address("A", None, "a", "x.org"), Address(None, None, "b", "x.org"))),
        Address("Z", "@relay", "z", "y.org"),
    )
    assert envelope.cc == envelope.bcc == ()
    assert envelope.in_reply_to == "<parent@x>"


def test_envelope_8bit_and_literal_strings() -> None:
    result = fetch(
        b'* 1 FETCH (ENVELOPE (NIL "caf\xc3\xa9" (({4}\r\nJo\xe9l NIL "j" "x")) NIL NIL NIL NIL'
        b" NIL NIL NIL))\r\n"
    )
    assert result.envelope is not None
    assert result.envelope.subject == "café"
    assert result.envelope.from_ == (Address("Jo\xe9l", None, "j", "x"),)  # Latin-1 fallback
    latin = fetch(b'* 1 FETCH (ENVELOPE (NIL "caf\xe9" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n')
    assert latin.envelope is not None and latin.envelope.subject == "café"


# -- BODYSTRUCTURE ------------------------------------------------------------------


def test_single_part_is_part_one() -> None:
    assert body(b'("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 3028 92)') == BodyStructure(
        "1", "text", "plain", {"charset": "us-ascii"}, encoding="7bit", size=3028, lines=92
    )


def test_multipart_numbering_and_nested_message() -> None:
    tree = body(
        b'(("text" "plain" NIL NIL NIL "7bit" 10 1)'
        b'(("text" "plain" NIL NIL NIL "7bit" 10 1)'
        b'("text" "html" NIL NIL NIL "7bit" 20 1) "alternative")'
        b'("message" "rfc822" NIL NIL NIL "7bit" 500'
        b' (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL)'
        b' (("text" "plain" NIL NIL NIL "7bit" 10 1)'
        b'  ("message" "rfc822" NIL NIL NIL "7bit" 100 (NIL "deep" NIL NIL NIL NIL NIL NIL NIL NIL)'
        b'   ("image" "png" NIL NIL NIL "base64" 50) 3)'
        b'  "mixed") 12)'
        b' "mixed" ("boundary" "b1") NIL NIL NIL)'
    )
    assert [(node.part, node.mime_type) for node in tree.walk()] == [
        ("", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "multipart/alternative"),
        ("2.1", "text/plain"),
        ("2.2", "text/html"),
        ("3", "message/rfc822"),
        ("3", "multipart/mixed"),  # the body of message 3 (its parts are 3.1, 3.2)
        ("3.1", "text/plain"),
        ("3.2", "message/rfc822"),
        ("3.2.1", "image/png"),  # a single-part body of message 3.2
    ]
    message = tree.children[2]
    assert message.envelope is not None and message.envelope.subject == "inner"
    assert message.header_section == "3.HEADER" and message.lines == 12
    assert message.message_body is not None and message.message_body.part == "3"
    assert message.message_body.is_multipart
    assert tree.children[0].header_section == "1.MIME" and tree.header_section == "HEADER"
    assert tree.params == {"boundary": "b1"}


def test_rfc2231_parameters() -> None:
    part = body(
        b'("application" "pdf" ("NAME*0*" "utf-8\'\'%E2%82%AC%20" "name*1" "rates.pdf"'
        b' "title*" "iso-8859-1\'en\'caf%E9" "x*0" "a" "x*2" "c" "x*1" "b") NIL NIL "base64" 100'
        b' NIL ("attachment" ("filename*" "utf-8\'\'r%C3%A9sum%C3%A9.pdf" "size" "100"))'
        b' ("en" "de") "http://x")'
    )
    assert part.params == {"name": "€ rates.pdf", "title": "café", "x": "abc"}
    assert part.disposition == "attachment"
    assert part.disposition_params == {"filename": "résumé.pdf", "size": "100"}
    assert part.language == ("en", "de") and part.location == "http://x"
    assert part.params["NAME"] == "€ rates.pdf"  # lookups ignore case
    assert hash(part)  # hashable, params included


def test_bodystructure_quirks() -> None:
    # Exchange: NIL where strings belong; extension data beyond RFC 9051; bare disposition.
    part = body(b"(NIL NIL NIL NIL NIL NIL NIL NIL inline NIL NIL ext (1 2))")
    assert (part.type, part.subtype, part.size, part.disposition) == (
        "application",
        "octet-stream",
        None,
        "inline",
    )
    assert part.extension == ("ext", (1, 2))
    # message/rfc822 sent as a basic part (no envelope/body).
    message = body(b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 1980088 NIL ("ATTACHMENT" NIL) NIL)')
    assert message.message_body is None and message.disposition == "attachment"
    # A multipart without parts.
    assert body(b'("MIXED")') == BodyStructure("", "multipart", "mixed")


# -- LIST, STATUS, NAMESPACE and friends ---------------------------------------------


def test_list_entries() -> None:
    first, second, third, fourth, fifth = events(
        b'* LIST (\\HasNoChildren \\Sent) "/" "Sent &AOk-"\r\n'
        b"* LIST (\\Noselect \\HasChildren) NIL {8}\r\n[Gmail]x\r\n"
        b'* LSUB () "." INBOX.foo\r\n'
        b'* XLIST (\\AllMail \\HasNoChildren) "/" "[Gmail]/All Mail"\r\n'
        b'* LIST (\\Subscribed) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED") "OLDNAME" ("Bar &AOk-"))\r\n'
    )
    assert isinstance(first, ListResponse) and first.command == "LIST"
    assert first.entry.name == "Sent é" and first.entry.raw_name == b"Sent &AOk-"
    assert first.entry.special_use == "\\Sent" and first.entry.has_flag("\\hasnochildren")
    assert isinstance(second, ListResponse)
    assert second.entry.delimiter is None and second.entry.name == "[Gmail]x"
    assert second.entry.special_use is None
    assert isinstance(third, ListResponse) and third.command == "LSUB"
    assert isinstance(fourth, ListResponse) and fourth.entry.special_use == "\\All"
    assert isinstance(fifth, ListResponse)
    assert fifth.entry.child_info == ("SUBSCRIBED",) and fifth.entry.old_name == "Bar é"
    assert fifth.entry.extended == (("CHILDINFO", ("SUBSCRIBED",)), ("OLDNAME", ("Bar &AOk-",)))


@pytest.mark.parametrize(
    ("flag", "special"),
    [
        ("\\sent", "\\Sent"),
        ("\\DRAFTS", "\\Drafts"),
        ("\\Trash", "\\Trash"),
        ("\\Junk", "\\Junk"),
        ("\\Spam", "\\Junk"),
        ("\\Archive", "\\Archive"),
        ("\\All", "\\All"),
        ("\\Flagged", "\\Flagged"),
        ("\\Important", "\\Important"),
    ],
)
def test_special_use_is_case_insensitive(flag: str, special: str) -> None:
    event = one(b"* LIST (\\HasNoChildren " + flag.encode() + b') "/" x\r\n')
    assert isinstance(event, ListResponse) and event.entry.special_use == special


def test_list_utf8_accept() -> None:
    data = '* LIST () "/" "Entwürfe &AOk-"\r\n'.encode()
    plain = one(data)
    utf8 = one(data, utf8_accept=True)
    assert isinstance(plain, ListResponse) and isinstance(utf8, ListResponse)
    assert utf8.entry.name == "Entwürfe &AOk-"  # taken literally under UTF8=ACCEPT
    assert plain.entry.name == "Entwürfe &AOk-"  # not modified UTF-7: kept as text
    assert plain.entry.raw_name == "Entwürfe &AOk-".encode()


def test_status() -> None:
    assert one(
        b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 UIDVALIDITY 1 UNSEEN 0 RECENT 2"
        b" HIGHESTMODSEQ 7011231777 SIZE 123456789 DELETED 3 MAILBOXID (F22) X-FOO 9)\r\n"
    ) == Status(
        "blurdybloop",
        b"blurdybloop",
        messages=231,
        recent=2,
        uidnext=44292,
        uidvalidity=1,
        unseen=0,
        highestmodseq=7011231777,
        size=123456789,
        deleted=3,
        mailbox_id="F22",
        items=(
            ("MESSAGES", 231),
            ("UIDNEXT", 44292),
            ("UIDVALIDITY", 1),
            ("UNSEEN", 0),
            ("RECENT", 2),
            ("HIGHESTMODSEQ", 7011231777),
            ("SIZE", 123456789),
            ("DELETED", 3),
            ("MAILBOXID", ("F22",)),
            ("X-FOO", 9),
        ),
    )
    unquoted = one(b"* STATUS My files (UIDNEXT 24369)\r\n")
    assert isinstance(unquoted, Status) and unquoted.mailbox == "My files"


def test_search_sort_thread() -> None:
    assert events(
        b"* SEARCH\r\n* SEARCH 2 84 882\r\n* SEARCH 1 2 (MODSEQ 917162500)\r\n* SORT 5 3 4\r\n"
        b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n* THREAD\r\n"
    ) == [
        Search(()),
        Search((2, 84, 882)),
        Search((1, 2), 917162500),
        Sort((5, 3, 4)),
        Thread(((2,), (3, 6, (4, 23), (44, 7, 96)))),
        Thread(()),
    ]


def test_esearch() -> None:
    assert events(
        b'* ESEARCH (TAG "A285") UID MIN 7 MAX 3800 COUNT 15 ALL 4:18,21 MODSEQ 1236\r\n'
        b"* ESEARCH\r\n"
        b'* ESEARCH (TAG "A01") UID PARTIAL (-1:-100 200:250,252:300) X-NEW (1 2)\r\n'
        b'* ESEARCH (TAG "A04") UID PARTIAL (24000:24500 NIL)\r\n'
    ) == [
        ESearch("A285", True, 7, 3800, 15, SequenceSet.parse(b"4:18,21"), 1236),
        ESearch(None, False),
        ESearch(
            "A01",
            True,
            partial=("-1:-100", SequenceSet.parse(b"200:250,252:300")),
            extra=(("X-NEW", (1, 2)),),
        ),
        ESearch("A04", True, partial=("24000:24500", None)),
    ]


def test_vanished() -> None:
    assert events(b"* VANISHED (EARLIER) 41,43:116\r\n* VANISHED 405,407\r\n") == [
        Vanished(SequenceSet.parse(b"41,43:116"), True),
        Vanished(SequenceSet.parse(b"405,407"), False),
    ]


def test_id_namespace_quota_metadata_acl() -> None:
    assert events(
        b'* ID ("name" "Cyrus" "version" NIL)\r\n* ID NIL\r\n'
        b'* NAMESPACE (("" "/")) (("~" "/" "X-PARAM" ("FLAG1" "FLAG2"))) NIL\r\n'
        b'* QUOTA "" (STORAGE 10 512 MESSAGE 3 100)\r\n* QUOTAROOT INBOX ""\r\n'
        b'* METADATA INBOX (/private/comment "My comment" /shared/x NIL)\r\n'
        b"* METADATA INBOX /shared/comment /private/x\r\n"
        b"* ACL INBOX Fred rwipslxetad other lr\r\n* MYRIGHTS INBOX rwiptsldaex\r\n"
        b"* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n"
    ) == [
        Id((("name", "Cyrus"), ("version", None))),
        Id(None),
        Namespace(
            (NamespaceEntry("", "/"),),
            (NamespaceEntry("~", "/", (("X-PARAM", ("FLAG1", "FLAG2")),)),),
            (),
        ),
        Quota("", (QuotaResource("STORAGE", 10, 512), QuotaResource("MESSAGE", 3, 100))),
        QuotaRoot("INBOX", ("",)),
        Metadata("INBOX", (("/private/comment", b"My comment"), ("/shared/x", None))),
        Metadata("INBOX", (("/shared/comment", None), ("/private/x", None)), False),
        Acl("INBOX", (("Fred", "rwipslxetad"), ("other", "lr"))),
        MyRights("INBOX", "rwiptsldaex"),
        ListRights("~/Mail/saved", "smith", "la", ("r", "swicdkxte")),
    ]


def test_unknown_untagged_responses_are_generic() -> None:
    assert events(
        b'* 5 XFOO bar "baz qux" (1 NIL {3}\r\nabc)\r\n* NOOP\r\n* XBROKEN "unterminated\r\n'
    ) == [
        UnknownUntagged(
            "XFOO",
            5,
            ("bar", "baz qux", (1, None, b"abc")),
            b'* 5 XFOO bar "baz qux" (1 NIL {3}\nabc)',
        ),
        UnknownUntagged("NOOP", None, (), b"* NOOP"),
        UnknownUntagged("XBROKEN", None, (), b'* XBROKEN "unterminated'),
    ]


# -- framing, quirks, errors ----------------------------------------------------------


def test_quirky_framing() -> None:
    assert events(
        b"* 1 EXISTS\n"  # bare LF
        b"* 2 EXISTS   \r\n"  # trailing spaces
        b"\r\n"  # an empty line
        b"* SEARCH 1 2 \r\n"
        b"* 3 FETCH (UID 5 )\r\n"
        b"* 4 FETCH (FLAGS (\\Seen)UID 6)\r\n"  # missing space
        b"* 5 FETCH (BODY[] {3+}\r\nabc)\r\n"  # non-synchronizing literal from a server
        b"* 6 FETCH (BODY[] {003}\r\nabc)\r\n"  # leading zeros
    ) == [
        Exists(1),
        Exists(2),
        Search((1, 2)),
        Fetch(3, uid=5),
        Fetch(4, uid=6, flags=("\\Seen",)),
        Fetch(5, sections=(BodySection("BODY", "", None, b"abc"),)),
        Fetch(6, sections=(BodySection("BODY", "", None, b"abc"),)),
    ]


def test_error_then_resync_at_next_response() -> None:
    parser = ResponseParser()
    parser.feed(b"* 1 FETCH (UID x)\r\n* 2 EXISTS\r\nfoo BAR\r\n* 3 EXISTS\r\n")
    with pytest.raises(ProtocolError) as error:
        parser.next_event()
    assert error.value.offset >= 0 and error.value.snippet
    assert parser.next_event() == Exists(2)
    with pytest.raises(ProtocolError):
        parser.next_event()
    assert parser.next_event() == Exists(3)
    assert parser.next_event() is NEED_DATA


def test_error_offsets_count_literals() -> None:
    parser = ResponseParser()
    parser.feed(b'* 9 EXISTS\r\n* 1 FETCH (BODY[] {5}\r\nhello FLAGS ("x)\r\n')
    assert parser.next_event() == Exists(9)
    with pytest.raises(ProtocolError) as error:
        parser.next_event()
    assert error.value.snippet == b'"x)'  # the offending quote (offset within a byte)
    assert abs(error.value.offset - (12 + 36)) <= 1
    assert parser.offset == 12 + 41


def test_long_lines_and_huge_literals() -> None:
    parser = ResponseParser(max_line_length=20)
    parser.feed(b"* OK this line is far too long for the limit")
    with pytest.raises(ProtocolError):
        parser.next_event()
    parser.feed(b" still going\r\n* 1 EXISTS\r\n")
    assert parser.next_event() == Exists(1)
    with pytest.raises(ProtocolError):
        events(b"* 1 FETCH (BODY[] {99999999999999999999}\r\n")
    with pytest.raises(ProtocolError):
        events(b"* 1 FETCH (BODY[] {4294967296}\r\n")


def test_end_of_stream() -> None:
    parser = ResponseParser()
    parser.feed(b"* 1 EXISTS\r\n* 2 EXI")
    parser.feed(b"")
    assert parser.next_event() == Exists(1)
    with pytest.raises(ProtocolError):
        parser.next_event()
    assert isinstance(parser.next_event(), ConnectionClosed)
    assert parser.next_event() is NEED_DATA


# -- streamed literals --------------------------------------------------------------


def test_large_body_literal_is_streamed() -> None:
    body_bytes = bytes(range(256)) * 40  # 10240 bytes
    data = (
        b"* 7 FETCH (UID 9 BODY[1.TEXT]<100> {10240}\r\n"
        + body_bytes
        + b" FLAGS (\\Seen))\r\n* 8 FETCH (BODY[] {10}\r\n0123456789)\r\n"
    )
    parser = ResponseParser(literal_stream_threshold=1000)
    received: list[Event] = []
    for index in range(0, len(data), 4000):
        parser.feed(data[index : index + 4000])
        while (event := parser.next_event()) is not NEED_DATA:
            assert isinstance(event, Event)
            received.append(event)
    assert received[0] == FetchLiteralStart(7, "BODY", "1.TEXT", 100, 10240)
    chunks = [event for event in received if isinstance(event, FetchLiteralData)]
    assert len(chunks) >= 3 and b"".join(chunk.data for chunk in chunks) == body_bytes
    assert received[len(chunks) + 1] == FetchLiteralEnd()
    assert received[len(chunks) + 2 :] == [
        Fetch(
            7,
            uid=9,
            flags=("\\Seen",),
            sections=(BodySection("BODY", "1.TEXT", 100, StreamedLiteral(10240)),),
        ),
        Fetch(8, sections=(BodySection("BODY", "", None, b"0123456789"),)),
    ]


@pytest.mark.parametrize(
    ("item", "name", "section"),
    [(b"RFC822", "RFC822", ""), (b"BINARY[2]", "BINARY", "2"), (b"RFC822.TEXT", "RFC822.TEXT", "")],
)
def test_streamed_items(item: bytes, name: str, section: str) -> None:
    received = events(
        b"* 1 FETCH (" + item + b" ~{20}\r\n" + b"x" * 20 + b")\r\n", literal_stream_threshold=10
    )
    assert received[0] == FetchLiteralStart(1, name, section, None, 20)
    assert received[-1] == Fetch(
        1, sections=(BodySection(name, section, None, StreamedLiteral(20)),)
    )


def test_only_body_literals_are_streamed() -> None:
    received = events(b'* LIST () "/" {20}\r\n' + b"x" * 20 + b"\r\n", literal_stream_threshold=10)
    assert [type(event) for event in received] == [ListResponse]


# -- the command line -------------------------------------------------------------------


def test_command_line(tmp_path: Path) -> None:
    transcript = (
        b"* OK [CAPABILITY IMAP4rev1] ready\r\n"
        b'* 1 FETCH (UID 3 BODYSTRUCTURE (("text" "plain" NIL NIL NIL "7bit" 1 1)'
        b' "mixed") BODY[] {3}\r\nabc)\r\n'
        b"a1 OK done\r\n+ go\r\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "imapproto.parse", "--chunk", "5"],
        input=transcript,
        capture_output=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["kind"], line["tag"], line["type"]) for line in lines] == [
        ("untagged", None, "OK"),
        ("untagged", None, "FETCH"),
        ("tagged", "a1", "OK"),
        ("continuation", None, "CONTINUATION"),
    ]
    structure = lines[1]["data"]["bodystructure"]
    assert (structure["part"], structure["type"], structure["subtype"]) == (
        "",
        "multipart",
        "mixed",
    )
    assert structure["children"][0]["part"] == "1"
    assert lines[1]["data"]["sections"][0]["data"] == "abc"
    assert lines[0]["data"]["code"] == {"name": "CAPABILITY", "value": ["IMAP4REV1"]}

    broken = subprocess.run(
        [sys.executable, "-m", "imapproto.parse"],
        input=b"* 1 EXISTS\r\n* 1 FETCH (UID\r\n",
        capture_output=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert broken.returncode == 1
    out = [json.loads(line) for line in broken.stdout.splitlines()]
    assert out[0]["type"] == "EXISTS" and "error" in out[1]


def test_streamed_chunks_are_bounded() -> None:
    size = 3 * STREAM_CHUNK_SIZE + 5
    data = b"* 1 FETCH (BODY[] {%d}\r\n" % size + b"y" * size + b")\r\n"
    received = events(data)
    chunks = [event.data for event in received if isinstance(event, FetchLiteralData)]
    assert max(len(chunk) for chunk in chunks) == STREAM_CHUNK_SIZE
    assert sum(len(chunk) for chunk in chunks) == size
    assert received[-1] == Fetch(
        1, sections=(BodySection("BODY", "", None, StreamedLiteral(size)),)
    )


def test_copyuid_keeps_the_pairing_order() -> None:
    event = one(b"a OK [COPYUID 7 5,3,10:11 20:21,30,31] done\r\n")
    assert isinstance(event, TaggedResponse) and event.code is not None
    copied = event.code.value
    assert isinstance(copied, CopyUid)
    assert copied.source == SequenceSet.parse(b"3,5,10:11")  # the set forgets the order
    assert list(copied.uid_map()) == [(5, 20), (3, 21), (10, 30), (11, 31)]
