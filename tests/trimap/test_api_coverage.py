"""Issue #7's integration points that the per-route test files leave open, on the real
service and Dovecot: paging arithmetic at and past the end, a 10 MB text part read with
``maxBytes`` (and how little of it is fetched, from the protocol log), charsets other
than UTF-8 in headers, bodies and filenames, a forwarded message that carries its own
attachment, stale ids after a folder reset for the routes that change messages, moves
and deletes as another IMAP client sees them, and events reaching ``/v1/events``,
``/v1/stream`` and a webhook from a real delivery.

Messages are APPENDed by another IMAP client, so the stored bytes are exactly ours.
"""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any
from urllib.parse import urlencode

import trio
from trio_websocket import open_websocket_url

from tests.fixtures.api_service import ApiHarness
from tests.fixtures.mail_server import MailServer, MailUser
from tests.fixtures.webhook_receiver import WebhookReceiver
from tests.trimap.engine_harness import OtherClient, message_bytes
from tests.trimap.test_api_content import Mailbox, assert_error, attachment_ids
from tests.trimap.test_api_content import box as box  # the fixture
from tests.trimap.test_api_logs_stats import log_lines
from tests.trimap.test_api_message_actions import imap_flags, listed
from tests.waiting import wait_until_async
from trimap.messages.ids import (
    decode_message_id,
    decode_text_id,
    encode_attachment_id,
    encode_text_id,
)

DEADLINE = 30.0


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def made(raw: bytes) -> tuple[bytes, str]:
    """``raw`` and its Message-ID, as ``Mailbox.append`` takes them."""
    found = re.search(rb"Message-ID: <([^>]+)>", raw)
    assert found is not None
    return raw, found[1].decode()


# -- paging ------------------------------------------------------------------------------

NEWEST_FIRST = ["a5", "b4", "a3", "b2", "a1"]


async def test_paging_arithmetic_at_and_past_the_end(box: Mailbox) -> None:
    for subject in reversed(NEWEST_FIRST):
        await box.other.append("INBOX", subject)

    async def page(query: str, search: dict[str, Any] | None = None) -> Any:
        if search is None:
            answer = await box.get(f"messages?path=INBOX&{query}")
        else:
            answer = await box.api.call(
                "POST", f"/v1/account/{box.account}/search?path=INBOX&{query}", {"search": search}
            )
        assert answer.status == 200, answer.body
        body = answer.json()
        return body["page"], body["pages"], body["total"], [m["subject"] for m in body["messages"]]

    for size in (1, 2, 3, 4, 5, 1000):  # pages = ceil(total / pageSize)
        pages = math.ceil(5 / size)
        assert (await page(f"pageSize={size}"))[:3] == (0, pages, 5)
        last = await page(f"pageSize={size}&page={pages - 1}")
        assert last[3] == NEWEST_FIRST[(pages - 1) * size :]
        # past the end: the last page, and the answer says which
        assert await page(f"pageSize={size}&page={pages}") == last
        assert await page(f"pageSize={size}&page=1048576") == last
    assert await page("pageSize=2&page=1") == (1, 3, 5, ["a3", "b2"])

    matching = {"subject": "a"}
    assert await page("pageSize=2", matching) == (0, 2, 3, ["a5", "a3"])
    assert await page("pageSize=2&page=1", matching) == (1, 2, 3, ["a1"])
    assert await page("pageSize=2&page=7", matching) == (1, 2, 3, ["a1"])
    assert await page("pageSize=3&page=1", matching) == (0, 1, 3, ["a5", "a3", "a1"])
    assert await page("page=4", {"subject": "none such"}) == (0, 1, 0, [])
    empty = await box.get("messages?path=Junk&page=9&pageSize=3")
    assert empty.json() == {"total": 0, "page": 0, "pages": 1, "messages": [], "nextCursor": None}


# -- a 10 MB text part -------------------------------------------------------------------

LINE = "Grüße aus Köln, der Dom steht noch. " * 2 + "\n"  # 73 characters, 79 UTF-8 bytes


