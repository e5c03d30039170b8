"""Sending mail through the real SMTP test bed into Dovecot: replies, forwards, Sent copies,
refusals, the outbox through an SMTP outage, and idempotency."""

from __future__ import annotations

import base64
import email
import email.policy
import imaplib
import os
from contextlib import suppress
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trio

from tests.fixtures.api_service import ApiHarness, running_api
from tests.fixtures.mail_server import MailServer, MailUser
from tests.trimap.engine_harness import OtherClient
from tests.waiting import wait_until_async

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQAQMAAAAlPW0iAAAABlBMVEUAAAD///+l2Z/dAAAAM0lEQVR4nGP4/5/h"
    "/1+G/58ZDrAz3D/McH8yw83NDDeNGe4Ug9C9zwz3gVLMDA/A6P9/AFGGFyjOXZtQAAAAAElFTkSuQmCC"
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def smtp_settings(mailserver: MailServer, user: MailUser, port: int | None = None) -> dict:
    return {
        "host": "127.0.0.1",
        "port": port or mailserver.smtps_port,
        "secure": True,
        "tls": {"rejectUnauthorized": False},
        "auth": {"user": user.user, "pass": user.password},
    }


async def sender_account(
    api: ApiHarness, mailserver: MailServer, user: MailUser, port: int | None = None
) -> str:
    return await api.add_account(user, smtp=smtp_settings(mailserver, user, port))


async def inbox(mailserver: MailServer, user: MailUser, path: str = "INBOX") -> list[Any]:
    """Every message of ``path`` as (parsed message, flags line), read by another client."""

    def read(imap: imaplib.IMAP4) -> list[tuple[EmailMessage, bytes]]:
        imap.select(f'"{path}"', readonly=True)
        status, data = imap.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        assert status == "OK"
        found = []
        for item in data:
            if isinstance(item, tuple):
                parsed = email.message_from_bytes(item[1], policy=email.policy.default)
                found.append((parsed, item[0]))
        return found

    return await OtherClient(mailserver, user).run(read)


async def wait_for_subject(
    mailserver: MailServer, user: MailUser, subject: str, path: str = "INBOX"
) -> tuple[EmailMessage, bytes]:
    async def arrived() -> tuple[EmailMessage, bytes] | None:
        for parsed, flags in await inbox(mailserver, user, path):
            if parsed["Subject"] == subject:
                return parsed, flags
        return None

    return await wait_until_async(arrived, 30, message=f"{subject!r} in {user.user} {path}")


def original(sender: str, rcpt: str) -> bytes:
    return (
        f"From: Bob <{sender}>\r\nTo: {rcpt}\r\nSubject: Pläne für Montag\r\n"
        "Message-ID: <parent@example.test>\r\nReferences: <root@example.test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nShall we meet? Grüße\r\n"
    ).encode()


async def first_message_id(api: ApiHarness, account: str) -> str:
    async def listed() -> str | None:
        answer = await api.call("GET", f"/v1/account/{account}/messages?path=INBOX")
        messages = answer.json().get("messages") if answer.status == 200 else None
        return messages[0]["id"] if messages else None

    return await wait_until_async(listed, 20, message="the original listed")


