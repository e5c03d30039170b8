"""The SMTP client against the test bed's real SMTP server (aiosmtpd, checking Dovecot's users).

Security, logins (AUTH PLAIN, LOGIN, XOAUTH2) and refusals on the real server; a few
protocol edge cases the real server cannot be made to show (silence, no STARTTLS, bytes
slipped in ahead of the TLS handshake) against a tiny scripted peer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial

import pytest
import trio

from imapproto.client import Security, TlsOptions, open_transport
from tests.fixtures.mail_server import MailServer, MailUser
from trimap.accounts.model import Auth, SmtpSettings
from trimap.accounts.model import TlsOptions as AccountTls
from trimap.smtp import SmtpClient, SmtpError, SmtpTimeouts, open_smtp_client

HOST = "127.0.0.1"
SHORT = SmtpTimeouts(connect=2.0, reply=0.5, quit=0.5)


def settings(port: int, *, secure: bool = False, verify: bool = True) -> SmtpSettings:
    return SmtpSettings(HOST, port, secure=secure, tls=AccountTls(reject_unauthorized=verify))


def password(user: MailUser, value: str | None = None) -> Auth:
    return Auth(user.user, password=user.password if value is None else value)


async def refusal(where: SmtpSettings, auth: Auth) -> SmtpError:
    """The error of connecting and logging in to ``where`` with ``auth``."""
    with pytest.raises(SmtpError) as refused:
        async with open_smtp_client(where, auth):
            pass
    return refused.value


@asynccontextmanager
async def session_at(port: int, security: Security) -> AsyncIterator[SmtpClient]:
    """A client of the test bed's server, past the greeting and EHLO, not logged in."""
    client = SmtpClient(await open_transport(HOST, port, security), HOST, SHORT)
    try:
        assert (await client.read_reply()).code == 220
        await client.hello("[127.0.0.1]")
        yield client
    finally:
        await client.aclose()


async def test_plain_to_loopback_with_auth_plain(
    mailserver: MailServer, mail_user: MailUser
) -> None:
    async with open_smtp_client(settings(mailserver.smtp_port), password(mail_user)) as client:
        assert client.has("STARTTLS") and {"PLAIN", "LOGIN"} <= client.auth_mechanisms
        reply = await client.command("NOOP")
        assert reply.code == 250


async def test_auth_login_when_plain_is_not_offered(
    mailserver: MailServer, mail_user: MailUser
) -> None:
    async with session_at(mailserver.smtp_port, Security.PLAIN) as client:
        client.extensions["AUTH"] = "LOGIN"  # as a server offering LOGIN only would say
        await client.authenticate(password(mail_user))
        with pytest.raises(SmtpError) as refused:
            client.extensions["AUTH"] = "CRAM-MD5"
            await client.authenticate(password(mail_user))
        assert refused.value.code == "EAUTH" and "PLAIN" in refused.value.message


async def test_wrong_password_is_eauth_with_the_server_reply(
    mailserver: MailServer, mail_user: MailUser
) -> None:
    error = await refusal(settings(mailserver.smtp_port), password(mail_user, "not-the-password"))
    assert error.code == "EAUTH" and error.status == 535
    assert error.message.startswith("Invalid login: 535")
    assert "not-the-password" not in error.message


async def test_xoauth2_with_an_access_token(mailserver: MailServer, mail_user: MailUser) -> None:
    assert mail_user.token is not None
    token = Auth(mail_user.user, access_token=mail_user.token)
    async with open_smtp_client(settings(mailserver.smtp_port), token):
        pass
    bad = Auth(mail_user.user, access_token="bad-token")
    refused = await refusal(settings(mailserver.smtp_port), bad)  # JSON challenge, then 535
    assert refused.code == "EAUTH" and refused.status == 535


async def test_implicit_tls_and_certificate_checks(
    mailserver: MailServer, mail_user: MailUser
) -> None:
    port = mailserver.smtps_port
    async with open_smtp_client(settings(port, secure=True, verify=False), password(mail_user)):
        pass
    untrusted = await refusal(settings(port, secure=True), password(mail_user))
    assert untrusted.code == "ETLS"  # the test bed's CA is not in the system store


