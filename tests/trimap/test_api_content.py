"""The content routes on the real service and Dovecot: decoded text, attachments streamed
with their transfer encoding undone, the raw message, and every error answer.

Messages are APPENDed by another IMAP client (so the stored bytes are exactly ours) and
their ids taken from the ``messageNew`` events the service logs.  The large-download tests
read through a raw socket with a small receive buffer, so a download can be held mid-way
by simply not reading: the body (over 5 MB) is larger than the kernel's socket buffers
can ever hold (4 MB at most here), so the server is then blocked between two windows.
"""

from __future__ import annotations

import base64
import hashlib
import imaplib
import os
import quopri
import re
import socket
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio

from tests.fixtures.api_service import ApiHarness
from tests.fixtures.mail_server import MailServer, MailUser
from tests.trimap.engine_harness import OtherClient
from tests.waiting import wait_until_async
from trimap.api.content import content_disposition
from trimap.messages.ids import (
    decode_message_id,
    encode_attachment_id,
    encode_message_id,
    encode_text_id,
)

OLD = "2000-01-01T00:00:00.000Z"  # notifyFrom: every appended message is announced
DEADLINE = 30.0

# -- messages ----------------------------------------------------------------------------


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def _headers(subject: str, content_type: str) -> tuple[bytes, str]:
    message_id = f"{uuid.uuid4().hex}@example.test"
    head = _crlf(
        f"From: Sender <sender@example.test>\nTo: user@example.test\nSubject: {subject}\n"
        f"Message-ID: <{message_id}>\nMIME-Version: 1.0\nContent-Type: {content_type}\n\n"
    )
    return head, message_id


FLOWED_QP = "Gr=C3=BC=C3=9Fe aus K=C3=B6ln, \nder Dom =E2=82=AC steht.\n"
JAPANESE = "日本語のテキスト"
RUSSIAN_HTML = "<p>Привет, мир</p>"
NOTES = "Notizen: Bücher, Äpfel und 100 € – überall.\n"
CSV = "a,b\n1,2\n"
RESUME = os.urandom(300)


def text_message() -> tuple[bytes, str]:
    """Plain (flowed, QP) + html (windows-1251, base64), a second plain part in ISO-2022-JP,
    a calendar, and three attachments: QP text, base64 binary with a non-ASCII name, 7bit."""
    head, message_id = _headers("Texts", 'multipart/mixed; boundary="outer"')
    html = base64.encodebytes(RUSSIAN_HTML.encode("cp1251")).decode()
    japanese = JAPANESE.encode("iso2022_jp").decode("ascii")
    notes = quopri.encodestring(NOTES.encode()).decode()
    resume = base64.encodebytes(RESUME).decode()
    body = (
        "--outer\n"
        'Content-Type: multipart/alternative; boundary="inner"\n\n'
        "--inner\n"
        "Content-Type: text/plain; charset=utf-8; format=flowed\n"
        f"Content-Transfer-Encoding: quoted-printable\n\n{FLOWED_QP}\n"
        "--inner\n"
        "Content-Type: text/html; charset=windows-1251\n"
        f"Content-Transfer-Encoding: base64\n\n{html}\n"
        "--inner--\n\n"
        "--outer\n"
        f"Content-Type: text/plain; charset=ISO-2022-JP\n\n{japanese}\n\n"
        "--outer\n"
        "Content-Type: text/calendar; charset=utf-8\n\nBEGIN:VCALENDAR\nEND:VCALENDAR\n\n"
        "--outer\n"
        "Content-Type: text/plain; charset=utf-8\n"
        'Content-Disposition: attachment; filename="notes.txt"\n'
        f"Content-Transfer-Encoding: quoted-printable\n\n{notes}\n"
        "--outer\n"
        "Content-Type: application/octet-stream\n"
        "Content-Disposition: attachment; filename*=UTF-8''R%C3%A9sum%C3%A9%20%E2%82%AC.bin\n"
        f"Content-Transfer-Encoding: base64\n\n{resume}\n"
        "--outer\n"
        'Content-Type: text/csv; charset="us-ascii"\n'
        'Content-Disposition: attachment; filename="table.csv"\n\n'
        f"{CSV}\n"
        "--outer--\n"
    )
    return head + _crlf(body), message_id


