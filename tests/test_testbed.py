# Acceptance tests of the test bed itself (tests/fixtures/): the real Dovecot, SMTP server, Cyrus,
# Redis and webhook receiver behave as every later test of the project assumes.
#
# Rules: stdlib clients only (imaplib, smtplib, urllib), so a failure here points at the bed, not at
# trimap or imapproto; every wait is a deadline-bounded poll from tests.waiting; no timing asserts.
from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import http.client
import imaplib
import re
import secrets
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

import pytest
import redis
import trio

from tests.fixtures.cyrus_server import CyrusServer
from tests.fixtures.mail_server import MailServer, MailUser
from tests.fixtures.processes import pid_alive
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.webhook_receiver import Response, WebhookReceiver
from tests.waiting import wait_until, wait_until_async

REQUIRED_CAPABILITIES = {
    "IMAP4REV1", "IDLE", "CONDSTORE", "QRESYNC", "MOVE", "SPECIAL-USE", "UIDPLUS", "ESEARCH",
    "LITERAL+", "QUOTA",
}  # fmt: skip
SPECIAL_USE = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash", "Junk": "\\Junk",
               "Archive": "\\Archive"}  # fmt: skip
LIST_LINE = re.compile(rb'\((?P<flags>[^)]*)\) "(?P<sep>[^"]*)" "?(?P<name>[^"]+)"?')


# ---------------------------------------------------------------- helpers
@contextmanager
def imap(mailserver: MailServer | CyrusServer, transport: str = "plain") -> Iterator[imaplib.IMAP4]:
    """An unauthenticated imaplib connection over plain, starttls or implicit tls; closed after."""
    if transport == "tls":
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            mailserver.host, mailserver.imaps_port, ssl_context=mailserver.ssl_context(), timeout=10
        )
    else:
        conn = imaplib.IMAP4(mailserver.host, mailserver.imap_port, timeout=10)
        if transport == "starttls":
            conn.starttls(ssl_context=mailserver.ssl_context())
    try:
        yield conn
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            conn.logout()


def capabilities(conn: imaplib.IMAP4) -> set[str]:
    typ, data = conn.capability()
    assert typ == "OK"
    return set(data[0].decode().upper().split())


def inbox_subjects(mailserver: MailServer | CyrusServer, user: MailUser) -> list[str]:
    with imap(mailserver) as conn:
        conn.login(user.user, user.password)
        typ, count = conn.select("INBOX", readonly=True)
        assert typ == "OK"
        if count[0] == b"0":
            return []
        typ, data = conn.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK"
        return [
            item[1].decode().partition(":")[2].strip() for item in data if isinstance(item, tuple)
        ]