def ten_megabyte_text() -> tuple[bytes, str]:
    body = LINE * (10_000_000 // len(LINE.encode()) + 1)
    head = (
        "From: Sender <sender@example.test>\nTo: user@example.test\nSubject: Huge\n"
        "Message-ID: <huge@example.test>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
    )
    return crlf(head + body), "huge@example.test"


def utf8_prefix(text: str, size: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 takes at most ``size`` bytes."""
    return text.encode()[:size].decode("utf-8", "ignore")


async def test_a_10_mb_text_part_with_max_bytes_fetches_a_few_kb(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    assert (await api.call("POST", "/v1/settings", {"logs": {"all": True}})).status == 200
    account = await api.add_account(mail_user, notifyFrom="2000-01-01T00:00:00.000Z")
    box = Mailbox(api, account, OtherClient(mailserver, mail_user))
    raw = ten_megabyte_text()
    assert len(raw[0]) > 10_000_000
    message = await box.append(raw)
    assert message["size"] == len(raw[0])
    expected = utf8_prefix(LINE * 20, 1000)
    assert len(expected.encode()) == 1000

    details = await box.get(f"message/{message['id']}?textType=plain&maxBytes=1000")
    assert details.status == 200, details.body
    assert details.json()["text"]["plain"] == expected
    assert details.json()["text"]["hasMore"] is True
    text = await box.get(f"text/{message['text']['id']}?maxBytes=1000")
    assert text.json() == {"plain": expected, "hasMore": True}

    # What crossed the wire, from the account's protocol log: two partial FETCHes of a few
    # KB, answered by literals of that size; nothing near the part's 10 MB, ever.
    partial = re.compile(r"BODY\.PEEK\[1\]<0\.(\d+)>")

    async def both_answered() -> list[dict[str, Any]] | None:
        lines = await log_lines(api, account)
        answers = [line for line in lines if line["src"] == "S" and "BODY[1]<0>" in line["msg"]]
        return lines if len(answers) == 2 else None

    lines = await wait_until_async(both_answered, DEADLINE, 0.1, message="two BODY[1] answers")
    asked = [int(found[1]) for line in lines if (found := partial.search(line["msg"]))]
    assert len(asked) == 2 and all(1000 < size <= 8192 for size in asked), asked
    assert not [line for line in lines if re.search(r"BODY\.PEEK\[1?\](?!<)", line["msg"])]
    received = [
        int(size)
        for line in lines
        if line["src"] == "S"
        for size in re.findall(r"\{(\d+) bytes\}", line["msg"])
    ]
    assert received and max(received) <= 8192, received


# -- charsets other than UTF-8 -----------------------------------------------------------


def encoded_word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


CHINESE = "你好，世界"


def foreign_message() -> tuple[bytes, str]:
    """Headers in KOI8-R, ISO-8859-1 and windows-1252 encoded words; plain text in GB18030,
    html in ISO-8859-15; attachment names in ISO-8859-1 (RFC 2231), Shift_JIS (an RFC 2047
    word in ``name``, as Outlook writes them) and UTF-8 split into RFC 2231 continuations."""
    plain = base64.b64encode(CHINESE.encode("gb18030")).decode()
    report = encoded_word("報告書.pdf", "shift_jis")
    head = (
        f"From: {encoded_word('Jörg Müller', 'iso-8859-1')} <joerg@example.test>\n"
        f"To: {encoded_word('François', 'windows-1252')} <francois@example.test>\n"
        f"Subject: {encoded_word('Привет', 'koi8-r')}\n"
        "Message-ID: <foreign@example.test>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="m"\n\n'
    )
    body = (
        '--m\nContent-Type: multipart/alternative; boundary="a"\n\n'
        "--a\nContent-Type: text/plain; charset=gb18030\nContent-Transfer-Encoding: base64\n\n"
        f"{plain}\n"
        "--a\nContent-Type: text/html; charset=iso-8859-15\n"
        "Content-Transfer-Encoding: quoted-printable\n\n<p>Preis: 10 =A4</p>\n--a--\n\n"
        "--m\nContent-Type: text/plain; charset=iso-8859-1\n"
        "Content-Disposition: attachment; filename*=iso-8859-1''R%E9sum%E9.txt\n"
        "Content-Transfer-Encoding: quoted-printable\n\nCaf=E9\n"
        f'--m\nContent-Type: application/pdf; name="{report}"\n'
        "Content-Disposition: attachment\nContent-Transfer-Encoding: base64\n\n"
        f"{base64.b64encode(b'%PDF-1.4').decode()}\n"
        "--m\nContent-Type: application/octet-stream\n"
        "Content-Disposition: attachment; filename*0*=utf-8''%E6%97%A5%E6%9C%AC;\n"
        " filename*1*=%E8%AA%9E.bin\n\nbinary\n"
        "--m--\n"
    )
    return crlf(head + body), "foreign@example.test"


async def test_charsets_other_than_utf8_in_headers_text_and_filenames(box: Mailbox) -> None:
    message = await box.append(foreign_message())
    listing = await box.get("messages?path=INBOX")
    [summary] = listing.json()["messages"]
    assert summary["subject"] == "Привет"
    assert summary["from"] == {"name": "Jörg Müller", "address": "joerg@example.test"}
    assert summary["to"] == [{"name": "François", "address": "francois@example.test"}]
    ids = attachment_ids(summary)
    assert list(ids) == ["Résumé.txt", "報告書.pdf", "日本語.bin"]
    assert attachment_ids(message) == ids  # messageNew says the same

    text = {"plain": CHINESE, "html": "<p>Preis: 10 €</p>", "hasMore": False}
    details = await box.get(f"message/{summary['id']}?textType=*")
    assert details.json()["text"] == {**summary["text"], **text}
    assert (await box.get(f"text/{summary['text']['id']}")).json() == text

    resume = await box.get(f"attachment/{ids['Résumé.txt']}")
    assert resume.body == b"Caf\xe9"  # the sender's bytes, in the sender's charset
    assert resume.headers["content-type"] == "text/plain; charset=iso-8859-1"
    assert resume.headers["content-disposition"].endswith("UTF-8''R%C3%A9sum%C3%A9.txt")
    report = await box.get(f"attachment/{ids['報告書.pdf']}")
    assert report.body == b"%PDF-1.4"
    assert report.headers["content-disposition"] == (
        "attachment; filename=\"___.pdf\"; filename*=UTF-8''%E5%A0%B1%E5%91%8A%E6%9B%B8.pdf"
    )
    split = await box.get(f"attachment/{ids['日本語.bin']}")
    assert split.headers["content-disposition"].endswith("UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.bin")

    found = await box.api.call(
        "POST", f"/v1/account/{box.account}/search?path=INBOX", {"search": {"subject": "Привет"}}
    )
    assert [m["id"] for m in found.json()["messages"]] == [summary["id"]]


# -- a forwarded message with an attachment of its own -----------------------------------

INNER = crlf(
    "From: Carol <carol@example.test>\nTo: ann@example.test\nSubject: Quarterly numbers\n"
    "Message-ID: <inner@example.test>\nMIME-Version: 1.0\n"
    'Content-Type: multipart/mixed; boundary="i"\n\n'
    "--i\nContent-Type: text/plain; charset=utf-8\n\nNumbers inside.\n"
    '--i\nContent-Type: application/pdf\nContent-Disposition: attachment; filename="numbers.pdf"\n'
    "Content-Transfer-Encoding: base64\n\n"
    f"{base64.b64encode(b'%PDF-1.7 numbers').decode()}\n"
    "--i--\n"
)


def forwarded_message() -> tuple[bytes, str]:
    head = crlf(
        "From: Ann <ann@example.test>\nTo: user@example.test\nSubject: Fwd: Quarterly numbers\n"
        "Message-ID: <outer@example.test>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="o"\n\n'
        "--o\nContent-Type: text/plain; charset=utf-8\n\nSee the forwarded mail.\n"
        '--o\nContent-Type: message/rfc822; name="Quarterly numbers.eml"\n'
        'Content-Disposition: attachment; filename="Quarterly numbers.eml"\n\n'
    )
    return head + INNER + b"\r\n--o--\r\n", "outer@example.test"


async def test_a_forwarded_message_keeps_its_text_and_attachment_to_itself(
    box: Mailbox,
) -> None:
    message = await box.append(forwarded_message())
    details = (await box.get(f"message/{message['id']}?textType=*")).json()
    # one attachment, the forwarded message; its text is not the outer message's (weakness 11)
    [attached] = details["attachments"]
    assert attached["contentType"] == "message/rfc822"
    assert attached["filename"] == "Quarterly numbers.eml"
    assert details["text"]["plain"] == "See the forwarded mail."
    assert "html" not in details["text"] and details["text"]["hasMore"] is False
    assert decode_text_id(details["text"]["id"]).plain == ("1",)
    own_text = await box.get(f"text/{details['text']['id']}")
    assert own_text.json() == {"plain": "See the forwarded mail.", "hasMore": False}

    eml = await box.get(f"attachment/{attached['id']}")
    assert eml.status == 200 and eml.body == INNER  # byte for byte
    assert eml.headers["content-type"] == "message/rfc822"
    assert eml.headers["content-disposition"].startswith(
        'attachment; filename="Quarterly numbers.eml"'
    )

    # ids the reference made for the inner parts (it listed them) keep working
    folder_id, uid = decode_message_id(message["id"])
    inner_pdf = await box.get(f"attachment/{encode_attachment_id(folder_id, uid, '2.2')}")
    assert inner_pdf.body == b"%PDF-1.7 numbers"
    assert inner_pdf.headers["content-disposition"].startswith('attachment; filename="numbers.pdf"')
    merged = encode_text_id(folder_id, uid, ["1", "2.1"], [], [])
    assert (await box.get(f"text/{merged}")).json() == {
        "plain": "See the forwarded mail.\nNumbers inside.",
        "hasMore": False,
    }
    missing = encode_attachment_id(folder_id, uid, "2.3")
    assert_error(await box.get(f"attachment/{missing}"), 404, "AttachmentNotFound")


# -- stale ids after a folder reset ------------------------------------------------------


async def other_client_flags(other: OtherClient, path: str) -> dict[int, set[str]]:
    """UID -> flags of each message in ``path`` as another client sees them (no \\Recent,
    which only the first session to look sees)."""
    found: dict[int, set[str]] = await imap_flags(other, path)
    return {uid: flags - {"\\Recent"} for uid, flags in found.items()}


async def test_stale_ids_after_a_folder_reset_change_nothing(box: Mailbox) -> None:
    folder = f"/v1/account/{box.account}/mailbox"
    assert (await box.api.call("POST", folder, {"path": "Box"})).status == 200
    old = await box.append(made(message_bytes("old one")), "Box")
    assert (await box.api.call("DELETE", f"{folder}?path=Box")).status == 200
    assert (await box.api.call("POST", folder, {"path": "Box"})).json()["created"]
    new = await box.append(made(message_bytes("new one")), "Box")
    assert new["uid"] == old["uid"] and new["id"] != old["id"]  # same UID, new UIDVALIDITY

    message = f"/v1/account/{box.account}/message/{old['id']}"
    for method, path, body in (
        ("PUT", message, {"flags": {"add": ["\\Flagged"]}}),
        ("PUT", f"{message}/move", {"path": "Archive"}),
        ("DELETE", message, None),
        ("DELETE", f"{message}?force=true", None),
    ):
        assert_error(await box.api.call(method, path, body), 404, "MessageNotFound")
    bulk = f"/v1/account/{box.account}/messages?path=Box"
    stale_bulk = await box.api.call("PUT", bulk, {"ids": [old["id"]], "flags": {"set": []}})
    assert_error(stale_bulk, 400, "InvalidInput")
    assert [field["key"] for field in stale_bulk.json()["fields"]] == ["ids"]

    # the message that has the old UID now is untouched, where it was
    assert await other_client_flags(box.other, "Box") == {new["uid"]: set()}
    assert await listed(box.api, box.account, "Box") == {"new one": new["id"]}
    assert await listed(box.api, box.account, "Archive") == {}
    assert await listed(box.api, box.account, "Trash") == {}


# -- move and delete, as another client sees them ----------------------------------------


async def test_move_and_delete_as_another_imap_client_sees_them(box: Mailbox) -> None:
    raw, _ = original = made(message_bytes("travelling", "Exactly these bytes.\r\n"))
    await box.other.append("INBOX", "staying")
    message = await box.append(original)
    base = f"/v1/account/{box.account}/message"
    flags = {"flags": {"add": ["\\Flagged", "$Work"]}}
    assert (await box.api.call("PUT", f"{base}/{message['id']}", flags)).status == 200

    moved = (await box.api.call("PUT", f"{base}/{message['id']}/move", {"path": "Archive"})).json()
    assert (await other_client_flags(box.other, "INBOX")).keys() == {1}  # only "staying" is left
    assert await other_client_flags(box.other, "Archive") == {moved["uid"]: {"\\Flagged", "$Work"}}
    assert (await box.get(f"message/{moved['id']}/source")).body == raw  # the same message

    trashed = (await box.api.call("DELETE", f"{base}/{moved['id']}")).json()
    assert trashed["deleted"] is False and trashed["moved"]["destination"] == "Trash"
    in_trash = decode_message_id(trashed["moved"]["id"])[1]
    assert await other_client_flags(box.other, "Archive") == {}
    assert await other_client_flags(box.other, "Trash") == {in_trash: {"\\Flagged", "$Work"}}

    gone = await box.api.call("DELETE", f"{base}/{trashed['moved']['id']}")
    assert gone.json() == {"deleted": True}
    assert await other_client_flags(box.other, "Trash") == {}
    assert await other_client_flags(box.other, "INBOX") == {1: set()}  # "staying" never touched


# -- events from a real delivery ---------------------------------------------------------


async def test_a_delivery_reaches_the_event_log_the_stream_and_the_webhook(
    api: ApiHarness,
    mail_user: MailUser,
    mailserver: MailServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    account = await api.add_account(mail_user)
    set_url = await api.call("POST", "/v1/settings", {"webhooks": webhook_receiver.url})
    assert set_url.status == 200, set_url.body
    latest = (await api.call("GET", "/v1/stats")).json()["events"]["latest"]
    stream = (
        api.base.replace("http://", "ws://")
        + "/v1/stream?"
        + urlencode({"account": account, "event": "messageNew", "cursor": latest})
    )
    async with open_websocket_url(stream) as ws:
        await trio.to_thread.run_sync(
            mailserver.deliver, mail_user.email, message_bytes("announced")
        )
        with trio.fail_after(DEADLINE):
            frame = json.loads(await ws.get_message())
    assert frame["event"] == "messageNew" and frame["path"] == "INBOX"
    assert frame["data"]["subject"] == "announced"

    logged = await api.call("GET", f"/v1/events?account={account}&event=messageNew")
    [event] = logged.json()["events"]
    assert event == frame

    async def delivered() -> list[Any]:
        return [
            request.json()
            for request in webhook_receiver.requests
            if request.json().get("event") == "messageNew"
        ]

    [hooked] = await wait_until_async(delivered, DEADLINE, 0.1, message="messageNew webhook")
    assert hooked == {key: value for key, value in frame.items() if key != "position"}

    async def caught_up() -> dict[str, Any] | None:
        [destination] = (await api.call("GET", "/v1/webhooks")).json()["destinations"]
        return destination if destination["state"] == "idle" else None

    destination = await wait_until_async(caught_up, DEADLINE, 0.1, message="webhooks idle")
    assert destination["destination"] == "global" and destination["delivered"] >= 1
    assert destination["lag"]["events"] == 0
