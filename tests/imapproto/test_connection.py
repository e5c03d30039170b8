"""The client state machine, driven by scripted server transcripts (no sockets)."""

from __future__ import annotations

import base64
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imapproto import _commands as cmd
from imapproto._connection import (
    PAUSED,
    AuthenticationChallenge,
    ClientConnection,
    CommandCompleted,
    ConnectionState,
    IdleStarted,
)
from imapproto._errors import LocalProtocolError, ProtocolError
from imapproto._events import (
    NEED_DATA,
    Capability,
    ConnectionClosed,
    Event,
    Exists,
    Expunge,
    Fetch,
    FetchLiteralData,
    FetchLiteralEnd,
    FetchLiteralStart,
    ListResponse,
    Status,
    UntaggedCondition,
    Vanished,
)

RAW_NAME = "Données".encode()  # a mailbox name as a UTF-8 server sends it
GREETING = b"* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN] ready\r\n"


def feed(conn: ClientConnection, data: bytes) -> list[Event]:
    """Feed ``data`` and return every event it produced."""
    conn.receive_data(data)
    events: list[Event] = []
    while True:
        event = conn.next_event()
        if event is NEED_DATA or event is PAUSED:
            return events
        assert isinstance(event, Event)
        events.append(event)


def greeted(greeting: bytes = GREETING) -> ClientConnection:
    conn = ClientConnection()
    feed(conn, greeting)
    return conn


def logged_in(capabilities: bytes = b"IMAP4rev1 IDLE") -> ClientConnection:
    conn = greeted()
    tag = conn.send_command(cmd.login("joe", "pw"))
    conn.data_to_send()
    feed(conn, b"%s OK [CAPABILITY %s] hi\r\n" % (tag.encode(), capabilities))
    assert conn.state is ConnectionState.AUTHENTICATED
    return conn


def selected(capabilities: bytes = b"IMAP4rev1 IDLE") -> ClientConnection:
    conn = logged_in(capabilities)
    tag = conn.send_command(cmd.select("INBOX"))
    conn.data_to_send()
    feed(conn, b"* 3 EXISTS\r\n%s OK [READ-WRITE] done\r\n" % tag.encode())
    assert conn.state is ConnectionState.SELECTED
    return conn


# -- greeting ---------------------------------------------------------------------


def test_greeting_ok_sets_capabilities() -> None:
    conn = ClientConnection()
    assert conn.state is ConnectionState.GREETING
    assert feed(conn, b"* OK [CAPABILITY") == []
    (event,) = feed(conn, b" IMAP4rev1 LITERAL+ IDLE] hello\r\n")
    assert isinstance(event, UntaggedCondition) and event.status == "OK"
    assert conn.state is ConnectionState.NOT_AUTHENTICATED  # type: ignore[comparison-overlap]
    assert conn.capabilities == {"IMAP4REV1", "LITERAL+", "IDLE"}
    assert conn.encoding_options.literal_plus


def test_greeting_preauth_and_bye() -> None:
    assert greeted(b"* PREAUTH welcome back\r\n").state is ConnectionState.AUTHENTICATED
    assert greeted(b"* BYE too busy\r\n").state is ConnectionState.LOGOUT


@pytest.mark.parametrize("bad", [b"A1 OK no\r\n", b"* 3 EXISTS\r\n", b"+ go\r\n", b"* NO x\r\n"])
def test_bad_greeting(bad: bytes) -> None:
    with pytest.raises(ProtocolError):
        feed(ClientConnection(), bad)


def test_nothing_is_sent_before_the_greeting() -> None:
    with pytest.raises(LocalProtocolError):
        ClientConnection().send_command(cmd.capability())


def test_closed_before_greeting() -> None:
    conn = ClientConnection()
    (event,) = feed(conn, b"")
    assert isinstance(event, ConnectionClosed)
    assert conn.state is ConnectionState.LOGOUT