async def test_reply_and_forward_are_threaded_flagged_and_filed(
    api: ApiHarness, mailserver: MailServer, make_mail_user
) -> None:
    ann, bob = make_mail_user("ann"), make_mail_user("bob")
    await trio.to_thread.run_sync(mailserver.deliver, ann.user, original(bob.user, ann.user))
    account = await sender_account(api, mailserver, ann)
    parent = await first_message_id(api, account)

    reply = {
        "reference": {"message": parent, "action": "reply"},
        "from": {"name": "Ann Ärmel", "address": ann.user},
        "to": [{"name": "Bob", "address": bob.user}],
        "text": "Ja, gerne — Montag passt.",
        "html": '<p>Ja, gerne. <img src="cid:check@x"></p>',
        "attachments": [
            {
                "filename": "häkchen.png",
                "content": base64.b64encode(PNG).decode(),
                "cid": "check@x",
            },
            {"filename": "notes.bin", "content": b64(os.urandom(3000))},
        ],
    }
    answer = await api.call("POST", f"/v1/account/{account}/submit", reply)
    assert answer.status == 200, answer.body
    sent = answer.json()
    assert sent["response"].startswith("250") and sent["messageId"].startswith("<")
    assert sent["flagged"] == "\\Answered" and sent["sentCopy"] == "Sent"

    received, _ = await wait_for_subject(mailserver, bob, "Re: Pläne für Montag")
    assert received["In-Reply-To"] == "<parent@example.test>"
    assert received["References"] == "<root@example.test> <parent@example.test>"
    assert received["Message-ID"] == sent["messageId"]
    assert received["From"].addresses[0].display_name == "Ann Ärmel"
    assert received.get_body(("plain",)).get_content().strip() == "Ja, gerne — Montag passt."
    parts = {part.get_filename(): part for part in received.walk() if part.get_filename()}
    assert parts["häkchen.png"].get_content() == PNG and parts["häkchen.png"]["Content-ID"]
    notes = base64.b64decode(reply["attachments"][1]["content"])
    assert parts["notes.bin"].get_content() == notes
    assert "Bcc" not in received

    _, flags = (await inbox(mailserver, ann))[0]
    assert b"\\Answered" in flags
    copy, copy_flags = await wait_for_subject(mailserver, ann, "Re: Pläne für Montag", "Sent")
    assert b"\\Seen" in copy_flags and copy["Message-ID"] == sent["messageId"]

    forward = {
        "reference": {"message": parent, "action": "forward", "attachOriginal": True},
        "to": [{"address": bob.user}],
        "text": "FYI",
    }
    answer = await api.call("POST", f"/v1/account/{account}/submit", forward)
    assert answer.status == 200, answer.body
    forwarded, _ = await wait_for_subject(mailserver, bob, "Fwd: Pläne für Montag")
    attached = [p for p in forwarded.walk() if p.get_content_type() == "message/rfc822"]
    assert attached and attached[0].get_content()["Message-ID"] == "<parent@example.test>"
    _, flags = (await inbox(mailserver, ann))[0]
    assert b"$Forwarded" in flags

    events = await api.call("GET", f"/v1/events?account={account}&event=messageSent")
    assert len(events.json()["events"]) == 2


async def test_refusals_send_nothing(
    api: ApiHarness, mailserver: MailServer, make_mail_user
) -> None:
    ann, bob = make_mail_user("ann"), make_mail_user("bob")
    account = await sender_account(api, mailserver, ann)
    before = len(mailserver.smtp_messages())
    missing = await api.call(
        "POST",
        f"/v1/account/{account}/submit",
        {"reference": {"message": "AAAAAQAAAeE"}, "to": [{"address": bob.user}], "text": "x"},
    )
    assert missing.status == 404 and missing.json()["code"] == "ReferenceNotFound"
    injected = await api.call(
        "POST",
        f"/v1/account/{account}/submit",
        {"subject": "Hi\r\nBcc: evil@example.test", "to": [{"address": bob.user}]},
    )
    assert injected.status == 400
    assert {f["key"] for f in injected.json()["fields"]} == {"subject"}
    nobody = await api.call("POST", f"/v1/account/{account}/submit", {"text": "to no one"})
    assert nobody.status == 400
    unknown = await api.call("POST", "/v1/account/nobody/submit", {"to": [{"address": bob.user}]})
    assert unknown.status == 404
    assert len(mailserver.smtp_messages()) == before


