"""The trio session against real servers: transports, auth, commands, streaming, IDLE.

Tests taking `imap_server` run once per server of the test bed (Dovecot and Cyrus, see
tests/fixtures/imap_servers.py); where the servers legitimately answer differently, the
expectation is per server, with the reason beside it.
"""

from __future__ import annotations

from functools import partial

import pytest
import trio

import imapproto._commands as cmd
from imapproto._connection import ConnectionState
from imapproto._errors import LocalProtocolError
from imapproto._events import (
    Exists,
    Expunge,
    Fetch,
    FetchLiteralData,
    FetchLiteralEnd,
    FetchLiteralStart,
    ListResponse,
)
from imapproto.client import Timeouts, connect
from imapproto.client._errors import AuthenticationFailed, CommandFailed, ImapConnectionError
from imapproto.client._transport import Security, TlsOptions
from tests.waiting import wait_until_async


def where(server, security: Security) -> tuple[str, int]:
    port = server.imaps_port if security is Security.TLS else server.imap_port
    return server.host, port


def trusted(server) -> TlsOptions:
    return TlsOptions(ca_file=str(server.ca_cert))


@pytest.mark.parametrize("security", list(Security))
async def test_login_over_every_transport(imap_server, imap_user, security: Security) -> None:
    host, port = where(imap_server, security)
    async with connect(host, port, security, tls=trusted(imap_server)) as session:
        assert session.state is ConnectionState.NOT_AUTHENTICATED
        assert session.has("STARTTLS") is (security is Security.PLAIN)
        await session.login(imap_user.user, imap_user.password)
        assert session.state is ConnectionState.AUTHENTICATED
        for capability in ("IDLE", "CONDSTORE", "QRESYNC", "MOVE", "UIDPLUS", "SPECIAL-USE"):
            assert session.has(capability)
        listing = await session.execute(cmd.list_("", "*"))
        names = {e.entry.name for e in listing.untagged if isinstance(e, ListResponse)}
        assert {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"} <= names
    assert not session.usable


MECHANISMS = {
    "PLAIN": lambda user, secret: cmd.authenticate_plain(user.user, secret),
    "XOAUTH2": lambda user, secret: cmd.authenticate_xoauth2(user.user, secret),
    "OAUTHBEARER": lambda user, secret: cmd.authenticate_oauthbearer(user.user, secret),
}


def mechanism_or_skip(server, user, mechanism: str):
    """The AUTHENTICATE builder and the right secret, or a skip where the server lacks it."""
    if mechanism == "PLAIN":
        return MECHANISMS[mechanism], user.password
    if not server.supports_tokens:
        pytest.skip(f"{server.name} has no bearer-token authentication here")
    return MECHANISMS[mechanism], user.token


@pytest.mark.parametrize("mechanism", list(MECHANISMS))
async def test_authenticate_mechanisms(imap_server, imap_user, mechanism: str) -> None:
    build, secret = mechanism_or_skip(imap_server, imap_user, mechanism)
    async with connect(*where(imap_server, Security.TLS), tls=trusted(imap_server)) as session:
        await session.authenticate(build(imap_user, secret))
        assert session.state is ConnectionState.AUTHENTICATED


#: the response code of a refused LOGIN/AUTHENTICATE, per server. Cyrus 3.6 sends none
#: ("NO Login failed: authentication failure", "NO authentication failure"): the client must
#: recognise the refusal from the command, not from the code.
AUTH_FAILURE_CODE = {"dovecot": "AUTHENTICATIONFAILED", "cyrus": None}


@pytest.mark.parametrize("mechanism", ["LOGIN", *MECHANISMS])
async def test_wrong_credentials_raise_authentication_failed(
    imap_server, imap_user, mechanism: str
) -> None:
    if mechanism == "LOGIN":
        command = cmd.login(imap_user.user, "wrong-secret")
    else:
        build, _ = mechanism_or_skip(imap_server, imap_user, mechanism)
        command = build(imap_user, "wrong-secret")
    async with connect(*where(imap_server, Security.TLS), tls=trusted(imap_server)) as session:
        with pytest.raises(AuthenticationFailed) as failure:
            await session.authenticate(command)
        assert failure.value.status == "NO"
        assert failure.value.code == AUTH_FAILURE_CODE[imap_server.name]
        assert session.usable  # a refusal is an answer, not a broken connection
        await session.login(imap_user.user, imap_user.password)


async def test_protocol_log_is_redacted(imap_server, imap_user) -> None:
    lines: list[tuple[str, str]] = []
    body = b"Subject: logged\r\n\r\n" + b"secret body line\r\n" * 100
    async with connect(
        *where(imap_server, Security.STARTTLS),
        Security.STARTTLS,
        tls=trusted(imap_server),
        protocol_log=lambda direction, text: lines.append((direction, text)),
    ) as session:
        await session.login(imap_user.user, imap_user.password)
        await session.execute(cmd.append("INBOX", body))
        await session.execute(cmd.select("INBOX"))
        await session.execute(cmd.fetch(1, [cmd.FetchSection()], uid=False))
        with pytest.raises(LocalProtocolError):  # caller misuse: nothing is sent
            await session.authenticate(cmd.authenticate_plain(imap_user.user, "x"))
        assert session.usable
    text = "\n".join(f"{d}: {t}" for d, t in lines)
    assert imap_user.password not in text
    assert "secret body line" not in text
    assert any(d == "C" and "LOGIN" in t and "***" in t for d, t in lines)
    assert any(d == "S" and f"{{{len(body)} bytes}}" in t for d, t in lines)
    assert any(d == "C" and "STARTTLS" in t for d, t in lines)


async def test_large_message_streams_in_chunks(imap_server, imap_user) -> None:
    body = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 3000  # ~3 MB
    async with connect(*where(imap_server, Security.TLS), tls=trusted(imap_server)) as session:
        await session.login(imap_user.user, imap_user.password)
        await session.execute(cmd.append("INBOX", body))
        await session.execute(cmd.select("INBOX"))
        received = bytearray()
        largest_chunk = 0
        kinds = []
        async with session.stream(cmd.fetch(1, ["UID", cmd.FetchSection()])) as events:
            async for event in events:
                kinds.append(type(event))
                if isinstance(event, FetchLiteralData):
                    largest_chunk = max(largest_chunk, len(event.data))
                    received += event.data
        assert bytes(received) == body
        assert largest_chunk < len(body) // 4
        assert kinds[0] is FetchLiteralStart and FetchLiteralEnd in kinds and kinds[-1] is Fetch


async def test_leaving_a_stream_early_keeps_the_session_usable(imap_server, imap_user) -> None:
    async with connect(*where(imap_server, Security.TLS), tls=trusted(imap_server)) as session:
        await session.login(imap_user.user, imap_user.password)
        for n in range(5):
            await session.execute(cmd.append("INBOX", b"Subject: %d\r\n\r\nhi\r\n" % n))
        await session.execute(cmd.select("INBOX"))
        async with session.stream(cmd.fetch("1:5", ["UID"])) as events:  # type: ignore[arg-type]
            async for _ in events:
                break
        result = await session.execute(cmd.noop())
        fetched = [e for e in result.untagged if isinstance(e, Fetch)]
        assert len(fetched) == 4  # the rest of the FETCH, handed out with the next result


async def test_failed_command_raises_and_session_continues(imap_server, imap_user) -> None:
    async with connect(*where(imap_server, Security.TLS), tls=trusted(imap_server)) as session:
        await session.login(imap_user.user, imap_user.password)
        with pytest.raises(CommandFailed) as failure:
            await session.execute(cmd.select("No such folder"))
        assert failure.value.status == "NO"
        assert "exist" in failure.value.text  # Dovecot 2.3 sends no response code here
        await session.execute(cmd.select("INBOX"))
        assert session.state is ConnectionState.SELECTED


async def test_idle_sees_changes_from_another_connection(imap_server, imap_user) -> None:
    tls = trusted(imap_server)
    async with (
        connect(*where(imap_server, Security.TLS), tls=tls) as watcher,
        connect(*where(imap_server, Security.TLS), tls=tls) as writer,
    ):
        await watcher.login(imap_user.user, imap_user.password)
        await writer.login(imap_user.user, imap_user.password)
        await watcher.execute(cmd.select("INBOX"))
        await writer.execute(cmd.select("INBOX"))
        seen: list[object] = []
        async with watcher.idle() as events:
            await events.started.wait()
            await writer.execute(cmd.append("INBOX", b"Subject: one\r\n\r\nhi\r\n"))
            with trio.fail_after(5):
                async for event in events:
                    seen.append(event)
                    if isinstance(event, Exists):
                        break
            await writer.execute(cmd.store(1, "add", ["\\Flagged"]))
            with trio.fail_after(5):
                async for event in events:
                    seen.append(event)
                    if isinstance(event, Fetch):
                        assert "\\Flagged" in (event.flags or ())
                        break
            await writer.execute(cmd.store(1, "add", ["\\Deleted"]))
            await writer.execute(cmd.expunge())
            with trio.fail_after(5):
                async for event in events:
                    seen.append(event)
                    if isinstance(event, Expunge):
                        break
            await events.done()
            async for event in events:  # ends once the server completes IDLE
                seen.append(event)
        assert watcher.usable
        await watcher.execute(cmd.noop())


async def test_done_from_another_task_ends_idle(imap_server, imap_user) -> None:
    async with connect(*where(imap_server, Security.TLS), tls=trusted(imap_server)) as session:
        await session.login(imap_user.user, imap_user.password)
        await session.execute(cmd.select("INBOX"))
        async with session.idle() as events, trio.open_nursery() as nursery:

            async def stop_when_idling() -> None:
                await events.started.wait()
                await events.done()

            nursery.start_soon(stop_when_idling)
            with trio.fail_after(5):
                async for _ in events:
                    pass
        await session.execute(cmd.noop())


async def test_idle_is_refreshed_before_the_server_drops_it(imap_server, imap_user) -> None:
    lines: list[str] = []

    def idle_commands() -> int:
        return sum(1 for line in lines if line.startswith("C: ") and line.endswith(" IDLE"))

    async with connect(
        *where(imap_server, Security.TLS),
        tls=trusted(imap_server),
        timeouts=Timeouts(idle_refresh=0.2),
        protocol_log=lambda d, t: lines.append(f"{d}: {t}"),
    ) as session:
        await session.login(imap_user.user, imap_user.password)
        await session.execute(cmd.select("INBOX"))
        async with session.idle() as events, trio.open_nursery() as nursery:

            async def consume() -> None:
                async for _ in events:
                    pass

            nursery.start_soon(consume)
            await wait_until_async(lambda: idle_commands() >= 3, message="three IDLE commands")
            await events.done()
        await session.execute(cmd.noop())
    assert lines.count("C: DONE") >= 3


async def serve_then_vanish(stream: trio.SocketStream) -> None:
    """A server that greets, accepts LOGIN, then dies in the middle of the next command."""
    await stream.send_all(b"* OK [CAPABILITY IMAP4rev1 IDLE] fake server ready\r\n")
    buffer = b""
    while b"\r\n" not in buffer:
        buffer += await stream.receive_some()
    tag = buffer.split(b" ", 1)[0]
    await stream.send_all(tag + b" OK [CAPABILITY IMAP4rev1 IDLE] logged in\r\n")
    await stream.receive_some()  # the next command arrives ...
    await stream.send_all(b"* 3 EXISTS\r\n")
    await stream.aclose()  # ... and the server dies before completing it


async def test_server_dying_mid_command_is_a_connection_error(nursery) -> None:
    listeners = await nursery.start(partial(trio.serve_tcp, serve_then_vanish, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    async with connect("127.0.0.1", port, Security.PLAIN) as session:
        await session.login("user", "pass")
        with trio.fail_after(5), pytest.raises(ImapConnectionError, match="closed the connection"):
            await session.execute(cmd.noop())
        assert not session.usable
        with pytest.raises(ImapConnectionError):
            await session.execute(cmd.noop())


async def test_silent_server_times_out(nursery) -> None:
    async def greet_then_nothing(stream: trio.SocketStream) -> None:
        await stream.send_all(b"* OK [CAPABILITY IMAP4rev1] hello\r\n")
        await trio.sleep_forever()

    listeners = await nursery.start(
        partial(trio.serve_tcp, greet_then_nothing, 0, host="127.0.0.1")
    )
    port = listeners[0].socket.getsockname()[1]
    timeouts = Timeouts(read=0.3, logout=0.3)
    async with connect("127.0.0.1", port, Security.PLAIN, timeouts=timeouts) as session:
        with pytest.raises(ImapConnectionError, match="no answer from the server"):
            await session.execute(cmd.noop())


async def test_compress_deflate(imap_server, imap_user) -> None:
    async with connect(*where(imap_server, Security.TLS), tls=trusted(imap_server)) as session:
        await session.login(imap_user.user, imap_user.password)
        assert await session.compress()
        assert not await session.compress()  # already on
        listing = await session.execute(cmd.list_("", "*"))
        assert any(isinstance(e, ListResponse) for e in listing.untagged)


async def serve_without_idle(stream: trio.SocketStream) -> None:
    """A server without IDLE: each NOOP reports one more message."""
    await stream.send_all(b"* OK [CAPABILITY IMAP4rev1] no idle here\r\n")
    buffer, exists = b"", 0
    while True:
        chunk = await stream.receive_some()
        if not chunk:
            return
        buffer += chunk
        while b"\r\n" in buffer:
            line, buffer = buffer.split(b"\r\n", 1)
            tag, name = [*line.split(b" "), b""][:2]
            if name.upper() == b"NOOP":
                exists += 1
                await stream.send_all(b"* %d EXISTS\r\n" % exists)
            reply = (
                b" OK [CAPABILITY IMAP4rev1] done\r\n"
                if name.upper() == b"LOGIN"
                else b" OK done\r\n"
            )
            await stream.send_all(tag + reply)


async def test_idle_without_server_support_polls_with_noop(nursery) -> None:
    listeners = await nursery.start(
        partial(trio.serve_tcp, serve_without_idle, 0, host="127.0.0.1")
    )
    port = listeners[0].socket.getsockname()[1]
    sent: list[str] = []
    async with connect(
        "127.0.0.1",
        port,
        Security.PLAIN,
        timeouts=Timeouts(noop_poll=0.05),
        protocol_log=lambda d, t: sent.append(t) if d == "C" else None,
    ) as session:
        await session.login("user", "pass")
        await session.execute(cmd.select("INBOX"))
        counts = []
        async with session.idle() as events:
            async for event in events:
                if isinstance(event, Exists):
                    counts.append(event.count)
                if len(counts) == 3:
                    await events.done()
        assert counts == [1, 2, 3]
        assert not any(line.endswith(" IDLE") for line in sent)
        assert session.usable


async def test_a_server_that_never_greets_times_out(nursery) -> None:
    async def never_greet(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    listeners = await nursery.start(partial(trio.serve_tcp, never_greet, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    with pytest.raises(ImapConnectionError, match="no greeting"):
        async with connect("127.0.0.1", port, Security.PLAIN, timeouts=Timeouts(greeting=0.2)):
            pass