def test_tag_prefix() -> None:
    conn = ClientConnection(tag_prefix="tm")
    feed(conn, GREETING)
    assert conn.send_command(cmd.noop()) == "tm1"
    assert conn.send_command(cmd.noop()) == "tm2"
    assert conn.data_to_send() == b"tm1 NOOP\r\ntm2 NOOP\r\n"
    for bad in ("", "A 1", "+", "1A"):
        with pytest.raises(LocalProtocolError):
            ClientConnection(tag_prefix=bad)


# -- login and capabilities -------------------------------------------------------


def test_login_with_capability_code() -> None:
    conn = greeted()
    tag = conn.send_command(cmd.login("joe", "pw"))
    assert tag == "A1"
    assert conn.data_to_send() == b"A1 LOGIN joe pw\r\n"
    assert conn.data_to_send() == b""
    assert conn.in_flight == ("A1",)
    (done,) = feed(conn, b"A1 OK [CAPABILITY IMAP4rev1 MOVE] Logged in\r\n")
    assert isinstance(done, CommandCompleted) and done.ok
    assert done.tag == "A1" and done.command == cmd.login("joe", "pw")
    assert done.code is not None and done.code.name == "CAPABILITY"
    assert conn.state is ConnectionState.AUTHENTICATED
    assert conn.capabilities == {"IMAP4REV1", "MOVE"}
    assert conn.in_flight == ()  # type: ignore[comparison-overlap]


def test_login_with_untagged_capability_keeps_it() -> None:
    conn = greeted()
    conn.send_command(cmd.login("joe", "pw"))
    events = feed(conn, b"* CAPABILITY IMAP4rev1 X-GM-EXT-1\r\nA1 OK joe authenticated\r\n")
    assert isinstance(events[0], Capability)
    assert conn.capabilities == {"IMAP4REV1", "X-GM-EXT-1"}


def test_login_without_capabilities_forgets_them() -> None:
    conn = greeted()
    conn.send_command(cmd.login("joe", "pw"))
    feed(conn, b"A1 OK Logged in\r\n")
    assert conn.capabilities == frozenset()