def message(sender: str, rcpt: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, rcpt, subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@example.test>"
    msg.set_content("hello from the test bed\n")
    return msg


def xoauth2(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def post(
    url: str, body: bytes, timeout: float = 5.0, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# ---------------------------------------------------------------- Dovecot
@pytest.mark.parametrize("transport", ["plain", "starttls", "tls"])
def test_imap_login_capabilities_and_special_use(
    mailserver: MailServer, mail_user: MailUser, transport: str
) -> None:
    with imap(mailserver, transport) as conn:
        before = capabilities(conn)
        assert ("STARTTLS" in before) == (transport == "plain")
        if transport != "plain":
            assert isinstance(conn.sock, ssl.SSLSocket)
        conn.login(mail_user.user, mail_user.password)
        missing = REQUIRED_CAPABILITIES - capabilities(conn)
        assert not missing, f"Dovecot lacks {missing}"

        typ, lines = conn.list()
        assert typ == "OK"
        folders = {}
        for line in lines:
            assert isinstance(line, bytes)
            match = LIST_LINE.match(line)
            assert match, line
            folders[match["name"].decode()] = match["flags"].decode().split()
        assert "INBOX" in folders
        for name, flag in SPECIAL_USE.items():
            assert flag in folders.get(name, []), f"{name}: {folders.get(name)}"
    assert mail_user.maildir.is_dir()  # created by the first login


def test_tls_is_verified_against_ca_cert(mailserver: MailServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(
            mailserver.host, mailserver.imaps_port, ssl_context=ssl.create_default_context()
        )


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_imap_bearer_token_login(
    mailserver: MailServer, mail_user: MailUser, mechanism: str
) -> None:
    assert mail_user.token
    if mechanism == "XOAUTH2":
        blob = xoauth2(mail_user.user, mail_user.token)
    else:
        blob = f"n,a={mail_user.user},\x01auth=Bearer {mail_user.token}\x01\x01"
    with imap(mailserver) as conn:
        typ, _ = conn.authenticate(mechanism, lambda _challenge: blob.encode())
        assert typ == "OK"


def test_bad_credentials_are_refused(mailserver: MailServer, mail_user: MailUser) -> None:
    token = mail_user.token
    assert token
    attempts: list[Callable[[imaplib.IMAP4], object]] = [
        lambda c: c.login(mail_user.user, mail_user.password + "x"),
        lambda c: c.login(f"nobody-{uuid.uuid4().hex}@example.test", "x"),
        lambda c: c.login(mail_user.user, token),  # a token is no password
        lambda c: c.authenticate("XOAUTH2", lambda _: xoauth2(mail_user.user, "bad").encode()),
    ]
    for attempt in attempts:
        with (
            imap(mailserver) as conn,
            pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"),
        ):
            attempt(conn)


def test_replaced_password_and_removed_user(mailserver: MailServer, mail_user: MailUser) -> None:
    with imap(mailserver) as conn:
        conn.login(mail_user.user, mail_user.password)
    changed = mailserver.add_user(mail_user.user, "new-" + mail_user.password)
    with imap(mailserver) as conn, pytest.raises(imaplib.IMAP4.error):
        conn.login(mail_user.user, mail_user.password)
    with imap(mailserver) as conn:
        conn.login(changed.user, changed.password)
    mailserver.remove_user(mail_user.user)
    with imap(mailserver) as conn, pytest.raises(imaplib.IMAP4.error):
        conn.login(changed.user, changed.password)


def test_stop_and_start_keep_ports_and_mail(mailserver: MailServer, mail_user: MailUser) -> None:
    mailserver.deliver(mail_user.user, message("a@example.test", mail_user.user, "kept"))
    ports = mailserver.ports()
    mailserver.stop()
    try:
        assert not mailserver.is_running()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((mailserver.host, mailserver.imap_port), timeout=5).close()
        # behind Dovecot's back: the message moves from new/ to cur/ with the \Seen flag
        (new_file,) = (mail_user.maildir / "new").iterdir()
        new_file.rename(mail_user.maildir / "cur" / (new_file.name + ":2,S"))
    finally:
        mailserver.start()
    assert mailserver.is_running() and mailserver.ports() == ports
    with imap(mailserver) as conn:
        conn.login(mail_user.user, mail_user.password)
        conn.select("INBOX")
        typ, data = conn.search(None, "SEEN")
        assert typ == "OK" and data[0].split() == [b"1"]


# ---------------------------------------------------------------- SMTP -> LMTP -> Dovecot
@pytest.mark.parametrize("transport", ["starttls", "tls"])
def test_smtp_send_arrives_in_recipient_inbox(
    mailserver: MailServer, make_mail_user: Callable[..., MailUser], transport: str
) -> None:
    sender, rcpt = make_mail_user("sender"), make_mail_user("rcpt")
    subject = f"testbed {transport} {uuid.uuid4().hex}"
    if transport == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            mailserver.host, mailserver.smtps_port, context=mailserver.ssl_context(), timeout=10
        )
    else:
        smtp = smtplib.SMTP(mailserver.host, mailserver.smtp_port, timeout=10)
        smtp.starttls(context=mailserver.ssl_context())
    with smtp:
        smtp.login(sender.user, sender.password)
        smtp.send_message(message(sender.user, rcpt.user, subject))

    wait_until(lambda: subject in inbox_subjects(mailserver, rcpt), 10,
               message=f"{subject!r} in {rcpt.user}'s INBOX")  # fmt: skip
    (record,) = [m for m in mailserver.smtp_messages() if m["rcpt_tos"] == [rcpt.user]]
    assert record["auth_user"] == sender.user and record["tls"] is True
    assert record["lmtp"] == {rcpt.user: "delivered"}


def test_smtp_xoauth2_and_bad_credentials(
    mailserver: MailServer, make_mail_user: Callable[..., MailUser]
) -> None:
    user = make_mail_user()
    token = user.token
    assert token
    with smtplib.SMTP(mailserver.host, mailserver.smtp_port, timeout=10) as smtp:
        smtp.starttls(context=mailserver.ssl_context())
        smtp.ehlo()
        assert "XOAUTH2" in smtp.esmtp_features["auth"].split()
        with pytest.raises(smtplib.SMTPAuthenticationError) as bad:
            smtp.login(user.user, "wrong")
        assert bad.value.smtp_code == 535
        with pytest.raises(smtplib.SMTPAuthenticationError):  # 334 JSON error, empty line, 535
            smtp.auth("XOAUTH2", lambda c=None: "" if c else xoauth2(user.user, "bad"))
        code, _ = smtp.auth("XOAUTH2", lambda c=None: "" if c else xoauth2(user.user, token))
        assert code == 235


def test_lmtp_deliver_helper(mailserver: MailServer, mail_user: MailUser) -> None:
    mailserver.deliver(mail_user.user, message("x@example.test", mail_user.user, "via lmtp"))
    assert inbox_subjects(mailserver, mail_user) == ["via lmtp"]  # LMTP is synchronous


# ---------------------------------------------------------------- Cyrus
@pytest.fixture
def cyrus_user(cyrus_server: CyrusServer) -> MailUser:
    cyrus_server.start()  # in case an earlier test left it stopped
    return cyrus_server.add_user(
        f"c{uuid.uuid4().hex[:16]}@example.test", secrets.token_urlsafe(12)
    )


def list_folders(conn: imaplib.IMAP4) -> dict[str, list[str]]:
    """LIST "" "*" as {name: [attributes, lower-cased]} (Cyrus sends `\\sent`, Dovecot `\\Sent`)."""
    typ, lines = conn.list()
    assert typ == "OK"
    folders = {}
    for line in lines:
        assert isinstance(line, bytes)
        match = LIST_LINE.match(line)
        assert match, line
        folders[match["name"].decode()] = match["flags"].decode().lower().split()
    return folders


@pytest.mark.parametrize("transport", ["plain", "starttls", "tls"])
def test_cyrus_login_capabilities_and_special_use(
    cyrus_server: CyrusServer, cyrus_user: MailUser, transport: str
) -> None:
    with imap(cyrus_server, transport) as conn:
        before = capabilities(conn)
        assert ("STARTTLS" in before) == (transport == "plain")
        assert "AUTH=PLAIN" in before and "LOGINDISABLED" not in before  # allowplaintext: yes
        assert not {"AUTH=XOAUTH2", "AUTH=OAUTHBEARER"} & before
        conn.login(cyrus_user.user, cyrus_user.password)
        missing = REQUIRED_CAPABILITIES - capabilities(conn)
        assert not missing, f"Cyrus lacks {missing}"
        folders = list_folders(conn)  # created by the first login
        assert "INBOX" in folders
        for name, flag in SPECIAL_USE.items():
            assert flag.lower() in folders.get(name, []), f"{name}: {folders.get(name)}"


def test_cyrus_tls_is_verified_against_ca_cert(cyrus_server: CyrusServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(
            cyrus_server.host, cyrus_server.imaps_port, ssl_context=ssl.create_default_context()
        )


def test_cyrus_accounts_count_at_once(cyrus_server: CyrusServer, cyrus_user: MailUser) -> None:
    # sasldb is read at every login: no cache to wait for after adding, changing or removing
    for _ in range(10):  # (Dovecot's shared passwd-file once failed half such logins)
        user = cyrus_server.add_user(f"n{uuid.uuid4().hex[:16]}@example.test", "fresh-pass")
        with imap(cyrus_server) as conn:
            assert conn.login(user.user, user.password)[0] == "OK"
    short_name = cyrus_user.user.partition("@")[0]  # the default domain may be left out
    with imap(cyrus_server) as conn:
        assert conn.login(short_name, cyrus_user.password)[0] == "OK"
    changed = cyrus_server.add_user(cyrus_user.user, "new-" + cyrus_user.password)
    with imap(cyrus_server) as conn, pytest.raises(imaplib.IMAP4.error, match="authentication"):
        conn.login(cyrus_user.user, cyrus_user.password)
    with imap(cyrus_server) as conn:
        conn.login(changed.user, changed.password)
    cyrus_server.remove_user(cyrus_user.user)
    for name in (cyrus_user.user, f"nobody-{uuid.uuid4().hex}@example.test"):
        with imap(cyrus_server) as conn, pytest.raises(imaplib.IMAP4.error):
            conn.login(name, changed.password)
    with pytest.raises(ValueError, match="XOAUTH2"):
        cyrus_server.add_user(cyrus_user.user, "x", token="a-token")


def test_cyrus_idle_push_from_a_second_connection(
    cyrus_server: CyrusServer, cyrus_user: MailUser
) -> None:
    with imap(cyrus_server) as watcher, imap(cyrus_server) as writer:
        watcher.login(cyrus_user.user, cyrus_user.password)
        writer.login(cyrus_user.user, cyrus_user.password)
        watcher.select("INBOX")
        tag = watcher._new_tag()  # imaplib (3.11) has no idle(): speak it by hand
        watcher.send(tag + b" IDLE\r\n")
        assert watcher.readline().startswith(b"+")
        writer.append("INBOX", None, None, b"Subject: pushed\r\n\r\nhi\r\n")
        assert watcher.sock is not None
        watcher.sock.settimeout(10)  # the deadline: idled pushes within a fraction of a second
        line = watcher.readline()
        while line and not re.match(rb"\* \d+ EXISTS", line):
            line = watcher.readline()
        assert re.match(rb"\* 1 EXISTS", line), line
        watcher.send(b"DONE\r\n")
        while not line.startswith(tag):
            line = watcher.readline()
            assert line, "connection closed before IDLE ended"
        assert line.startswith(tag + b" OK"), line


def test_cyrus_lmtp_deliver_before_first_login(
    cyrus_server: CyrusServer, cyrus_user: MailUser
) -> None:
    # INBOX does not exist yet: Cyrus creates it on delivery (autocreate_post)
    cyrus_server.deliver(cyrus_user.user, message("x@example.test", cyrus_user.user, "lmtp"))
    assert inbox_subjects(cyrus_server, cyrus_user) == ["lmtp"]  # LMTP is synchronous


def instance_processes(server: CyrusServer) -> list[int]:
    """Live processes whose command line names the instance's data dir (master, imapd, ...)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if str(server.data_dir).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return [pid for pid in found if pid_alive(pid)]


def test_cyrus_stop_and_start_keep_ports_and_mail(
    cyrus_server: CyrusServer, cyrus_user: MailUser
) -> None:
    cyrus_server.deliver(cyrus_user.user, message("a@example.test", cyrus_user.user, "kept"))
    ports = cyrus_server.ports()
    with imap(cyrus_server) as idle_client:  # a connected client must not keep an imapd alive
        idle_client.login(cyrus_user.user, cyrus_user.password)
        cyrus_server.stop()
        try:
            assert not cyrus_server.is_running()
            assert instance_processes(cyrus_server) == []
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((cyrus_server.host, cyrus_server.imap_port), 5).close()
        finally:
            cyrus_server.start()
    assert cyrus_server.is_running() and cyrus_server.ports() == ports
    assert inbox_subjects(cyrus_server, cyrus_user) == ["kept"]


# ---------------------------------------------------------------- Redis
@pytest.mark.parametrize("run", [1, 2])
def test_redis_db_is_clean_for_each_test(redis_url: str, run: int) -> None:
    with redis.Redis.from_url(redis_url) as client:
        assert client.ping()
        assert client.dbsize() == 0, "a key leaked from another test"
        client.set("leftover", run)


def test_redis_unix_socket_and_restart(redis_server: RedisServer, redis_url: str) -> None:
    with redis.Redis(unix_socket_path=str(redis_server.unix_socket)) as client:
        assert client.ping()
        client.set("k", "v")
    port = redis_server.port
    redis_server.stop()
    try:
        with (
            redis.Redis.from_url(redis_url, socket_connect_timeout=2) as client,
            pytest.raises(redis.ConnectionError),
        ):
            client.ping()
    finally:
        redis_server.start()
    assert redis_server.port == port
    with redis.Redis.from_url(redis_url) as client:
        assert client.ping()
        assert client.get("k") is None  # no persistence


# ---------------------------------------------------------------- webhook receiver
def test_webhook_receiver_records_and_answers(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.enqueue(500, Response(status=201, body=b'{"ok":true}'))
    url = webhook_receiver.url + "hook?x=1"
    body = b'{"event":"messageNew"}'
    assert post(url, body, headers={"Content-Type": "application/json", "X-Sig": "abc"}) == (
        500,
        b"",
    )
    assert post(url, body)[0] == 201
    assert post(url, body) == (200, b"")  # the default again
    webhook_receiver.set_handler(lambda req: 410 if req.json()["event"] == "gone" else 204)
    assert post(url, b'{"event":"gone"}')[0] == 410

    first, *_ = webhook_receiver.wait_for(4, timeout=5)
    assert (first.method, first.path, first.body) == ("POST", "/hook?x=1", body)
    assert first.headers["content-type"] == "application/json"
    assert first.headers["X-Sig"] == "abc"
    assert first.json() == {"event": "messageNew"}
    assert first.received_at <= time.time()


def test_webhook_receiver_hangs_and_releases(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.hang()
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        post(webhook_receiver.url, b"1", timeout=0.3)
    webhook_receiver.hang(seconds=0.2, status=202)
    assert post(webhook_receiver.url, b"2")[0] == 202
    webhook_receiver.hang(status=203)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(post, webhook_receiver.url, b"3")
        webhook_receiver.wait_for(3)  # recorded while it hangs
        webhook_receiver.release()
        assert pending.result(timeout=10)[0] == 203
    assert [r.body for r in webhook_receiver.requests] == [b"1", b"2", b"3"]

    webhook_receiver.respond_with(Response(drop=True))
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        post(webhook_receiver.url, b"4")


def test_webhook_receiver_wait_for_times_out_clearly(webhook_receiver: WebhookReceiver) -> None:
    with pytest.raises(AssertionError, match=r"1 request\(s\) at .* \(got 0\)"):
        webhook_receiver.wait_for(1, timeout=0.05)


def test_webhook_receiver_restarts_on_the_same_port(webhook_receiver: WebhookReceiver) -> None:
    port = webhook_receiver.port
    webhook_receiver.hang()
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        post(webhook_receiver.url, b"before", timeout=0.2)  # leaves a hanging request behind
    webhook_receiver.stop()
    with pytest.raises(urllib.error.URLError):
        post(webhook_receiver.url, b"while down")
    webhook_receiver.start()
    webhook_receiver.respond_with(200)
    assert webhook_receiver.port == port
    assert post(webhook_receiver.url, b"after")[0] == 200
    assert [r.body for r in webhook_receiver.requests] == [b"before", b"after"]


def test_webhook_receiver_stop_drops_keep_alive_connections(
    webhook_receiver: WebhookReceiver,
) -> None:
    conn = http.client.HTTPConnection(webhook_receiver.host, webhook_receiver.port, timeout=5)
    try:
        for body in (b"one", b"two"):  # one connection, two requests
            conn.request("POST", "/k", body=body)
            assert conn.getresponse().read() == b""
        assert len({r.client for r in webhook_receiver.wait_for(2)}) == 1
        webhook_receiver.stop()
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            conn.request("POST", "/k", body=b"three")
            conn.getresponse()
    finally:
        conn.close()
    webhook_receiver.start()
    assert post(webhook_receiver.url + "k", b"four")[0] == 200


def test_webhook_receiver_chunked_body(webhook_receiver: WebhookReceiver) -> None:
    with socket.create_connection((webhook_receiver.host, webhook_receiver.port), 5) as sock:
        sock.sendall(
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        reply = b""
        while b"\r\n\r\n" not in reply:  # Content-Length: 0, so the headers are all of it
            chunk = sock.recv(4096)
            assert chunk, reply
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 200")
    assert webhook_receiver.wait_for(1)[0].body == b"hello world"
    assert webhook_receiver.errors == []


async def test_webhook_receiver_in_trio(webhook_receiver: WebhookReceiver) -> None:
    async with trio.open_nursery() as nursery:
        send = functools.partial(post, webhook_receiver.url, b"from trio")
        nursery.start_soon(trio.to_thread.run_sync, send)
        (request,) = await webhook_receiver.wait_for_async(1, timeout=10)
    assert request.body == b"from trio"


# ---------------------------------------------------------------- waiting helpers
def test_wait_until_returns_value_or_raises() -> None:
    values = iter([0, None, "", "done"])
    assert wait_until(lambda: next(values), 5, 0.001) == "done"
    with pytest.raises(AssertionError, match=r"timed out after 0\.05s waiting for never"):
        wait_until(lambda: False, 0.05, 0.01, message="never")


async def test_wait_until_async_accepts_async_predicates() -> None:
    calls = 0

    async def ready() -> bool:
        nonlocal calls
        calls += 1
        await trio.lowlevel.checkpoint()
        return calls >= 3

    assert await wait_until_async(ready, 5, 0.001) is True
    with pytest.raises(AssertionError, match="last exception: OSError"):
        await wait_until_async(_raise_oserror, 0.05, 0.01, ignore=(OSError,))


def _raise_oserror() -> bool:
    raise OSError("not yet")
