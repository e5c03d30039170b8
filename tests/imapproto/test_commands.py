"""Command builders: the exact wire form of each, validation, and log redaction."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from imapproto import _commands as cmd
from imapproto._commands import Command, FetchSection, QresyncParams
from imapproto._errors import LocalProtocolError
from imapproto._search import UNSEEN
from imapproto._seqset import SequenceSet
from imapproto._writers import EncodingOptions, Raw

ALL_UIDS = SequenceSet.parse("1:*", allow_star=True)
LITERAL_PLUS = EncodingOptions(literal_plus=True)
SASL_IR = EncodingOptions(sasl_ir=True)
ODD_OFFSET = timezone(timedelta(seconds=30))
NEWFOUNDLAND = timezone(-timedelta(hours=3, minutes=30))


def line(command: Command, options: EncodingOptions = LITERAL_PLUS) -> bytes:
    (single,) = command.encode("A1", options)
    return single


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (cmd.capability(), b"A1 CAPABILITY\r\n"),
        (cmd.noop(), b"A1 NOOP\r\n"),
        (cmd.logout(), b"A1 LOGOUT\r\n"),
        (cmd.starttls(), b"A1 STARTTLS\r\n"),
        (cmd.compress(), b"A1 COMPRESS DEFLATE\r\n"),
        (cmd.login("joe", "secret"), b"A1 LOGIN joe secret\r\n"),
        (cmd.login("joe@example.com", "p w"), b'A1 LOGIN joe@example.com "p w"\r\n'),
        (cmd.id_(), b"A1 ID NIL\r\n"),
        (cmd.id_({"name": "trimap", "os": None}), b'A1 ID ("name" "trimap" "os" NIL)\r\n'),
        (cmd.enable("condstore", "UTF8=ACCEPT"), b"A1 ENABLE CONDSTORE UTF8=ACCEPT\r\n"),
        (cmd.idle(), b"A1 IDLE\r\n"),
        (
            cmd.notify_set(["MessageNew", "FlagChange"], ["MailboxName"]),
            b"A1 NOTIFY SET STATUS (SELECTED (MESSAGENEW (UID FLAGS) FLAGCHANGE))"
            b" (personal (MAILBOXNAME))\r\n",
        ),
        (
            cmd.notify_set([], ["MessageNew"], mailboxes="subscribed", status=False),
            b"A1 NOTIFY SET (subscribed (MESSAGENEW))\r\n",
        ),
        (cmd.notify_none(), b"A1 NOTIFY NONE\r\n"),
        (cmd.namespace(), b"A1 NAMESPACE\r\n"),
        (cmd.list_(), b'A1 LIST "" *\r\n'),
        (cmd.list_("", "%"), b'A1 LIST "" %\r\n'),
        (cmd.list_("Archive/", "2024*"), b"A1 LIST Archive/ 2024*\r\n"),
        (
            cmd.list_(selection=["SPECIAL-USE"], return_=["SPECIAL-USE"]),
            b'A1 LIST (SPECIAL-USE) "" * RETURN (SPECIAL-USE)\r\n',
        ),
        (
            cmd.list_(
                return_=("subscribed", "CHILDREN", "SPECIAL-USE"),
                status_items=("MESSAGES", "UIDNEXT", "UIDVALIDITY", "HIGHESTMODSEQ"),
            ),
            b'A1 LIST "" * RETURN (SUBSCRIBED CHILDREN SPECIAL-USE'
            b" STATUS (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ))\r\n",
        ),
        (cmd.lsub(), b'A1 LSUB "" *\r\n'),
        (cmd.status("INBOX", ["MESSAGES", "uidnext"]), b"A1 STATUS INBOX (MESSAGES UIDNEXT)\r\n"),
        (cmd.select("INBOX"), b"A1 SELECT INBOX\r\n"),
        (cmd.select("Sent Items", condstore=True), b'A1 SELECT "Sent Items" (CONDSTORE)\r\n'),
        (cmd.examine("~peter/mail/台北"), b"A1 EXAMINE ~peter/mail/&U,BTFw-\r\n"),
        (
            cmd.select("INBOX", qresync=QresyncParams(67890007, 20050715194045000)),
            b"A1 SELECT INBOX (QRESYNC (67890007 20050715194045000))\r\n",
        ),
        (
            cmd.select(
                "INBOX",
                qresync=QresyncParams(
                    67890007,
                    20050715194045000,
                    SequenceSet.parse("1:2,4:7"),
                    (SequenceSet.parse("1:3"), SequenceSet.parse("1:2,4")),
                ),
            ),
            b"A1 SELECT INBOX (QRESYNC (67890007 20050715194045000 1:2,4:7 (1:3 1:2,4)))\r\n",
        ),
        (cmd.create("Projects"), b"A1 CREATE Projects\r\n"),
        (cmd.create("Sent", special_use="\\Sent"), b"A1 CREATE Sent (USE (\\Sent))\r\n"),
        (cmd.delete("Old"), b"A1 DELETE Old\r\n"),
        (cmd.rename("Old", "New & Improved"), b'A1 RENAME Old "New &- Improved"\r\n'),
        (cmd.subscribe("A"), b"A1 SUBSCRIBE A\r\n"),
        (cmd.unsubscribe(b"Donn\xc3\xa9es"), b"A1 UNSUBSCRIBE {8+}\r\nDonn\xc3\xa9es\r\n"),
        (cmd.getquotaroot("INBOX"), b"A1 GETQUOTAROOT INBOX\r\n"),
        (cmd.getquota(""), b'A1 GETQUOTA ""\r\n'),
        (
            cmd.fetch([1, 2, 3], ["UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"]),
            b"A1 FETCH 1:3 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)\r\n",
        ),
        (
            cmd.fetch(ALL_UIDS, ["uid", "flags", "modseq"], uid=True, changedsince=12345),
            b"A1 UID FETCH 1:* (UID FLAGS MODSEQ) (CHANGEDSINCE 12345)\r\n",
        ),
        (
            cmd.fetch(ALL_UIDS, ["FLAGS"], uid=True, changedsince=1, vanished=True),
            b"A1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n",
        ),
        (
            cmd.fetch(
                7,
                [
                    "BODYSTRUCTURE",
                    "X-GM-MSGID",
                    "X-GM-THRID",
                    "X-GM-LABELS",
                    "EMAILID",
                    "THREADID",
                    "PREVIEW",
                ],
                uid=True,
            ),
            b"A1 UID FETCH 7 (BODYSTRUCTURE X-GM-MSGID X-GM-THRID X-GM-LABELS EMAILID THREADID"
            b" PREVIEW)\r\n",
        ),
        (
            cmd.fetch(
                7,
                [
                    FetchSection("1.2", partial=(0, 4096)),
                    FetchSection(binary=True, part="2"),
                    FetchSection(text="HEADER.FIELDS", fields=("From", "Subject")),
                    FetchSection(peek=False),
                    FetchSection("3", "mime"),
                    FetchSection(text="HEADER.FIELDS.NOT", fields=("Received",)),
                ],
            ),
            b"A1 FETCH 7 (BODY.PEEK[1.2]<0.4096> BINARY.PEEK[2]"
            b" BODY.PEEK[HEADER.FIELDS (From Subject)] BODY[] BODY.PEEK[3.MIME]"
            b" BODY.PEEK[HEADER.FIELDS.NOT (Received)])\r\n",
        ),
        (
            cmd.store([1, 2], "add", ["\\Seen"]),
            b"A1 STORE 1:2 +FLAGS.SILENT (\\Seen)\r\n",
        ),
        (
            cmd.store(5, "remove", ["\\Flagged", "$Important"], uid=True, silent=False),
            b"A1 UID STORE 5 -FLAGS (\\Flagged $Important)\r\n",
        ),
        (
            cmd.store(5, "replace", [], uid=True, unchangedsince=200),
            b"A1 UID STORE 5 (UNCHANGEDSINCE 200) FLAGS.SILENT ()\r\n",
        ),
        (
            cmd.store(5, "add", ["\\Important", "Work/Reports", "Été"], gmail_labels=True),
            b"A1 STORE 5 +X-GM-LABELS.SILENT (\\Important Work/Reports &AMk-t&AOk-)\r\n",
        ),
        (cmd.copy([1, 3], "Archive", uid=True), b"A1 UID COPY 1,3 Archive\r\n"),
        (cmd.move(SequenceSet.parse("2:4"), "Trash"), b"A1 MOVE 2:4 Trash\r\n"),
        (cmd.expunge(), b"A1 EXPUNGE\r\n"),
        (cmd.expunge([10, 11]), b"A1 UID EXPUNGE 10:11\r\n"),
        (cmd.check(), b"A1 CHECK\r\n"),
        (cmd.close(), b"A1 CLOSE\r\n"),
        (cmd.unselect(), b"A1 UNSELECT\r\n"),
        (cmd.search(UNSEEN, uid=True), b"A1 UID SEARCH UNSEEN\r\n"),
        (
            cmd.append("INBOX", b"Subject: hi\r\n\r\nbody\r\n"),
            b"A1 APPEND INBOX {21+}\r\nSubject: hi\r\n\r\nbody\r\n\r\n",
        ),
        (
            cmd.append(
                "Sent",
                b"x",
                flags=["\\Seen", "$MDNSent"],
                internal_date=datetime(2024, 2, 1, 9, 5, 3, tzinfo=timezone(timedelta(hours=2))),
            ),
            b'A1 APPEND Sent (\\Seen $MDNSent) " 1-Feb-2024 09:05:03 +0200" {1+}\r\nx\r\n',
        ),
        (
            cmd.append(
                "Sent",
                b"x",
                internal_date=datetime(
                    2024, 12, 31, 23, 0, tzinfo=timezone(-timedelta(hours=3, minutes=30))
                ),
            ),
            b'A1 APPEND Sent "31-Dec-2024 23:00:00 -0330" {1+}\r\nx\r\n',
        ),
    ],
)
def test_wire_form(command: Command, expected: bytes) -> None:
    assert line(command) == expected


def test_single_items_are_not_split_into_characters() -> None:
    assert line(cmd.fetch(1, "FLAGS")) == b"A1 FETCH 1 (FLAGS)\r\n"
    assert line(cmd.fetch(1, FetchSection())) == b"A1 FETCH 1 (BODY.PEEK[])\r\n"
    assert line(cmd.status("INBOX", "UIDNEXT")) == b"A1 STATUS INBOX (UIDNEXT)\r\n"
    assert line(cmd.store(1, "add", "\\Seen")) == b"A1 STORE 1 +FLAGS.SILENT (\\Seen)\r\n"
    assert line(cmd.list_(return_="CHILDREN")) == b'A1 LIST "" * RETURN (CHILDREN)\r\n'


@settings(max_examples=200)
@given(st.text(min_size=1), st.text(min_size=1))
def test_render_never_shows_secrets(user: str, secret: str) -> None:
    assume("\x00" not in user + secret and "S3cr3t" not in user)
    password = "S3cr3t:" + secret
    for options in (EncodingOptions(), SASL_IR, EncodingOptions(utf8=True, literal_plus=True)):
        for command in (
            cmd.login(user, password),
            cmd.authenticate_plain(user, password),
            cmd.authenticate_xoauth2("joe", "S3cr3t" + secret.encode().hex()),
        ):
            text = command.render("A1", options, max_literal=10_000)
            assert "S3cr3t" not in text and text.endswith("***")


def test_sync_literal_append_is_two_chunks() -> None:
    assert cmd.append("INBOX", b"hello").encode("A7") == (b"A7 APPEND INBOX {5}\r\n", b"hello\r\n")


def test_login_with_awkward_credentials() -> None:
    assert cmd.login("jöe", 'p"w\r\n').encode("A1") == (
        b"A1 LOGIN {4}\r\n",
        "jöe {5}\r\n".encode(),
        b'p"w\r\n\r\n',
    )
    assert cmd.login("joe", "secret").render("A1") == "A1 LOGIN joe ***"
    assert cmd.login("jöe", "a\r\nb").render("A1") == "A1 LOGIN {4}\\r\\njöe ***"


def _decoded_ir(command: Command) -> bytes:
    (first,) = command.encode("A1", SASL_IR)
    return base64.b64decode(first.split()[-1])


def test_authenticate_plain() -> None:
    command = cmd.authenticate_plain("joe", "pässword")
    assert _decoded_ir(command) == "\x00joe\x00pässword".encode()
    assert command.encode("A1") == (
        b"A1 AUTHENTICATE PLAIN\r\n",
        base64.b64encode("\x00joe\x00pässword".encode()) + b"\r\n",
    )
    assert (
        _decoded_ir(cmd.authenticate_plain("joe", "pw", authzid="admin")) == b"admin\x00joe\x00pw"
    )
    assert command.render("A1", SASL_IR) == "A1 AUTHENTICATE PLAIN ***"
    assert command.sasl is not None and command.sasl.error_reply is None
    with pytest.raises(LocalProtocolError):
        cmd.authenticate_plain("joe\x00", "pw")


def test_authenticate_oauth() -> None:
    xoauth2 = cmd.authenticate_xoauth2("joe@gmail.com", "ya29.token")
    assert _decoded_ir(xoauth2) == b"user=joe@gmail.com\x01auth=Bearer ya29.token\x01\x01"
    assert xoauth2.sasl is not None and xoauth2.sasl.error_reply == b""
    bearer = cmd.authenticate_oauthbearer("a,b=c@x.org", "tok", host="imap.x.org", port=993)
    assert _decoded_ir(bearer) == (
        b"n,a=a=2Cb=3Dc@x.org,\x01host=imap.x.org\x01port=993\x01auth=Bearer tok\x01\x01"
    )
    assert bearer.sasl is not None and bearer.sasl.error_reply == b"\x01"
    assert _decoded_ir(cmd.authenticate_oauthbearer("u", "t")) == b"n,a=u,\x01auth=Bearer t\x01\x01"
    assert "tok" not in bearer.render("A1") and "tok" not in bearer.render("A1", SASL_IR)
    bad_inputs: list[Callable[[], object]] = [
        lambda: cmd.authenticate_xoauth2("joe", "tok\x01en"),
        lambda: cmd.authenticate_oauthbearer("joe", "t", host="h\r\n"),
        lambda: cmd.authenticate_oauthbearer("joe", "t", port=70000),
    ]
    for make in bad_inputs:
        with pytest.raises(LocalProtocolError):
            make()


def test_generic_authenticate() -> None:
    command = cmd.authenticate("cram-md5")
    assert command.encode("A1", SASL_IR) == (b"A1 AUTHENTICATE CRAM-MD5\r\n",)


def test_append_binary_message() -> None:
    message = b"a\x00b"
    with pytest.raises(LocalProtocolError):
        cmd.append("INBOX", message).encode("A1")
    assert cmd.append("INBOX", message).encode("A1", EncodingOptions(binary=True)) == (
        b"A1 APPEND INBOX ~{3}\r\n",
        b"a\x00b\r\n",
    )


def test_render_elides_long_messages() -> None:
    command = cmd.append("INBOX", b"x" * 5000, flags=["\\Seen"])
    assert command.render("A1") == "A1 APPEND INBOX (\\Seen) {5000 bytes}"


def test_fetch_section_names() -> None:
    section = FetchSection("1.2", text="header.fields", fields=("From", "X(y)"))
    assert section.section == '1.2.HEADER.FIELDS (From "X(y)")'
    assert section.response_name == "BODY"
    assert FetchSection("2", binary=True).response_name == "BINARY"
    assert FetchSection().section == ""


@pytest.mark.parametrize(
    "make",
    [
        lambda: FetchSection("0"),
        lambda: FetchSection("1..2"),
        lambda: FetchSection("1", text="BOGUS"),
        lambda: FetchSection(text="MIME"),
        lambda: FetchSection(text="HEADER.FIELDS"),
        lambda: FetchSection(text="HEADER", fields=("From",)),
        lambda: FetchSection(text="HEADER.FIELDS", fields=("Bad:Field",)),
        lambda: FetchSection(text="HEADER.FIELDS", fields=("Bad Field",)),
        lambda: FetchSection("1", text="TEXT", binary=True),
        lambda: FetchSection(partial=(0, 0)),
        lambda: FetchSection(partial=(-1, 5)),
        lambda: cmd.fetch(1, []),
        lambda: cmd.fetch(1, ["UID)"]),
        lambda: cmd.fetch(1, ["BODY[]"]),
        lambda: cmd.fetch([], ["UID"]),
        lambda: cmd.fetch(1, ["FLAGS"], vanished=True, changedsince=1),
        lambda: cmd.fetch(1, ["FLAGS"], uid=True, vanished=True),
        lambda: cmd.fetch(1, ["FLAGS"], changedsince=-1),
        lambda: cmd.store(1, "toggle", ["\\Seen"]),  # type: ignore[arg-type]
        lambda: cmd.store(1, "add", ["\\*"]),
        lambda: cmd.store(1, "add", ["a b"]),
        lambda: cmd.store(1, "add", ["\\Seen)"]),
        lambda: cmd.store(1, "add", ["x"], unchangedsince=-5),
        lambda: cmd.status("INBOX", []),
        lambda: cmd.status("INBOX", ["MESSAGES UIDNEXT"]),
        lambda: cmd.enable(),
        lambda: cmd.enable("A B"),
        lambda: cmd.list_(return_=["CHILDREN)"]),
        lambda: cmd.create("X", special_use="Sent"),
        lambda: cmd.append("INBOX", b"x", internal_date=datetime(2024, 1, 1)),
        lambda: cmd.append(
            "INBOX",
            b"x",
            internal_date=datetime(2024, 1, 1, tzinfo=timezone(timedelta(seconds=30))),
        ),
        lambda: cmd.select("INBOX", qresync=QresyncParams(0, 1)),
        lambda: cmd.select("INBOX", qresync=QresyncParams(1, 0)),
        lambda: cmd.select(
            "INBOX",
            qresync=QresyncParams(1, 1, seq_match=(SequenceSet.parse("1"), SequenceSet.parse("1"))),
        ),
        lambda: cmd.select("bad\x00name"),
        lambda: Command("bad name!"),
        lambda: Command("FETCH\r\nX"),
        lambda: cmd.noop().encode("A+1"),
        lambda: cmd.noop().encode("A 1"),
        lambda: cmd.noop().encode(""),
    ],
)
def test_invalid_input_is_refused(make: object) -> None:
    with pytest.raises(LocalProtocolError):
        make()  # type: ignore[operator]


def test_generic_command_for_extensions() -> None:
    command = Command("GETMETADATA", (Raw(b"INBOX"), Raw(b"/private/comment")))
    assert line(command) == b"A1 GETMETADATA INBOX /private/comment\r\n"


def test_internal_date_in_utc() -> None:
    command = cmd.append("INBOX", b"x", internal_date=datetime(2024, 3, 10, 1, 2, 3, tzinfo=UTC))
    assert b'"10-Mar-2024 01:02:03 +0000"' in line(command)


@pytest.mark.parametrize(
    "build",
    [
        lambda: cmd.notify_set([], [], status=False),
        lambda: cmd.notify_set(["MessageNew"], [], mailboxes="all) (x"),
        lambda: cmd.notify_set(["Message New"], []),
        lambda: cmd.notify_set(["MessageNew"], [], fetch_items=["UID)"]),
    ],
)
def test_notify_refuses_bad_arguments(build: Callable[[], Command]) -> None:
    with pytest.raises(LocalProtocolError):
        build()
