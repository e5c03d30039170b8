"""``POST /v1/account/{account}/message`` on the real service and Dovecot: the message built
and appended, fetched back over IMAP by another client and parsed with the standard library;
replies and forwards threaded without flagging the original; every error answer."""

from __future__ import annotations

import base64
import email
import email.policy
import imaplib
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import trio

from tests.fixtures.api_service import ApiHarness, running_api
from tests.fixtures.mail_server import MailServer, MailUser
from tests.trimap.engine_harness import OtherClient, message_bytes
from tests.trimap.test_api_message_actions import error, refused_keys
from trimap.messages.ids import decode_message_id

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
PDF = b"%PDF-1.4\n" + bytes(range(255, -1, -1))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def fetch_back(
    mailserver: MailServer, user: MailUser, path: str, uid: int
) -> tuple[EmailMessage, bytes]:
    """The message ``uid`` of ``path`` parsed, and its FETCH metadata (FLAGS, INTERNALDATE)."""

    def fetch(imap: imaplib.IMAP4) -> tuple[bytes, bytes]:
        imap.select(f'"{path}"', readonly=True)
        status, data = imap.uid("FETCH", str(uid), "(FLAGS INTERNALDATE BODY.PEEK[])")
        assert status == "OK" and isinstance(data[0], tuple), data
        return data[0][1], data[0][0]

    raw, meta = await OtherClient(mailserver, user).run(fetch)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed, meta


