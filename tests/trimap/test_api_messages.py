"""The message routes on the real service and Dovecot: paged listing and search (by page and
by cursor, stable while mail comes and goes), message details with headers and text, and every
error answer."""

from __future__ import annotations

import base64
import imaplib
from typing import Any

from tests.fixtures.api_service import ApiHarness
from tests.fixtures.mail_server import MailServer, MailUser
from tests.httpclient import HttpAnswer
from tests.trimap.engine_harness import OtherClient, message_bytes
from trimap.messages.ids import decode_message_id, encode_message_id


def subjects(answer: HttpAnswer) -> list[str]:
    assert answer.status == 200, answer.body
    return [message["subject"] for message in answer.json()["messages"]]


def deliver(mailserver: MailServer, user: MailUser, *subject_list: str, **headers: str) -> None:
    extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    for subject in subject_list:
        mailserver.deliver(
            user.email,
            message_bytes(subject).replace(b"\r\n\r\n", b"\r\n" + extra.encode() + b"\r\n", 1),
        )


async def refused_fields(answer: HttpAnswer) -> set[str]:
    assert answer.status == 400, answer.body
    assert answer.json()["code"] == "InvalidInput"
    return {field["key"] for field in answer.json()["fields"]}


async def test_listing_pages_newest_first_and_cursors_survive_changes(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account = await api.add_account(mail_user)
    deliver(mailserver, mail_user, *(f"m{n}" for n in range(1, 8)))
    url = f"/v1/account/{account}/messages?path=INBOX&pageSize=3"

    first = await api.call("GET", url)
    assert subjects(first) == ["m7", "m6", "m5"]
    page = first.json()
    assert (page["total"], page["page"], page["pages"]) == (7, 0, 3)
    message = page["messages"][0]
    assert message["uid"] == 7 and message["unseen"] is True
    assert message["from"] == {"name": "Ann", "address": "ann@example.test"}
    assert message["to"] == [{"name": "", "address": "bob@example.test"}]
    assert {"id", "date", "size", "messageId", "text"} <= set(message)
    assert "headers" not in message and "flags" not in message  # the extended form only
    assert subjects(await api.call("GET", url + "&page=1")) == ["m4", "m3", "m2"]
    last = await api.call("GET", url + "&page=2")
    assert subjects(last) == ["m1"] and last.json()["nextCursor"] is None
    clamped = await api.call("GET", url + "&page=50")
    assert subjects(clamped) == ["m1"] and clamped.json()["page"] == 2

    # Another client expunges the next page's first message and a new one arrives.
    other = OtherClient(mailserver, mail_user)
    await other.expunge("INBOX", 4)
    await other.append("INBOX", "m8")
    following = await api.call("GET", url + "&cursor=" + page["nextCursor"])
    assert subjects(following) == ["m3", "m2", "m1"]  # nothing shown twice, nothing skipped
    assert following.json()["total"] == 7 and following.json()["nextCursor"] is None
    assert subjects(await api.call("GET", url)) == ["m8", "m7", "m6"]

    folder_id, _ = decode_message_id(message["id"])
    gone = await api.call("GET", f"/v1/account/{account}/message/{encode_message_id(folder_id, 4)}")
    assert gone.status == 404 and gone.json()["code"] == "MessageNotFound"


async def test_listing_pages_across_wide_gaps_between_uids(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account = await api.add_account(mail_user)

    def fill_then_expunge(imap: imaplib.IMAP4) -> None:
        for n in range(1, 31):
            imap.append("INBOX", None, None, message_bytes(f"m{n}"))
        imap.select("INBOX")
        imap.uid("STORE", "2:28", "+FLAGS.SILENT", r"(\Deleted)")
        imap.uid("EXPUNGE", "2:28")

    await OtherClient(mailserver, mail_user).run(fill_then_expunge)
    url = f"/v1/account/{account}/messages?path=INBOX&pageSize=2"
    first = await api.call("GET", url)
    assert subjects(first) == ["m30", "m29"] and first.json()["total"] == 3
    second = await api.call("GET", f"{url}&cursor={first.json()['nextCursor']}")
    assert subjects(second) == ["m1"] and second.json()["page"] == 1
    assert second.json()["nextCursor"] is None
    assert subjects(await api.call("GET", url + "&page=1")) == ["m1"]


async def test_a_reset_folder_makes_ids_and_cursors_stale(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account = await api.add_account(mail_user)
    other = OtherClient(mailserver, mail_user)
    base = f"/v1/account/{account}"
    assert (await api.call("POST", f"{base}/mailbox", {"path": "Box"})).status == 200
    await other.append("Box", "old one")
    await other.append("Box", "old two")
    listed = await api.call("GET", f"{base}/messages?path=Box&pageSize=1")
    assert subjects(listed) == ["old two"]
    old_id, cursor = listed.json()["messages"][0]["id"], listed.json()["nextCursor"]

    assert (await api.call("DELETE", f"{base}/mailbox?path=Box")).status == 200
    assert (await api.call("POST", f"{base}/mailbox", {"path": "Box"})).json()["created"]
    await other.append("Box", "new one")
    await other.append("Box", "new two")  # UID 2 again, in the new folder

    stale = await api.call("GET", f"{base}/message/{old_id}")
    assert stale.status == 404 and stale.json()["code"] == "MessageNotFound"
    expired = await api.call("GET", f"{base}/messages?path=Box&pageSize=1&cursor={cursor}")
    assert expired.status == 410 and expired.json()["code"] == "StaleCursor"
    elsewhere = await api.call("GET", f"{base}/messages?path=INBOX&cursor={cursor}")
    assert elsewhere.status == 410
    assert subjects(await api.call("GET", f"{base}/messages?path=Box")) == ["new two", "new one"]


async def test_listing_requests_are_validated(api: ApiHarness, mail_user: MailUser) -> None:
    account = await api.add_account(mail_user)
    url = f"/v1/account/{account}/messages"
    assert await refused_fields(await api.call("GET", url)) == {"path"}
    bad = "?path=INBOX&pageSize=0&page=-1&colour=red&cursor=bogus"
    assert await refused_fields(await api.call("GET", url + bad)) == {
        "pageSize",
        "page",
        "colour",
        "cursor",
    }
    cursor = base64.urlsafe_b64encode(b"\x01" + bytes(7) + b"\x05").decode().rstrip("=")
    both = await api.call("GET", f"{url}?path=INBOX&page=1&cursor={cursor}")
    assert await refused_fields(both) == {"page"}
    missing = await api.call("GET", f"{url}?path=Nowhere")
    assert missing.status == 404 and missing.json()["code"] == "MailboxNotFound"
    empty = await api.call("GET", f"{url}?path=Trash")
    assert empty.json() == {"total": 0, "page": 0, "pages": 1, "messages": [], "nextCursor": None}


async def test_search_pages_through_matching_messages_only(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account = await api.add_account(mail_user)
    deliver(mailserver, mail_user, "alpha report", "beta", "alpha notes")
    deliver(mailserver, mail_user, "gamma", X_Tag="blue")
    other = OtherClient(mailserver, mail_user)
    await other.store("INBOX", 2, "+FLAGS", "\\Seen")
    await other.store("INBOX", 3, "+FLAGS", "\\Flagged")
    url = f"/v1/account/{account}/search?path=INBOX"

    async def search(criteria: dict[str, Any], query: str = "") -> HttpAnswer:
        return await api.call("POST", url + query, {"search": criteria})

    alpha = await search({"subject": "alpha"})
    assert subjects(alpha) == ["alpha notes", "alpha report"] and alpha.json()["total"] == 2
    assert subjects(await search({"unseen": False})) == ["beta"]
    assert subjects(await search({"flagged": True, "subject": "alpha"})) == ["alpha notes"]
    assert subjects(await search({"header": {"X-Tag": "blue"}})) == ["gamma"]
    assert subjects(await search({"uid": "2:3", "seen": True})) == ["beta"]
    assert subjects(await search({"since": "2000-01-01", "larger": 10})) == [
        "gamma", "alpha notes", "beta", "alpha report",
    ]  # fmt: skip
    assert subjects(await search({"from": "nobody-like-this"})) == []

    first = await search({"subject": "alpha"}, "&pageSize=1")
    assert subjects(first) == ["alpha notes"] and first.json()["pages"] == 2
    second = await search({"subject": "alpha"}, f"&pageSize=1&cursor={first.json()['nextCursor']}")
    assert subjects(second) == ["alpha report"]  # not "beta", UID 2, in between
    assert second.json()["page"] == 1 and second.json()["nextCursor"] is None


async def test_search_requests_are_validated(api: ApiHarness, mail_user: MailUser) -> None:
    account = await api.add_account(mail_user)
    url = f"/v1/account/{account}/search"
    criteria = {"search": {"unseen": "yes", "colour": 1, "header": {"X-Ok": "x", "Bad Name": "y"}}}
    assert await refused_fields(await api.call("POST", url, criteria)) == {
        "path",
        "search.unseen",
        "search.colour",
        "search.header.Bad Name",
    }
    assert await refused_fields(await api.call("POST", url + "?path=INBOX", {"x": 1})) == {
        "x",
        "search",
    }
    not_json = await api.call("POST", url + "?path=INBOX", b"nope", {"Content-Type": "text/plain"})
    assert await refused_fields(not_json) == {"body"}


DETAILED = b"".join(
    [
        b"From: =?utf-8?q?Ann_M=C3=BCller?= <ann@example.test>\r\n",
        b"To: Bob <bob@example.test>\r\nCc: carol@example.test\r\n",
        b"Subject: Details\r\nDate: Tue, 06 Feb 2024 10:00:00 +0000\r\n",
        b"Message-ID: <details@example.test>\r\nX-Tag: blue\r\nMIME-Version: 1.0\r\n",
        b'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n',
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n",
        b"Content-Transfer-Encoding: base64\r\n\r\n",
        base64.encodebytes("Grüße aus Köln\r\n".encode()).replace(b"\n", b"\r\n"),
        b"--b1\r\nContent-Type: text/html; charset=iso-8859-1\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
        b"<p>Gr=FC=DFe aus K=F6ln</p>\r\n--b1--\r\n",
    ]
)


async def test_message_details_with_headers_and_text(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account = await api.add_account(mail_user)
    mailserver.deliver(mail_user.email, DETAILED)
    listed = await api.call("GET", f"/v1/account/{account}/messages?path=INBOX")
    url = f"/v1/account/{account}/message/{listed.json()['messages'][0]['id']}"

    details = (await api.call("GET", url)).json()
    assert details["subject"] == "Details" and details["date"] == "2024-02-06T10:00:00.000Z"
    assert details["from"] == {"name": "Ann Müller", "address": "ann@example.test"}
    assert details["cc"] == [{"name": "", "address": "carol@example.test"}]
    assert details["messageId"] == "<details@example.test>" and details["unseen"] is True
    assert details["headers"]["x-tag"] == ["blue"]
    assert details["headers"]["subject"] == ["Details"]
    assert set(details["text"]) == {"id", "encodedSize"}  # no text unless asked for
    assert set(details["text"]["encodedSize"]) == {"plain", "html"}

    plain = (await api.call("GET", url + "?textType=plain")).json()["text"]
    assert plain["plain"] == "Grüße aus Köln\n" and plain["hasMore"] is False
    assert "html" not in plain
    html = (await api.call("GET", url + "?textType=html")).json()["text"]
    assert html["html"] == "<p>Grüße aus Köln</p>" and "plain" not in html
    both = (await api.call("GET", url + "?textType=*")).json()["text"]
    assert both["plain"].startswith("Grüße") and both["html"].startswith("<p>Grüße")
    cut = (await api.call("GET", url + "?textType=plain&maxBytes=5")).json()["text"]
    assert cut["plain"] == "Grü" and cut["hasMore"] is True  # 5 bytes, "ß" would not fit

    assert (await api.call("GET", url)).json()["unseen"] is True  # reading never sets \Seen


async def test_message_requests_are_validated(api: ApiHarness, mail_user: MailUser) -> None:
    account = await api.add_account(mail_user)
    base = f"/v1/account/{account}/message"
    bad = await api.call("GET", f"{base}/not-an-id?textType=pdf&maxBytes=-1")
    assert await refused_fields(bad) == {"message", "textType", "maxBytes"}
    unknown = await api.call("GET", f"{base}/{encode_message_id(999, 1)}")
    assert unknown.status == 404 and unknown.json()["code"] == "MessageNotFound"
