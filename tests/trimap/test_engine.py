"""The account engine against a real Dovecot and Redis: connect, detect every change, recover."""

from __future__ import annotations

import json
import smtplib

import pytest
import trio

from tests.fixtures.mail_server import DOMAIN, MailServer, MailUser
from tests.fixtures.webhook_receiver import Response, WebhookReceiver
from tests.trimap.engine_harness import (
    EngineHarness,
    OtherClient,
    message_bytes,
    of_kind,
    running_engine,
)
from tests.waiting import wait_until_async
from trimap.engine import AccountNotConnected

# The same tests with Dovecot's extensions in full, and as servers with less: change
# detection must be right on every server (QRESYNC; CONDSTORE only; neither).
SERVER_PROFILES = {
    "qresync+notify": frozenset(),
    "condstore": frozenset({"QRESYNC", "NOTIFY"}),
    "plain": frozenset({"QRESYNC", "CONDSTORE", "NOTIFY", "LIST-STATUS", "ESEARCH"}),
}


@pytest.fixture(params=list(SERVER_PROFILES))
async def harness(request: pytest.FixtureRequest, redis_url: str, mailserver: MailServer):
    ignored = SERVER_PROFILES[request.param]
    async with running_engine(redis_url, mailserver, ignored_capabilities=ignored) as harness:
        yield harness


def send_by_smtp(mailserver: MailServer, user: MailUser, subject: str) -> None:
    """Mail ``user`` through the test bed's SMTP server (STARTTLS, AUTH), which delivers it."""
    with smtplib.SMTP(mailserver.host, mailserver.smtp_port, timeout=30) as smtp:
        smtp.starttls(context=mailserver.ssl_context())
        smtp.login(user.user, user.password)
        smtp.sendmail(user.user, [user.user], message_bytes(subject))


async def connected_account(harness: EngineHarness, user: MailUser, **fields) -> str:
    account = await harness.add_account(user, **fields)
    await harness.wait_state(account, "connected")
    return account


async def test_first_connect_announces_the_folders_and_goes_connected(
    harness: EngineHarness, mail_user: MailUser
) -> None:
    account = await connected_account(harness, mail_user)
    events = await harness.wait_for_events(account, lambda e: len(of_kind(e, "mailboxNew")) >= 2)
    paths = {event.path for event in of_kind(events, "mailboxNew")}
    assert "INBOX" in paths
    inbox = next(e for e in events if e.kind == "mailboxNew" and e.path == "INBOX")
    assert inbox.data["specialUse"] == "\\Inbox" and inbox.data["uidValidity"].isdigit()
    assert of_kind(events, "authenticationSuccess")[0].data == {"user": mail_user.user}
    runner = harness.engine.runner(account)
    assert runner is not None and runner.state == "connected"


async def test_new_mail_from_smtp_and_append_each_give_one_message_new(
    harness: EngineHarness, mailserver: MailServer, mail_user: MailUser
) -> None:
    account = await connected_account(harness, mail_user)
    await OtherClient(mailserver, mail_user).append("INBOX", "appended by another client")
    await trio.to_thread.run_sync(send_by_smtp, mailserver, mail_user, "delivered over SMTP")

    def two_new(events) -> bool:
        return len(of_kind(events, "messageNew")) >= 2

    events = await harness.wait_for_events(account, two_new, timeout=10)
    new = of_kind(events, "messageNew")
    assert sorted(e.data["subject"] for e in new) == [
        "appended by another client",
        "delivered over SMTP",
    ]
    assert len({e.id for e in new}) == 2 and len({e.data["id"] for e in new}) == 2
    for event in new:
        assert event.path == "INBOX" and event.special_use == "\\Inbox"
        assert event.data["from"] == {"name": "Ann", "address": "ann@example.test"}
        assert event.data["unseen"] is True
    # A third message is a barrier: once it is announced, anything repeated would be too.
    await OtherClient(mailserver, mail_user).append("INBOX", "barrier")
    events = await harness.wait_for_events(account, lambda e: len(of_kind(e, "messageNew")) >= 3)
    subjects = [e.data["subject"] for e in of_kind(events, "messageNew")]
    assert sorted(subjects) == ["appended by another client", "barrier", "delivered over SMTP"]


async def test_flag_change_expunge_and_folder_life_cycle(
    harness: EngineHarness, mailserver: MailServer, mail_user: MailUser
) -> None:
    account = await connected_account(harness, mail_user, imap={"resyncDelay": 1})
    other = OtherClient(mailserver, mail_user)
    await other.append("INBOX", "to be flagged", flags="\\Seen")
    (new,) = of_kind(
        await harness.wait_for_events(account, lambda e: bool(of_kind(e, "messageNew"))),
        "messageNew",
    )
    uid = new.data["uid"]

    await other.store("INBOX", uid, "+FLAGS", "\\Flagged")
    events = await harness.wait_for_events(account, lambda e: bool(of_kind(e, "messageUpdated")))
    (updated,) = of_kind(events, "messageUpdated")
    assert updated.data["id"] == new.data["id"] and updated.data["uid"] == uid
    assert updated.data["changes"]["flags"]["added"] == ["\\Flagged"]
    assert "deleted" not in updated.data["changes"]["flags"]

    await other.store("INBOX", uid, "-FLAGS", "\\Seen")
    events = await harness.wait_for_events(
        account, lambda e: len(of_kind(e, "messageUpdated")) >= 2
    )
    assert of_kind(events, "messageUpdated")[1].data["changes"]["flags"]["deleted"] == ["\\Seen"]

    await other.expunge("INBOX", uid)
    events = await harness.wait_for_events(account, lambda e: bool(of_kind(e, "messageDeleted")))
    assert [e.data for e in of_kind(events, "messageDeleted")] == [
        {"id": new.data["id"], "uid": uid}
    ]

    await other.folder_command("create", "Projects")
    events = await harness.wait_for_events(
        account, lambda e: any(x.path == "Projects" for x in of_kind(e, "mailboxNew"))
    )
    first = next(e for e in of_kind(events, "mailboxNew") if e.path == "Projects")
    # A change in a folder that is not the IDLE one is seen (NOTIFY, or within resyncDelay).
    await other.append("Projects", "in another folder")
    await harness.wait_for_events(
        account, lambda e: any(x.path == "Projects" for x in of_kind(e, "messageNew"))
    )
    await other.folder_command("delete", "Projects")
    await harness.wait_for_events(
        account, lambda e: any(x.path == "Projects" for x in of_kind(e, "mailboxDeleted"))
    )
    await other.folder_command("create", "Projects")
    await other.append("Projects", "after re-creation")
    events = await harness.wait_for_events(
        account, lambda e: sum(x.path == "Projects" for x in of_kind(e, "mailboxNew")) >= 2
    )
    second = [e for e in of_kind(events, "mailboxNew") if e.path == "Projects"][-1]
    assert second.data["uidValidity"] != first.data["uidValidity"]