async def test_starttls_with_a_verified_certificate(
    mailserver: MailServer, mail_user: MailUser
) -> None:
    async with session_at(mailserver.smtp_port, Security.STARTTLS) as client:
        await client.starttls(TlsOptions(ca_file=str(mailserver.ca_cert)))
        assert client.extensions == {}  # forgotten until the next EHLO
        await client.hello("[127.0.0.1]")
        assert not client.has("STARTTLS")
        await client.authenticate(password(mail_user))


async def test_connection_failures_are_named(mailserver: MailServer, mail_user: MailUser) -> None:
    with trio.socket.socket() as unused:
        await unused.bind((HOST, 0))
        closed_port = unused.getsockname()[1]
    refused = await refusal(settings(closed_port), password(mail_user))
    assert refused.code == "ECONNREFUSED" and refused.status is None
    not_smtp = await refusal(settings(mailserver.imap_port), password(mail_user))
    assert not_smtp.code == "EPROTOCOL"  # an IMAP greeting is no SMTP reply


async def scripted(nursery: trio.Nursery, replies: Sequence[bytes]) -> SmtpClient:
    """A client of a peer that sends ``replies[0]`` at once, each next one after a command
    (what it is does not matter), then nothing."""

    async def peer(stream: trio.SocketStream) -> None:
        for n, reply in enumerate(replies):
            if n:
                await stream.receive_some()
            await stream.send_all(reply)
        await trio.sleep_forever()

    listeners = await nursery.start(partial(trio.serve_tcp, peer, 0, host=HOST))
    port = listeners[0].socket.getsockname()[1]
    return SmtpClient(await open_transport(HOST, port, Security.PLAIN), HOST, SHORT)


async def greeted(nursery: trio.Nursery, *replies: bytes) -> SmtpClient:
    """A scripted client past the greeting and EHLO (``replies[0]`` answers the EHLO)."""
    client = await scripted(nursery, [b"220 hi\r\n", *replies])
    assert (await client.read_reply()).code == 220
    await client.hello("[127.0.0.1]")
    return client


async def test_a_silent_server_times_out(nursery: trio.Nursery) -> None:
    client = await scripted(nursery, [])
    with pytest.raises(SmtpError) as silent:
        await client.read_reply()
    assert silent.value.code == "ETIMEDOUT"
    await client.aclose()  # no QUIT on a broken session: it returns at once


async def test_starttls_is_required_and_protected(nursery: trio.Nursery) -> None:
    client = await greeted(nursery, b"250-hi\r\n250 AUTH PLAIN\r\n")
    with pytest.raises(SmtpError) as missing:
        await client.starttls(TlsOptions())
    assert missing.value.code == "ETLS" and "STARTTLS" in missing.value.message

    client = await greeted(
        nursery, b"250-hi\r\n250 STARTTLS\r\n", b"220 go ahead\r\n250 slipped in before TLS\r\n"
    )
    with pytest.raises(SmtpError) as injected:
        await client.starttls(TlsOptions())
    assert injected.value.code == "EPROTOCOL"
    await client.aclose()


async def test_command_lines_cannot_carry_line_breaks(
    mailserver: MailServer, mail_user: MailUser
) -> None:
    async with open_smtp_client(settings(mailserver.smtp_port), password(mail_user)) as client:
        with pytest.raises(ValueError, match="CR or LF"):
            await client.command("NOOP\r\nRSET")


def test_data_is_dot_stuffed_with_crlf_line_ends() -> None:
    from trimap.smtp.client import _data_lines

    assert _data_lines(b".a\nb\r\n..c\r\nd") == b"..a\r\nb\r\n...c\r\nd\r\n.\r\n"
    assert _data_lines(b"x\r\n") == b"x\r\n.\r\n"


@pytest.mark.parametrize(
    ("code", "status", "temporary"),
    [
        ("EENVELOPE", 450, True),
        ("EMESSAGE", 554, False),
        ("ECONNREFUSED", None, True),
        ("ETIMEDOUT", None, True),
        ("EAUTH", 535, False),
        ("EAUTH", 454, True),
        ("EAUTH", None, False),
        ("ETLS", None, False),
    ],
)
def test_which_failures_are_worth_a_retry(code: str, status: int | None, temporary: bool) -> None:
    assert SmtpError("x", code, status).temporary is temporary