async def test_upload_builds_the_message_and_appends_it(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account = await api.add_account(mail_user)
    body = {
        "path": "Drafts",
        "flags": ["\\Draft", "\\Seen"],
        "internalDate": "2024-02-01T10:20:30+01:00",
        "from": {"name": "Zoë Ångström", "address": mail_user.email},
        "to": [{"name": "Bob, Jr.", "address": "bob@example.test"}],
        "cc": [{"address": "carol@example.test"}],
        "bcc": [{"name": "Hidden", "address": "dave@example.test"}],
        "subject": "Prüfbericht — Q1 “final”",
        "text": "Hallo,\nsee the chart.\n" + "long " * 40 + "\n",
        "html": '<p>Hallo, see <img src="cid:chart@example.test"></p>',
        "attachments": [
            {"filename": "chart.png", "content": b64(PNG), "cid": "chart@example.test"},
            {
                "filename": "Übersicht März.pdf",
                "content": b64(PDF),
                "contentType": "application/pdf",
            },
        ],
        "headers": {"X-Campaign": "spring"},
    }
    answer = await api.call("POST", f"/v1/account/{account}/message", body)
    assert answer.status == 200, answer.body
    result = answer.json()
    assert result["path"] == "Drafts" and isinstance(result["uidValidity"], str)
    assert decode_message_id(result["id"])[1] == result["uid"]
    assert result["messageId"].startswith("<") and result["messageId"].endswith("@example.test>")

    parsed, meta = await fetch_back(mailserver, mail_user, "Drafts", result["uid"])
    assert b"\\Draft" in meta and b"\\Seen" in meta
    date = re.search(rb'INTERNALDATE "([^"]+)"', meta)
    assert date is not None
    stored = datetime.strptime(date[1].decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    assert stored == datetime(2024, 2, 1, 9, 20, 30, tzinfo=UTC)
    assert parsed["Subject"] == body["subject"] and parsed["Message-ID"] == result["messageId"]
    assert parsed["From"].addresses[0].display_name == "Zoë Ångström"
    assert parsed["To"].addresses[0].display_name == "Bob, Jr."
    assert parsed["Cc"] == "carol@example.test" and parsed["Bcc"] == "Hidden <dave@example.test>"
    assert parsed["X-Campaign"] == "spring" and parsed["Date"]
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == body["text"]
    assert "cid:chart@example.test" in html.get_content()
    parts = {part.get_content_type(): part for part in parsed.walk()}
    assert parts["multipart/related"] is not None and parts["multipart/alternative"] is not None
    assert (
        parts["image/png"].get_content() == PNG
        and parts["image/png"]["Content-ID"] == "<chart@example.test>"
    )
    assert parts["application/pdf"].get_filename() == "Übersicht März.pdf"
    assert parts["application/pdf"].get_content() == PDF

    details = await api.call("GET", f"/v1/account/{account}/message/{result['id']}")
    assert details.status == 200 and details.json()["subject"] == body["subject"]


async def test_reply_and_forward_are_threaded_without_flagging_the_original(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account = await api.add_account(mail_user)
    original = (
        b"From: Ann <ann@example.test>\r\nTo: bob@example.test\r\nSubject: Plans\r\n"
        b"Message-ID: <parent@example.test>\r\nIn-Reply-To: <grand@example.test>\r\n"
        b"References: <root@example.test>\r\n <grand@example.test>\r\n\r\nDetails.\r\n"
    )
    await trio.to_thread.run_sync(mailserver.deliver, mail_user.email, original)
    listing = await api.call("GET", f"/v1/account/{account}/messages?path=INBOX")
    parent = listing.json()["messages"][0]["id"]
    url = f"/v1/account/{account}/message"

    reply = await api.call(
        "POST", url, {"path": "Drafts", "text": "Sure.", "reference": {"message": parent}}
    )
    assert reply.status == 200, reply.body
    parsed, _ = await fetch_back(mailserver, mail_user, "Drafts", reply.json()["uid"])
    assert parsed["Subject"] == "Re: Plans" and parsed["In-Reply-To"] == "<parent@example.test>"
    assert parsed["References"] == "<root@example.test> <grand@example.test> <parent@example.test>"

    forward = {
        "path": "Drafts",
        "text": "FYI",
        "reference": {"message": parent, "action": "forward", "attachOriginal": True},
    }
    answer = await api.call("POST", url, forward)
    assert answer.status == 200, answer.body
    parsed, _ = await fetch_back(mailserver, mail_user, "Drafts", answer.json()["uid"])
    assert parsed["Subject"] == "Fwd: Plans" and parsed["In-Reply-To"] is None
    attached = [part for part in parsed.walk() if part.get_content_type() == "message/rfc822"]
    assert len(attached) == 1
    inner = attached[0].get_content()
    assert inner["Message-ID"] == "<parent@example.test>" and inner["Subject"] == "Plans"
    _, meta = await fetch_back(mailserver, mail_user, "INBOX", decode_message_id(parent)[1])
    assert b"\\Answered" not in meta  # reference weakness 12: an upload answers nothing


async def test_a_forwarded_original_over_the_size_limit_is_refused(
    redis_url: str, tmp_path: Path, mailserver: MailServer, mail_user: MailUser
) -> None:
    async with running_api(redis_url, tmp_path, mailserver, **{"api.maxSize": "4096"}) as api:
        account = await api.add_account(mail_user)
        big = message_bytes("Big", ("y" * 70 + "\r\n") * 80)  # about 6 KiB
        await trio.to_thread.run_sync(mailserver.deliver, mail_user.email, big)
        listing = await api.call("GET", f"/v1/account/{account}/messages?path=INBOX")
        parent = listing.json()["messages"][0]["id"]
        forward = {
            "path": "Drafts",
            "reference": {"message": parent, "action": "forward", "attachOriginal": True},
        }
        too_large = await api.call("POST", f"/v1/account/{account}/message", forward)
        error(too_large, 413, "ReferenceTooLarge")
        reply = {"path": "Drafts", "reference": {"message": parent}}  # needs no source
        assert (await api.call("POST", f"/v1/account/{account}/message", reply)).status == 200


async def test_upload_errors(api: ApiHarness, mail_user: MailUser) -> None:
    account = await api.add_account(mail_user)
    url = f"/v1/account/{account}/message"
    refused = await api.call(
        "POST",
        url,
        {
            "subject": "Hi\r\nBcc: evil@example.test",
            "to": [{"name": "Bob\r\nX-Evil: 1", "address": "bob@example.test"}],
            "attachments": [{"filename": "a\r\nb.pdf", "content": b64(b"x")}],
            "flags": ["\\Draft", "no good"],
            "internalDate": "yesterday",
            "colour": "red",
        },
    )
    assert refused_keys(refused) == {
        "path",
        "subject",
        "to.0.name",
        "attachments.0.filename",
        "flags.1",
        "internalDate",
        "colour",
    }
    error(
        await api.call("POST", url, {"path": "No such folder", "text": "x"}), 404, "MailboxNotFound"
    )
    missing = {"path": "Drafts", "text": "x", "reference": {"message": "AAAAAQAAA-c"}}
    error(await api.call("POST", url, missing), 404, "ReferenceNotFound")
    error(
        await api.call("POST", "/v1/account/nobody/message", {"path": "Drafts"}),
        404,
        "AccountNotFound",
    )
    assert refused_keys(await api.call("POST", url, b"not json")) == {"body"}