class Relay:
    """A TCP port that refuses connections until ``open()``, then relays to the SMTP server."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._opened = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        from tests.fixtures.processes import free_port

        self.port = free_port()
        task_status.started()
        await self._opened.wait()
        listeners = await trio.open_tcp_listeners(self.port, host="127.0.0.1")
        await trio.serve_listeners(self._relay, listeners)

    def open(self) -> None:
        self._opened.set()

    async def _relay(self, client: trio.SocketStream) -> None:
        with suppress(trio.BrokenResourceError, OSError):
            server = await trio.open_tcp_stream("127.0.0.1", self.target_port)
            async with client, server, trio.open_nursery() as nursery:

                async def pump(source: trio.SocketStream, sink: trio.SocketStream) -> None:
                    with suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                        async for chunk in source:
                            await sink.send_all(chunk)
                    nursery.cancel_scope.cancel()

                nursery.start_soon(pump, client, server)
                nursery.start_soon(pump, server, client)


async def test_smtp_down_gives_502_and_the_outbox_sends_once_it_is_back(
    redis_url: str, tmp_path: Path, mailserver: MailServer, make_mail_user
) -> None:
    ann, bob = make_mail_user("ann"), make_mail_user("bob")
    options = {"outbox.retryMin": "0.2", "outbox.retryMax": "1"}
    async with (
        running_api(redis_url, tmp_path, mailserver, **options) as api,
        trio.open_nursery() as nursery,
    ):
        relay = Relay(mailserver.smtps_port)
        await nursery.start(relay.run)
        account = await sender_account(api, mailserver, ann, relay.port)
        url = f"/v1/account/{account}/submit"
        message = {"to": [{"address": bob.user}], "subject": "Through the outage", "text": "hi"}

        down = await api.call("POST", url, message)
        assert down.status == 502, down.body
        assert down.json()["code"] == "ECONNREFUSED" and "SMTP" in down.json()["message"]

        queued = await api.call("POST", url, {**message, "queue": True})
        assert queued.status == 202, queued.body
        queue_id = queued.json()["queueId"]

        async def retried() -> bool:
            answer = await api.call(
                "GET", f"/v1/events?account={account}&event=messageDeliveryError"
            )
            return len(answer.json()["events"]) >= 2

        await wait_until_async(retried, 30, message="two failed attempts")
        listed = (await api.call("GET", "/v1/outbox")).json()
        assert [m["queueId"] for m in listed["messages"]] == [queue_id]
        assert listed["messages"][0]["lastError"]["code"] == "ECONNREFUSED"

        relay.open()
        await wait_for_subject(mailserver, bob, "Through the outage")

        async def sent() -> list | None:
            answer = await api.call("GET", f"/v1/events?account={account}&event=messageSent")
            return answer.json()["events"] or None

        (event,) = await wait_until_async(sent, 30, message="messageSent")
        assert event["data"]["queueId"] == queue_id
        assert (await api.call("GET", "/v1/outbox")).json()["messages"] == []
        copies = [m for m in mailserver.smtp_messages() if m["rcpt_tos"] == [bob.user]]
        assert len(copies) == 1  # exactly once
        nursery.cancel_scope.cancel()


async def test_an_idempotency_key_sends_once_and_a_schedule_can_be_cancelled(
    api: ApiHarness, mailserver: MailServer, make_mail_user
) -> None:
    ann, bob = make_mail_user("ann"), make_mail_user("bob")
    account = await sender_account(api, mailserver, ann)
    url = f"/v1/account/{account}/submit"
    message = {"to": [{"address": bob.user}], "subject": "Only once", "text": "hi"}
    headers = {"Idempotency-Key": "order-4711"}
    first = await api.call("POST", url, message, headers)
    again = await api.call("POST", url, message, headers)
    assert first.status == again.status == 200 and first.json() == again.json()
    await wait_for_subject(mailserver, bob, "Only once")
    assert len([m for m in mailserver.smtp_messages() if m["rcpt_tos"] == [bob.user]]) == 1

    later = await api.call(
        "POST", url, {**message, "subject": "Later", "sendAt": "2999-01-01T00:00:00Z"}
    )
    assert later.status == 202 and later.json()["sendAt"].startswith("2999-01-01")
    queue_id = later.json()["queueId"]
    assert (await api.call("DELETE", f"/v1/outbox/{queue_id}")).json()["deleted"] is True
    assert (await api.call("DELETE", f"/v1/outbox/{queue_id}")).status == 404
    assert (await api.call("GET", "/v1/outbox")).json()["total"] == 0


async def test_queued_messages_survive_a_restart(
    redis_url: str, tmp_path: Path, mailserver: MailServer, make_mail_user
) -> None:
    ann, bob = make_mail_user("ann"), make_mail_user("bob")
    options = {"outbox.retryMin": "0.2", "outbox.retryMax": "1"}
    async with trio.open_nursery() as nursery:
        relay = Relay(mailserver.smtps_port)  # refuses until opened: nothing can be sent yet
        await nursery.start(relay.run)
        async with running_api(redis_url, tmp_path, mailserver, **options) as api:
            account = await sender_account(api, mailserver, ann, relay.port)
            message = {"to": [{"address": bob.user}], "subject": "Across a restart", "queue": True}
            queued = await api.call("POST", f"/v1/account/{account}/submit", message)
            assert queued.status == 202, queued.body
        relay.open()
        async with running_api(redis_url, tmp_path, mailserver, **options) as api:
            await wait_for_subject(mailserver, bob, "Across a restart")

            async def emptied() -> bool:
                return (await api.call("GET", "/v1/outbox")).json()["total"] == 0

            await wait_until_async(emptied, 20, message="the outbox emptied")
        nursery.cancel_scope.cancel()