def test_failed_login() -> None:
    conn = greeted()
    conn.send_command(cmd.login("joe", "bad"))
    (done,) = feed(conn, b"A1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
    assert isinstance(done, CommandCompleted) and not done.ok and done.status == "NO"
    assert done.text == "Authentication failed."
    assert conn.state is ConnectionState.NOT_AUTHENTICATED
    assert conn.capabilities == {"IMAP4REV1", "IDLE", "AUTH=PLAIN"}


def test_sync_literal_waits_for_continuation() -> None:
    conn = logged_in()
    conn.send_command(cmd.create(RAW_NAME))
    assert conn.data_to_send() == b"A2 CREATE {8}\r\n"
    with pytest.raises(LocalProtocolError):
        conn.send_command(cmd.noop())
    assert feed(conn, b"+ Ready for literal data\r\n") == []
    assert conn.data_to_send() == RAW_NAME + b"\r\n"
    conn.send_command(cmd.noop())  # the continuation channel is free again
    assert conn.data_to_send() == b"A3 NOOP\r\n"
    events = feed(conn, b"A2 OK created\r\nA3 OK noop\r\n")
    assert [e.tag for e in events if isinstance(e, CommandCompleted)] == ["A2", "A3"]


def test_literal_rejected_before_continuation() -> None:
    conn = greeted()
    conn.send_command(cmd.login("jöe", "a\r\nb"))
    conn.data_to_send()
    (done,) = feed(conn, b"A1 BAD literal refused\r\n")
    assert isinstance(done, CommandCompleted) and done.status == "BAD"
    assert conn.data_to_send() == b""
    with pytest.raises(ProtocolError):
        feed(conn, b"+ go on\r\n")


def test_literal_plus_is_one_chunk() -> None:
    conn = logged_in(b"IMAP4rev1 LITERAL+")
    conn.send_command(cmd.create(RAW_NAME))
    assert conn.data_to_send() == b"A2 CREATE {8+}\r\n" + RAW_NAME + b"\r\n"
    conn.send_command(cmd.noop())  # pipelined behind it: nothing waits for "+"


def test_several_sync_literals() -> None:
    conn = greeted()
    conn.send_command(cmd.login("jöe", "pä"))
    assert conn.data_to_send() == b"A1 LOGIN {4}\r\n"
    feed(conn, b"+ OK\r\n")
    assert conn.data_to_send() == "jöe {3}\r\n".encode()
    with pytest.raises(LocalProtocolError):
        conn.send_command(cmd.noop())
    feed(conn, b"+ OK\r\n")
    assert conn.data_to_send() == "pä\r\n".encode()
    (done,) = feed(conn, b"A1 OK in\r\n")
    assert isinstance(done, CommandCompleted) and done.ok


# -- pipelining and untagged data -------------------------------------------------


def test_pipelining_matches_completions_by_tag() -> None:
    conn = logged_in()
    tags = [
        conn.send_command(cmd.noop()),
        conn.send_command(cmd.status("INBOX", ["MESSAGES"])),
        conn.send_command(cmd.capability()),
    ]
    assert conn.data_to_send() == (b"A2 NOOP\r\nA3 STATUS INBOX (MESSAGES)\r\nA4 CAPABILITY\r\n")
    events = feed(
        conn,
        b"* STATUS INBOX (MESSAGES 17)\r\n"
        b"A3 OK status done\r\n"
        b"* CAPABILITY IMAP4rev1 LITERAL+\r\n"
        b"A4 OK cap done\r\n"
        b"A2 OK noop done\r\n",
    )
    assert isinstance(events[0], Status) and events[0].messages == 17
    completed = [e for e in events if isinstance(e, CommandCompleted)]
    assert [c.tag for c in completed] == [tags[1], tags[2], tags[0]]
    assert [c.command.name for c in completed] == ["STATUS", "CAPABILITY", "NOOP"]
    assert conn.capabilities == {"IMAP4REV1", "LITERAL+"}
    assert conn.in_flight == ()


def test_untagged_data_is_never_dropped() -> None:
    conn = selected()
    conn.send_command(cmd.fetch([1], ["FLAGS"], uid=True))
    events = feed(
        conn,
        b"* 4 EXISTS\r\n"
        b"* 2 EXPUNGE\r\n"
        b"* VANISHED 7:9\r\n"
        b"* 1 FETCH (UID 5 FLAGS (\\Seen))\r\n"
        b"* OK [ALERT] disk almost full\r\n"
        b"A3 OK done\r\n"
        b"* 5 EXISTS\r\n",
    )
    assert [type(e) for e in events] == [
        Exists,
        Expunge,
        Vanished,
        Fetch,
        UntaggedCondition,
        CommandCompleted,
        Exists,
    ]


def test_streamed_fetch_literals_pass_through() -> None:
    conn = ClientConnection(literal_stream_threshold=10)
    feed(conn, GREETING)
    conn.send_command(cmd.login("joe", "pw"))
    feed(conn, b"A1 OK in\r\n")
    conn.send_command(cmd.select("INBOX"))
    feed(conn, b"A2 OK [READ-WRITE] in\r\n")
    conn.send_command(cmd.fetch(1, [cmd.FetchSection()], uid=True))
    events = feed(conn, b"* 1 FETCH (UID 1 BODY[] {20}\r\n" + b"x" * 20 + b")\r\nA3 OK\r\n")
    kinds = [type(e) for e in events]
    assert kinds[0] is FetchLiteralStart and kinds[-3:] == [
        FetchLiteralEnd,
        Fetch,
        CommandCompleted,
    ]
    assert b"".join(e.data for e in events if isinstance(e, FetchLiteralData)) == b"x" * 20


def test_unknown_tag_and_stray_continuation() -> None:
    with pytest.raises(ProtocolError):
        feed(logged_in(), b"Z9 OK what\r\n")
    with pytest.raises(ProtocolError):
        feed(logged_in(), b"+ hello\r\n")


# -- states -----------------------------------------------------------------------


def test_select_close_and_failed_select() -> None:
    conn = selected()
    assert conn.selected_mailbox == "INBOX"
    conn.send_command(cmd.close())
    feed(conn, b"A3 OK closed\r\n")
    assert conn.state is ConnectionState.AUTHENTICATED and conn.selected_mailbox is None

    conn = selected()
    conn.send_command(cmd.select("Nope"))
    (done,) = feed(conn, b"A3 NO no such mailbox\r\n")
    assert isinstance(done, CommandCompleted) and not done.ok
    assert conn.state is ConnectionState.AUTHENTICATED and conn.selected_mailbox is None

    conn = selected()
    conn.send_command(cmd.examine("Other"))
    feed(conn, b"A3 BAD syntax\r\n")
    assert conn.state is ConnectionState.SELECTED and conn.selected_mailbox == "INBOX"

    conn = selected()
    conn.send_command(cmd.unselect())
    feed(conn, b"A3 OK unselected\r\n")
    assert conn.state is ConnectionState.AUTHENTICATED


@pytest.mark.parametrize(
    ("make_conn", "command"),
    [
        (greeted, cmd.select("INBOX")),
        (greeted, cmd.list_()),
        (greeted, cmd.idle()),
        (logged_in, cmd.login("a", "b")),
        (logged_in, cmd.starttls()),
        (logged_in, cmd.fetch(1, ["UID"])),
        (logged_in, cmd.expunge()),
        (logged_in, cmd.close()),
        (selected, cmd.enable("QRESYNC")),
        (selected, cmd.authenticate_plain("a", "b")),
    ],
)
def test_commands_invalid_in_state(make_conn: object, command: cmd.Command) -> None:
    conn = make_conn()  # type: ignore[operator]
    with pytest.raises(LocalProtocolError):
        conn.send_command(command)


def test_no_command_while_state_change_pending() -> None:
    conn = logged_in()
    conn.send_command(cmd.select("INBOX"))
    with pytest.raises(LocalProtocolError):
        conn.send_command(cmd.noop())
    feed(conn, b"A2 OK [READ-WRITE] ok\r\n")
    conn.send_command(cmd.fetch(1, ["UID"]))


def test_refused_command_changes_nothing() -> None:
    conn = logged_in()
    with pytest.raises(LocalProtocolError):
        conn.send_command(cmd.append("INBOX", b"NUL \x00 without BINARY"))
    assert conn.in_flight == () and conn.data_to_send() == b""
    assert conn.send_command(cmd.noop()) == "A2"


def test_unknown_commands_are_allowed_after_greeting() -> None:
    conn = greeted()
    conn.send_command(cmd.Command("XYZZY"))
    assert conn.data_to_send() == b"A1 XYZZY\r\n"


def test_bye_and_logout() -> None:
    conn = selected()
    feed(conn, b"* BYE shutting down\r\n")
    assert conn.state is ConnectionState.LOGOUT
    with pytest.raises(LocalProtocolError):
        conn.send_command(cmd.noop())

    conn = logged_in()
    conn.send_command(cmd.logout())
    assert conn.state is ConnectionState.LOGOUT
    events = feed(conn, b"* BYE bye\r\nA2 OK logged out\r\n")
    assert isinstance(events[1], CommandCompleted) and events[1].ok
    (closed,) = feed(conn, b"")
    assert isinstance(closed, ConnectionClosed)


# -- AUTHENTICATE -----------------------------------------------------------------


def test_authenticate_plain_without_sasl_ir() -> None:
    conn = greeted()
    conn.send_command(cmd.authenticate_plain("joe", "pw"))
    assert conn.data_to_send() == b"A1 AUTHENTICATE PLAIN\r\n"
    assert feed(conn, b"+ \r\n") == []
    assert conn.data_to_send() == base64.b64encode(b"\x00joe\x00pw") + b"\r\n"
    with pytest.raises(LocalProtocolError):
        conn.send_command(cmd.noop())
    (done,) = feed(conn, b"A1 OK [CAPABILITY IMAP4rev1] in\r\n")
    assert isinstance(done, CommandCompleted) and done.ok
    assert conn.state is ConnectionState.AUTHENTICATED


def test_authenticate_xoauth2_error_challenge_is_answered_empty() -> None:
    conn = greeted(b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] hi\r\n")
    conn.send_command(cmd.authenticate_xoauth2("joe@example.com", "expired"))
    first = conn.data_to_send()
    assert first.startswith(b"A1 AUTHENTICATE XOAUTH2 ") and first.endswith(b"\r\n")
    error = base64.b64encode(b'{"status":"401","schemes":"bearer"}')
    (challenge,) = feed(conn, b"+ " + error + b"\r\n")
    assert isinstance(challenge, AuthenticationChallenge)
    assert challenge.answered and challenge.data == b'{"status":"401","schemes":"bearer"}'
    assert conn.data_to_send() == b"\r\n"
    with pytest.raises(LocalProtocolError):
        conn.send_authentication_response(b"")
    (done,) = feed(conn, b"A1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n")
    assert isinstance(done, CommandCompleted) and done.status == "NO"
    assert conn.state is ConnectionState.NOT_AUTHENTICATED


def test_authenticate_oauthbearer_error_reply() -> None:
    conn = greeted(b"* OK [CAPABILITY IMAP4rev1 SASL-IR] hi\r\n")
    conn.send_command(cmd.authenticate_oauthbearer("joe", "tok"))
    conn.data_to_send()
    (challenge,) = feed(conn, b"+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=\r\n")
    assert isinstance(challenge, AuthenticationChallenge) and challenge.answered
    assert conn.data_to_send() == b"AQ==\r\n"


def test_authenticate_with_caller_answers() -> None:
    conn = greeted()
    conn.send_command(cmd.authenticate("CRAM-MD5"))
    assert conn.data_to_send() == b"A1 AUTHENTICATE CRAM-MD5\r\n"
    challenge_text = b"<1896.697170952@postoffice.example.net>"
    (challenge,) = feed(conn, b"+ " + base64.b64encode(challenge_text) + b"\r\n")
    assert isinstance(challenge, AuthenticationChallenge)
    assert challenge.data == challenge_text and not challenge.answered
    with pytest.raises(LocalProtocolError):
        conn.send_command(cmd.noop())
    conn.send_authentication_response(b"tim b913a602c7eda7a495b4e6e7334d3890")
    assert (
        conn.data_to_send() == base64.b64encode(b"tim b913a602c7eda7a495b4e6e7334d3890") + b"\r\n"
    )
    # Another challenge is fine; a third before the second was answered is not.
    with pytest.raises(ProtocolError):
        feed(conn, b"+ eA==\r\n+ eQ==\r\n")


def test_authenticate_cancel_and_non_base64_challenge() -> None:
    conn = greeted()
    conn.send_command(cmd.authenticate("X-CUSTOM"))
    conn.data_to_send()
    (challenge,) = feed(conn, b"+ not base64!\r\n")
    assert isinstance(challenge, AuthenticationChallenge)
    assert challenge.data is None and challenge.raw == b"not base64!"
    conn.cancel_authentication()
    assert conn.data_to_send() == b"*\r\n"
    (done,) = feed(conn, b"A1 BAD cancelled\r\n")
    assert isinstance(done, CommandCompleted) and done.status == "BAD"
    with pytest.raises(LocalProtocolError):
        conn.cancel_authentication()


# -- IDLE -------------------------------------------------------------------------


def test_idle() -> None:
    conn = selected()
    tag = conn.send_command(cmd.idle())
    assert conn.data_to_send() == b"A3 IDLE\r\n"
    with pytest.raises(LocalProtocolError):
        conn.send_command(cmd.noop())
    events = feed(conn, b"+ idling\r\n* 4 EXISTS\r\n")
    assert events == [IdleStarted(tag), Exists(4)]
    conn.done()
    assert conn.data_to_send() == b"DONE\r\n"
    with pytest.raises(LocalProtocolError):
        conn.done()
    (done,) = feed(conn, b"A3 OK IDLE terminated\r\n")
    assert isinstance(done, CommandCompleted) and done.ok
    conn.send_command(cmd.noop())


def test_done_before_continuation_is_sent_on_continuation() -> None:
    conn = selected()
    conn.send_command(cmd.idle())
    conn.data_to_send()
    conn.done()
    assert conn.data_to_send() == b""
    (started,) = feed(conn, b"+ idling\r\n")
    assert isinstance(started, IdleStarted)
    assert conn.data_to_send() == b"DONE\r\n"
    with pytest.raises(ProtocolError):
        feed(conn, b"+ again\r\n")


def test_idle_refused() -> None:
    conn = selected()
    conn.send_command(cmd.idle())
    (done,) = feed(conn, b"A3 BAD no IDLE here\r\n")
    assert isinstance(done, CommandCompleted) and done.status == "BAD"
    with pytest.raises(LocalProtocolError):
        conn.done()
    conn.send_command(cmd.noop())


# -- transport switches ---------------------------------------------------------


def test_starttls() -> None:
    conn = greeted()
    conn.send_command(cmd.starttls())
    assert conn.data_to_send() == b"A1 STARTTLS\r\n"
    with pytest.raises(LocalProtocolError):
        conn.send_command(cmd.noop())
    conn.receive_data(b"A1 OK Begin TLS negotiation now\r\n")
    done = conn.next_event()
    assert isinstance(done, CommandCompleted) and done.ok
    assert conn.next_event() is PAUSED
    assert conn.transport_switch_pending
    assert conn.capabilities == frozenset()
    with pytest.raises(LocalProtocolError):
        conn.send_command(cmd.capability())
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"x")
    assert conn.transport_switched() == b""
    assert not conn.transport_switch_pending
    with pytest.raises(LocalProtocolError):
        conn.transport_switched()
    conn.send_command(cmd.capability())
    assert conn.data_to_send() == b"A2 CAPABILITY\r\n"
    events = feed(conn, b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA2 OK done\r\n")
    assert isinstance(events[1], CommandCompleted)
    assert conn.capabilities == {"IMAP4REV1", "AUTH=PLAIN"}


def test_starttls_response_injection_is_detected() -> None:
    conn = greeted()
    conn.send_command(cmd.starttls())
    events = feed(conn, b"A1 OK go\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN LOGINDISABLED\r\n")
    assert len(events) == 1
    with pytest.raises(ProtocolError):
        conn.transport_switched()


def test_starttls_refused() -> None:
    conn = greeted()
    conn.send_command(cmd.starttls())
    (done,) = feed(conn, b"A1 NO TLS unavailable\r\n* OK still here\r\n")[:1]
    assert isinstance(done, CommandCompleted) and not done.ok
    assert not conn.transport_switch_pending


def test_compress_hands_over_compressed_bytes() -> None:
    conn = logged_in(b"IMAP4rev1 COMPRESS=DEFLATE")
    feed(conn, b"* 1 RECENT\r\n")  # some traffic before, so offsets are not zero
    conn.send_command(cmd.compress())
    assert conn.data_to_send() == b"A2 COMPRESS DEFLATE\r\n"
    compressor = zlib.compressobj(wbits=-15)
    compressed = compressor.compress(b"* 5 EXISTS\r\n") + compressor.flush(zlib.Z_SYNC_FLUSH)
    reply = b"* OK noise\r\nA2 OK DEFLATE active\r\n" + compressed
    events = feed(conn, reply[:20]) + feed(conn, reply[20:])
    assert isinstance(events[-1], CommandCompleted) and events[-1].ok
    trailing = conn.transport_switched()
    assert trailing == compressed
    decompressor = zlib.decompressobj(wbits=-15)
    assert feed(conn, decompressor.decompress(trailing)) == [Exists(5)]
    assert conn.capabilities == {"IMAP4REV1", "COMPRESS=DEFLATE"}


# -- ENABLE and UTF-8 -----------------------------------------------------------


def test_enable_utf8_accept_changes_encoding() -> None:
    conn = logged_in(b"IMAP4rev1 ENABLE UTF8=ACCEPT")
    conn.send_command(cmd.enable("UTF8=ACCEPT"))
    conn.data_to_send()
    feed(conn, b"* ENABLED UTF8=ACCEPT\r\nA2 OK enabled\r\n")
    assert conn.enabled == {"UTF8=ACCEPT"}
    assert conn.encoding_options.utf8
    conn.send_command(cmd.select("Données"))
    assert conn.data_to_send() == 'A3 SELECT "Données"\r\n'.encode()
    events = feed(conn, '* LIST () "/" "Données"\r\nA3 OK [READ-WRITE] in\r\n'.encode())
    assert isinstance(events[0], ListResponse) and events[0].entry.name == "Données"


def test_encoding_follows_capabilities() -> None:
    conn = logged_in(b"IMAP4rev1 LITERAL- SASL-IR BINARY")
    options = conn.encoding_options
    assert options.literal_minus and options.sasl_ir and options.binary
    assert not options.literal_plus and not options.utf8


# -- random exchanges -------------------------------------------------------------

SERVER_LINES = [
    b"* OK hi\r\n",
    b"* PREAUTH hi\r\n",
    b"* BYE bye\r\n",
    b"* CAPABILITY IMAP4rev1 LITERAL+ SASL-IR\r\n",
    b"* ENABLED UTF8=ACCEPT\r\n",
    b"* 3 EXISTS\r\n",
    b"* 1 FETCH (UID 7 BODY[] {3}\r\nabc)\r\n",
    b"+ \r\n",
    b"+ eyJzdGF0dXMiOiI0MDAifQ==\r\n",
    b"A1 OK done\r\n",
    b"A2 NO nope\r\n",
    b"A3 BAD what\r\n",
    b"A4 OK [CAPABILITY IMAP4rev1] fine\r\n",
    b"garbage\r\n",
    b"",
]
COMMANDS = [
    cmd.noop(),
    cmd.login("jöe", "pw"),
    cmd.authenticate_xoauth2("u", "t"),
    cmd.authenticate("X"),
    cmd.select("INBOX"),
    cmd.fetch(1, ["UID"]),
    cmd.idle(),
    cmd.starttls(),
    cmd.compress(),
    cmd.logout(),
    cmd.append("INBOX", b"x"),
    cmd.enable("UTF8=ACCEPT"),
    cmd.close(),
]
actions = st.one_of(
    st.tuples(st.just("receive"), st.sampled_from(SERVER_LINES)),
    st.tuples(st.just("send"), st.sampled_from(COMMANDS)),
    st.tuples(st.sampled_from(["done", "answer", "cancel", "switched"]), st.none()),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"", b"* OK hi\r\n", b"* PREAUTH hi\r\n"]), st.lists(actions, max_size=25))
def test_random_exchanges_raise_only_protocol_errors(
    greeting: bytes, script: list[tuple[str, object]]
) -> None:
    """Whatever the server sends and the caller does, only the two documented errors occur."""
    conn = ClientConnection()
    for action, argument in [("receive", greeting), *script]:
        try:
            if action == "receive":
                assert isinstance(argument, bytes)
                conn.receive_data(argument)
                while conn.next_event() not in (NEED_DATA, PAUSED):
                    pass
            elif action == "send":
                assert isinstance(argument, cmd.Command)
                tag = conn.send_command(argument)
                assert tag in conn.in_flight
            elif action == "done":
                conn.done()
            elif action == "answer":
                conn.send_authentication_response(b"")
            elif action == "cancel":
                conn.cancel_authentication()
            else:
                conn.transport_switched()
        except (LocalProtocolError, ProtocolError):
            pass
        assert isinstance(conn.data_to_send(), bytes)
        assert isinstance(conn.state, ConnectionState)