LONG_TEXT = "Grüße " * 3000  # 8 UTF-8 bytes per "Grüße ", 16 quoted-printable bytes


def big_message(payload: bytes) -> tuple[bytes, str]:
    """A long QP text and ``payload`` as a base64 attachment: over 5 MB."""
    head, message_id = _headers("Big", 'multipart/mixed; boundary="big"')
    text = quopri.encodestring(LONG_TEXT.encode()).decode()
    data = base64.encodebytes(payload).decode()
    body = (
        "--big\n"
        "Content-Type: text/plain; charset=utf-8\n"
        f"Content-Transfer-Encoding: quoted-printable\n\n{text}\n"
        "--big\n"
        "Content-Type: application/octet-stream\n"
        'Content-Disposition: attachment; filename="random.bin"\n'
        f"Content-Transfer-Encoding: base64\n\n{data}\n"
        "--big--\n"
    )
    return head + _crlf(body), message_id


# -- helpers -----------------------------------------------------------------------------


@dataclass
class Mailbox:
    """A connected account and another IMAP client changing its mailbox."""

    api: ApiHarness
    account: str
    other: OtherClient

    async def append_quietly(self, made: tuple[bytes, str], path: str = "INBOX") -> int:
        """APPEND ``made`` (raw, Message-ID) to ``path``; its UID (APPENDUID)."""

        def appending(imap: imaplib.IMAP4) -> int:
            status, answer = imap.append(path, None, None, made[0])
            assert status == "OK"
            found = re.search(rb"APPENDUID \d+ (\d+)", answer[0])
            assert found is not None, answer
            return int(found[1])

        uid: int = await self.other.run(appending)
        return uid

    async def append(self, made: tuple[bytes, str], path: str = "INBOX") -> dict[str, Any]:
        """APPEND ``made`` to ``path``; the message object its ``messageNew`` announced."""
        await self.append_quietly(made, path)
        message_id = made[1]
        events = f"/v1/events?account={self.account}&event=messageNew&limit=1000"

        async def announced() -> dict[str, Any] | None:
            for event in (await self.api.call("GET", events)).json()["events"]:
                if event["path"] == path and event["data"].get("messageId") == f"<{message_id}>":
                    data: dict[str, Any] = event["data"]
                    return data
            return None

        return await wait_until_async(announced, DEADLINE, message=f"messageNew {message_id}")

    async def get(self, path: str = "") -> Any:
        """GET ``/v1/account/<account>[/<path>]``."""
        suffix = f"/{path}" if path else ""
        return await self.api.call("GET", f"/v1/account/{self.account}{suffix}")


@pytest.fixture
async def box(api: ApiHarness, mail_user: MailUser, mailserver: MailServer) -> Mailbox:
    """A fresh test-bed user's account, connected, and another client on its mailbox."""
    account = await api.add_account(mail_user, notifyFrom=OLD)
    return Mailbox(api, account, OtherClient(mailserver, mail_user))


def attachment_ids(message: dict[str, Any]) -> dict[str, str]:
    return {item["filename"]: item["id"] for item in message["attachments"]}


def assert_error(answer: Any, status: int, code: str) -> None:
    assert answer.status == status, answer.body
    body = answer.json()
    assert body["statusCode"] == status and body["code"] == code
    assert set(body) >= {"statusCode", "error", "message", "code"}


def assert_invalid(answer: Any, key: str) -> None:
    assert_error(answer, 400, "InvalidInput")
    assert [field["key"] for field in answer.json()["fields"]] == [key]


async def expunge(other: OtherClient, path: str, uid: int) -> None:
    def expunging(imap: imaplib.IMAP4) -> None:
        imap.select(path)
        imap.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
        imap.expunge()

    await other.run(expunging)