async def test_delete_and_recreate_while_unwatched_is_a_mailbox_reset(
    harness: EngineHarness, mailserver: MailServer, mail_user: MailUser
) -> None:
    other = OtherClient(mailserver, mail_user)
    await other.folder_command("create", "Reports")
    await other.append("Reports", "old report")
    account = await connected_account(harness, mail_user)
    await harness.wait_for_events(
        account, lambda e: any(x.path == "Reports" for x in of_kind(e, "mailboxNew"))
    )
    # Between two looks the folder is deleted and re-created: same path, new UIDVALIDITY.
    runner = harness.engine.runner(account)
    assert runner is not None
    with trio.fail_after(10):
        async with runner.session():
            await other.folder_command("delete", "Reports")
            await other.folder_command("create", "Reports")
    runner.reconnect()
    events = await harness.wait_for_events(
        account, lambda e: any(x.path == "Reports" for x in of_kind(e, "mailboxReset"))
    )
    (reset,) = [e for e in of_kind(events, "mailboxReset") if e.path == "Reports"]
    assert reset.data["prevUidValidity"] != reset.data["uidValidity"]


async def test_wrong_password_is_one_authentication_error_per_streak(
    redis_url: str, mailserver: MailServer, mail_user: MailUser, redis_server
) -> None:
    async with running_engine(redis_url, mailserver, log_everything=True) as harness:
        await _wrong_password(harness, mail_user, redis_server)


async def _wrong_password(harness: EngineHarness, mail_user: MailUser, redis_server) -> None:
    account = await harness.add_account(mail_user, password="not-the-password-3b7e")
    await harness.wait_state(account, "authenticationError")
    stored = await harness.registry.get(account)
    assert stored.last_error is not None
    assert stored.last_error.server_response_code == "AUTHENTICATIONFAILED"
    assert "not-the-password" not in stored.last_error.response
    runner = harness.engine.runner(account)
    assert runner is not None
    # It keeps trying (with the tests' short backoff), and reports the streak only once.
    await wait_until_async(lambda: runner.attempts >= 4, 20)
    assert runner.state == "authenticationError"
    errors = of_kind(await harness.events(account), "authenticationError")
    assert len(errors) == 1
    assert errors[0].data["serverResponseCode"] == "AUTHENTICATIONFAILED"
    with pytest.raises(AccountNotConnected) as refused:
        async with harness.engine.session(account):
            pass
    assert refused.value.state == "authenticationError"
    protocol_log = await wait_until_async(lambda: _logged_login(harness, account), 10)
    assert "not-the-password" not in protocol_log
    assert "LOGIN" in protocol_log and "***" in protocol_log
    client = redis_server.client()
    for key in client.keys("*"):
        kind = client.type(key)
        dumped = (
            json.dumps({k.decode(): v.decode("latin-1") for k, v in client.hgetall(key).items()})
            if kind == b"hash"
            else str(key)
        )
        assert "not-the-password" not in dumped


async def test_api_session_breaks_idle_and_sees_the_main_folder(
    harness: EngineHarness, mail_user: MailUser
) -> None:
    account = await connected_account(harness, mail_user)
    for _ in range(3):
        with trio.fail_after(5):
            async with harness.engine.session(account) as session:
                await session.select("INBOX")
                assert session.client.usable
    with pytest.raises(AccountNotConnected):
        async with harness.engine.session("no-such-account"):
            pass
    assert DOMAIN in mail_user.user


async def _logged_login(harness: EngineHarness, account: str) -> str | None:
    text = await harness.protocol_log(account)
    return text if "LOGIN" in text and "authenticationError" in text else None


async def test_credentials_from_the_auth_server(
    harness: EngineHarness, mail_user: MailUser, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.respond_with(
        Response(
            status=200,
            body=json.dumps({"user": mail_user.user, "pass": mail_user.password}).encode(),
            headers={"Content-Type": "application/json"},
        )
    )
    harness.set_auth_server(webhook_receiver.url + "creds")
    account = await harness.add_account(mail_user, imap={"auth": None, "useAuthServer": True})
    await harness.wait_state(account, "connected")
    assert webhook_receiver.requests[0].path == f"/creds?account={account}&proto=imap"

    webhook_receiver.respond_with(Response(status=503, body=b"down"))
    assert harness.engine.reconnect(account)
    await harness.wait_state(account, "authenticationError")
    stored = await harness.registry.get(account)
    assert stored.last_error is not None
    assert stored.last_error.server_response_code == "HTTPRequestError"
    assert "503" in stored.last_error.response