class RawDownload:
    """A GET read through a socket with a small receive buffer, as slowly as the test likes."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.headers: dict[str, str] = {}
        self.body = b""

    @classmethod
    async def start(cls, api: ApiHarness, path: str) -> RawDownload:
        address = urlsplit(api.base)
        sock = trio.socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        await sock.connect((address.hostname, address.port))
        download = cls(trio.SocketStream(sock))
        request = f"GET {path} HTTP/1.1\r\nHost: {address.netloc}\r\nConnection: close\r\n\r\n"
        await download.stream.send_all(request.encode())
        buffer = b""
        with trio.fail_after(DEADLINE):
            while b"\r\n\r\n" not in buffer:
                chunk = await download.stream.receive_some(65536)
                assert chunk, "closed before the headers"
                buffer += chunk
        head, _, download.body = buffer.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        assert status.split()[1] == "200", status
        for line in lines:
            name, _, value = line.partition(":")
            download.headers[name.strip().lower()] = value.strip()
        return download

    async def read_rest(self) -> bytes:
        """The body up to its Content-Length, or until the server ends the connection."""
        length = int(self.headers["content-length"])
        with trio.fail_after(DEADLINE * 2):
            try:
                while len(self.body) < length:
                    chunk = await self.stream.receive_some(256 * 1024)
                    if not chunk:
                        break
                    self.body += chunk
            except trio.BrokenResourceError:  # reset
                pass
        await self.stream.aclose()
        return self.body


# -- text --------------------------------------------------------------------------------

FLOWED = "Grüße aus Köln, der Dom € steht.\n"
PLAIN = FLOWED + "\n" + JAPANESE + "\n"
CALENDAR = "BEGIN:VCALENDAR\nEND:VCALENDAR\n"


async def test_text_in_every_charset_and_encoding(box: Mailbox) -> None:
    message = await box.append(text_message())
    text = f"text/{message['text']['id']}"

    everything = await box.get(text)
    assert everything.status == 200, everything.body
    assert everything.json() == {
        "plain": PLAIN,
        "html": RUSSIAN_HTML,
        "calendar": CALENDAR,
        "hasMore": False,
    }
    assert list(everything.json()) == ["plain", "html", "calendar", "hasMore"]
    assert (await box.get(text + "?textType=*")).json() == everything.json()
    assert (await box.get(text + "?textType=plain")).json() == {"plain": PLAIN, "hasMore": False}
    html = (await box.get(text + "?textType=html")).json()
    assert html == {"html": RUSSIAN_HTML, "hasMore": False}
    exact = (await box.get(text + f"?maxBytes={len(PLAIN.encode())}")).json()
    assert exact["plain"] == PLAIN and exact["hasMore"] is False

    # message details decode the same parts the same way (trimap.mailbox.text for both)
    details = await box.get(f"message/{message['id']}?textType=*")
    assert details.status == 200, details.body
    assert details.json()["text"]["plain"] == PLAIN
    assert details.json()["text"]["html"] == RUSSIAN_HTML

    # "Grü": 'ü' takes bytes 3 and 4, so 3 bytes stop before it and 4 take it
    cut = (await box.get(text + "?maxBytes=3")).json()
    assert cut == {"plain": "Gr", "html": "<p>", "calendar": "BEG", "hasMore": True}
    four = (await box.get(text + "?textType=plain&maxBytes=4")).json()
    assert four == {"plain": "Grü", "hasMore": True}


async def test_text_of_a_long_part_is_fetched_in_part(box: Mailbox) -> None:
    message = await box.append(big_message(b"small"))
    text = f"text/{message['text']['id']}"

    assert (await box.get(text)).json() == {"plain": LONG_TEXT, "hasMore": False}
    # 125 times "Grüße " is 1000 bytes; then "Gr" fits in 1003, "ü" does not
    cut = (await box.get(text + "?maxBytes=1003")).json()
    assert cut == {"plain": "Grüße " * 125 + "Gr", "hasMore": True}
    assert (await box.get(text + "?textType=html")).json() == {"html": "", "hasMore": False}


async def test_text_requests_are_validated(box: Mailbox) -> None:
    message = await box.append(text_message())
    text = f"text/{message['text']['id']}"
    for query in ("textType=calendar", "maxBytes=-1", "maxBytes=x", "colour=red"):
        assert_error(await box.get(f"{text}?{query}"), 400, "InvalidInput")
    bad = (await box.get(f"{text}?textType=pdf&maxBytes=2000000000")).json()
    assert {field["key"] for field in bad["fields"]} == {"textType", "maxBytes"}
    for garbage in ("garbage!", "AAAA", message["id"], "A" * 5000):
        assert_invalid(await box.get(f"text/{garbage}"), "text")
    folder_id, uid = decode_message_id(message["id"])
    for folder_and_uid in ((folder_id, uid + 100), (folder_id + 100, uid)):
        no_message = encode_text_id(*folder_and_uid, ["1.1"], [], [])
        assert_error(await box.get(f"text/{no_message}"), 404, "MessageNotFound")
    unknown = await box.api.call("GET", f"/v1/account/nobody/{text}")
    assert_error(unknown, 404, "AccountNotFound")


# -- attachments -------------------------------------------------------------------------


async def test_attachments_are_decoded_with_their_names(box: Mailbox) -> None:
    ids = attachment_ids(await box.append(text_message()))

    notes = await box.get(f"attachment/{ids['notes.txt']}")
    assert notes.status == 200 and notes.body == NOTES.replace("\n", "\r\n").encode()
    assert notes.headers["content-type"] == "text/plain; charset=utf-8"
    assert notes.headers["content-disposition"] == (
        "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt"
    )
    assert "content-length" not in notes.headers  # decoded length unknown beforehand

    resume = await box.get(f"attachment/{ids['Résumé €.bin']}")
    assert resume.status == 200 and resume.body == RESUME
    assert resume.headers["content-type"] == "application/octet-stream"
    assert resume.headers["content-disposition"] == (
        "attachment; filename=\"Resume _.bin\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%E2%82%AC.bin"
    )

    table = await box.get(f"attachment/{ids['table.csv']}")
    assert table.body == CSV.replace("\n", "\r\n").encode()
    assert table.headers["content-type"] == "text/csv; charset=us-ascii"
    assert table.headers["content-length"] == str(len(table.body))  # 7bit: exact


async def test_attachment_errors(box: Mailbox) -> None:
    message = await box.append(text_message())
    folder_id, uid = decode_message_id(message["id"])

    no_part = encode_attachment_id(folder_id, uid, "9")
    assert_error(await box.get(f"attachment/{no_part}"), 404, "AttachmentNotFound")
    for garbage in ("garbage!", "AAAA", message["id"], "A" * 5000):
        assert_invalid(await box.get(f"attachment/{garbage}"), "attachment")
    assert_invalid(await box.get(f"attachment/{no_part}?download=1"), "download")
    for folder_and_uid in ((folder_id, uid + 100), (folder_id + 100, uid)):
        no_message = encode_attachment_id(*folder_and_uid, "2")
        assert_error(await box.get(f"attachment/{no_message}"), 404, "MessageNotFound")
    unknown = await box.api.call("GET", f"/v1/account/nobody/attachment/{no_part}")
    assert_error(unknown, 404, "AccountNotFound")


def test_content_disposition_gives_an_ascii_fallback_and_utf8() -> None:
    assert content_disposition(None) == "attachment"
    assert content_disposition("") == "attachment"
    assert content_disposition('a "quoted"\\name.txt') == (
        "attachment; filename=\"a _quoted__name.txt\"; filename*=UTF-8''a%20%22quoted%22_name.txt"
    )
    assert content_disposition("../etc/passwd\r\n") == (
        "attachment; filename=\".._etc_passwd__\"; filename*=UTF-8''.._etc_passwd__"
    )
    assert content_disposition("報告書.pdf") == (
        "attachment; filename=\"___.pdf\"; filename*=UTF-8''%E5%A0%B1%E5%91%8A%E6%9B%B8.pdf"
    )
    assert content_disposition("x" * 1000).count("x") == 2 * 255


# -- the whole message, large downloads --------------------------------------------------


async def test_large_downloads_are_exact_and_leave_room_for_other_requests(box: Mailbox) -> None:
    payload = os.urandom(3_800_000)
    raw, _ = made = big_message(payload)
    assert len(raw) > 5_000_000
    message = await box.append(made)
    small = await box.append(text_message())

    attachment = await box.get(f"attachment/{attachment_ids(message)['random.bin']}")
    assert attachment.status == 200
    assert hashlib.sha256(attachment.body).digest() == hashlib.sha256(payload).digest()
    assert "content-length" not in attachment.headers

    source_path = f"/v1/account/{box.account}/message/{message['id']}/source"
    download = await RawDownload.start(box.api, source_path)
    assert download.headers["content-type"] == "message/rfc822"
    assert download.headers["content-length"] == str(len(raw)) == str(message["size"])
    assert download.headers["content-disposition"] == f'attachment; filename="{message["id"]}.eml"'
    # the download is held mid-way (nothing more is read); the account still answers
    with trio.fail_after(DEADLINE):
        meanwhile = await box.get(f"text/{small['text']['id']}")
    assert meanwhile.status == 200 and meanwhile.json()["html"] == RUSSIAN_HTML
    body = await download.read_rest()
    assert hashlib.sha256(body).digest() == hashlib.sha256(raw).digest()


async def test_interrupted_downloads(box: Mailbox) -> None:
    raw, _ = made = big_message(os.urandom(3_800_000))
    message = await box.append(made)
    source_path = f"/v1/account/{box.account}/message/{message['id']}/source"
    before = (await box.get()).json()["counters"]

    # a client that goes away mid-download costs the account nothing
    gone = await RawDownload.start(box.api, source_path)
    await gone.stream.aclose()
    with trio.fail_after(DEADLINE):
        assert (await box.get(f"text/{message['text']['id']}")).status == 200
    after = (await box.get()).json()
    assert after["state"] == "connected" and after["counters"] == before

    # a message deleted mid-download: the body ends short of Content-Length, never "complete"
    held = await RawDownload.start(box.api, source_path)
    await expunge(box.other, "INBOX", message["uid"])
    body = await held.read_rest()
    assert 0 < len(body) < len(raw) == int(held.headers["content-length"])
    assert body == raw[: len(body)]
    assert_error(await box.api.call("GET", source_path), 404, "MessageNotFound")
    assert_error(await box.get(f"text/{message['text']['id']}"), 404, "MessageNotFound")


async def test_source_errors_and_stale_ids(box: Mailbox) -> None:
    folder = f"/v1/account/{box.account}/mailbox"
    assert (await box.api.call("POST", folder, {"path": "Stale"})).status == 200
    raw, _ = made = text_message()
    old = await box.append(made, "Stale")
    source = await box.get(f"message/{old['id']}/source")
    assert source.status == 200 and source.body == raw

    # the folder deleted and re-created: UID 1 is another message now, the old ids name none
    assert (await box.api.call("DELETE", f"{folder}?path=Stale")).status == 200
    assert (await box.api.call("POST", folder, {"path": "Stale"})).status == 200
    assert await box.append_quietly(text_message(), "Stale") == old["uid"]
    for path in (
        f"message/{old['id']}/source",
        f"text/{old['text']['id']}",
        f"attachment/{attachment_ids(old)['notes.txt']}",
    ):
        assert_error(await box.get(path), 404, "MessageNotFound")

    for garbage in ("garbage!", "AAAA", old["text"]["id"]):
        assert_invalid(await box.get(f"message/{garbage}/source"), "message")
    folder_id, uid = decode_message_id(old["id"])
    no_message = encode_message_id(folder_id, uid + 100)
    assert_error(await box.get(f"message/{no_message}/source"), 404, "MessageNotFound")
    unknown = await box.api.call("GET", f"/v1/account/nobody/message/{old['id']}/source")
    assert_error(unknown, 404, "AccountNotFound")


async def test_an_account_without_a_connection_is_a_503(api: ApiHarness) -> None:
    account = "no-server"
    body = {
        "account": account,
        "name": "No server",
        "imap": {"host": "127.0.0.1", "port": 1, "auth": {"user": "u", "pass": "p"}},
    }
    assert (await api.call("POST", "/v1/account", body)).status == 200
    await api.wait_state(account, "connectError")
    for path in (
        f"text/{encode_text_id(1, 1, ['1'], [], [])}",
        f"attachment/{encode_attachment_id(1, 1, '2')}",
        f"message/{encode_message_id(1, 1)}/source",
    ):
        assert_error(await api.call("GET", f"/v1/account/{account}/{path}"), 503, "connectError")
