"""The routes that change messages, on the real service and Dovecot: flags (and the
``messageUpdated`` they cause), move with a usable new id, delete to Trash or expunge (other
``\\Deleted`` mail survives), the bulk routes by ids and by search, and every error answer."""

from __future__ import annotations

import imaplib
import re
from typing import Any
from urllib.parse import quote

import pytest
import trio

from tests.fixtures.api_service import ApiHarness
from tests.fixtures.mail_server import MailServer, MailUser
from tests.httpclient import HttpAnswer
from tests.trimap.engine_harness import OtherClient, message_bytes
from tests.waiting import wait_until_async
from trimap.api import message_actions
from trimap.messages.ids import decode_message_id, encode_message_id


async def deliver(mailserver: MailServer, user: MailUser, *subjects: str) -> None:
    for subject in subjects:
        await trio.to_thread.run_sync(mailserver.deliver, user.email, message_bytes(subject))


async def with_mail(
    api: ApiHarness, user: MailUser, mailserver: MailServer, *subjects: str, **imap: Any
) -> tuple[str, dict[str, str]]:
    """A new account of ``user`` whose INBOX holds ``subjects``, and their ids by subject."""
    account = await api.add_account(user, **({"imap": imap} if imap else {}))
    await deliver(mailserver, user, *subjects)
    return account, await listed(api, account)


async def listed(api: ApiHarness, account: str, path: str = "INBOX") -> dict[str, str]:
    """Subject -> id of the messages in ``path``."""
    answer = await api.call("GET", f"/v1/account/{account}/messages?path={quote(path)}")
    assert answer.status == 200, answer.body
    return {message["subject"]: message["id"] for message in answer.json()["messages"]}


async def events(api: ApiHarness, account: str, kind: str) -> list[dict[str, Any]]:
    answer = await api.call("GET", f"/v1/events?account={account}&event={kind}&limit=1000")
    assert answer.status == 200, answer.body
    return answer.json()["events"]


def imap_flags(other: OtherClient, path: str) -> Any:
    """UID -> flags of every message in ``path``, read by another client."""

    def read(imap: imaplib.IMAP4) -> dict[int, set[str]]:
        imap.select(f'"{path}"', readonly=True)
        status, lines = imap.uid("FETCH", "1:*", "(FLAGS)")
        assert status == "OK"
        found = {}
        for line in lines:
            if isinstance(line, bytes) and (
                match := re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line)
            ):
                found[int(match[1])] = set(match[2].decode().split())
        return found

    return other.run(read)


def error(answer: HttpAnswer, status: int, code: str) -> dict[str, Any]:
    assert answer.status == status, answer.body
    body = answer.json()
    assert body["statusCode"] == status and body["code"] == code and body["message"]
    return body


def refused_keys(answer: HttpAnswer) -> set[str]:
    return {field["key"] for field in error(answer, 400, "InvalidInput")["fields"]}


async def test_flags_are_changed_announced_and_checked(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account, ids = await with_mail(api, mail_user, mailserver, "one")
    message = ids["one"]
    url = f"/v1/account/{account}/message/{message}"
    other = OtherClient(mailserver, mail_user)
    uid = decode_message_id(message)[1]

    added = await api.call("PUT", url, {"flags": {"add": ["\\Seen", "$Work"]}})
    assert added.json() == {"flags": {"add": True}}
    assert (await imap_flags(other, "INBOX"))[uid] == {"\\Seen", "$Work"}

    async def announced() -> bool:
        found = [
            e for e in await events(api, account, "messageUpdated") if e["data"]["id"] == message
        ]
        return bool(found) and "$Work" in found[-1]["data"]["changes"]["flags"]["value"]

    await wait_until_async(announced, 30, 0.1, message="messageUpdated with $Work")

    both = await api.call("PUT", url, {"flags": {"add": ["\\Flagged"], "delete": ["$Work"]}})
    assert both.json() == {"flags": {"add": True, "delete": True}}
    assert (await imap_flags(other, "INBOX"))[uid] == {"\\Seen", "\\Flagged"}
    replaced = await api.call(
        "PUT", url, {"flags": {"set": ["\\Answered"], "add": ["$Ignored"], "delete": ["\\Seen"]}}
    )
    assert replaced.json() == {"flags": {"set": True}}  # set wins
    assert (await imap_flags(other, "INBOX"))[uid] == {"\\Answered"}

    labels = await api.call("PUT", url, {"labels": {"add": ["Work"]}})
    error(labels, 422, "LabelsUnsupported")
    assert refused_keys(await api.call("PUT", url, {"flags": {"add": ["a b"], "drop": []}})) == {
        "flags.add.0",
        "flags.drop",
    }
    assert refused_keys(await api.call("PUT", url, {"flags": {"set": "x"}, "colour": 1})) == {
        "flags.set",
        "colour",
    }
    assert refused_keys(await api.call("PUT", url, {"flags": {"add": ["x" * 129]}})) == {
        "flags.add.0"
    }

    await other.expunge("INBOX", uid)
    gone = await api.call("PUT", url, {"flags": {"add": ["\\Seen"]}})
    error(gone, 404, "MessageNotFound")
    never = encode_message_id(decode_message_id(message)[0], 999)
    error(
        await api.call("PUT", f"/v1/account/{account}/message/{never}", {"flags": {}}),
        404,
        "MessageNotFound",
    )
    nonsense = await api.call("PUT", f"/v1/account/{account}/message/nonsense", {"flags": {}})
    assert refused_keys(nonsense) == {"message"}
    error(
        await api.call("PUT", f"/v1/account/nobody/message/{message}", {"flags": {}}),
        404,
        "AccountNotFound",
    )


async def test_move_answers_a_new_id_that_works(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account, ids = await with_mail(api, mail_user, mailserver, "travelling")
    message = ids["travelling"]
    url = f"/v1/account/{account}/message/{message}/move"

    moved = await api.call("PUT", url, {"path": "Archive"})
    assert moved.status == 200, moved.body
    answer = moved.json()
    assert answer["path"] == "Archive" and decode_message_id(answer["id"])[1] == answer["uid"]
    details = await api.call("GET", f"/v1/account/{account}/message/{answer['id']}")
    assert details.status == 200 and details.json()["subject"] == "travelling"
    assert await listed(api, account) == {}
    error(await api.call("PUT", url, {"path": "Archive"}), 404, "MessageNotFound")

    back = f"/v1/account/{account}/message/{answer['id']}/move"
    error(await api.call("PUT", back, {"path": "No such folder"}), 404, "MailboxNotFound")
    assert refused_keys(await api.call("PUT", back, {"path": ""})) == {"path"}
    assert refused_keys(await api.call("PUT", back, {"path": "a\x00b", "x": 1})) == {"path", "x"}
    assert refused_keys(await api.call("PUT", back, b"[]")) == {"body"}


async def test_delete_moves_to_trash_and_expunges_only_that_message(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account = await api.add_account(mail_user)
    other = OtherClient(mailserver, mail_user)
    await other.append("Trash", "already deleted", flags="\\Deleted")
    await deliver(mailserver, mail_user, "unwanted", "marked", "forced")
    ids = await listed(api, account)
    marked_uid = decode_message_id(ids["marked"])[1]
    await other.store("INBOX", marked_uid, "+FLAGS", "\\Deleted")

    first = await api.call("DELETE", f"/v1/account/{account}/message/{ids['unwanted']}")
    assert first.status == 200, first.body
    answer = first.json()
    assert answer["deleted"] is False and answer["moved"]["destination"] == "Trash"
    in_trash = answer["moved"]["id"]
    assert (await listed(api, account, "Trash")).get("unwanted") == in_trash

    second = await api.call("DELETE", f"/v1/account/{account}/message/{in_trash}")
    assert second.json() == {"deleted": True}
    assert set(await listed(api, account, "Trash")) == {"already deleted"}  # \Deleted, kept

    forced = await api.call("DELETE", f"/v1/account/{account}/message/{ids['forced']}?force=true")
    assert forced.json() == {"deleted": True}
    assert set(await listed(api, account)) == {"marked"}  # \Deleted too, and kept
    assert "\\Deleted" in (await imap_flags(other, "INBOX"))[marked_uid]

    async def announced() -> bool:
        deleted = {e["data"]["id"] for e in await events(api, account, "messageDeleted")}
        return {ids["unwanted"], in_trash, ids["forced"]} <= deleted

    await wait_until_async(announced, 30, 0.1, message="messageDeleted for each")
    error(
        await api.call("DELETE", f"/v1/account/{account}/message/{ids['forced']}"),
        404,
        "MessageNotFound",
    )
    assert refused_keys(
        await api.call("DELETE", f"/v1/account/{account}/message/AA?force=maybe&x=1")
    ) == {"force", "x", "message"}


async def test_bulk_flags_by_ids_and_by_search(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account, ids = await with_mail(
        api, mail_user, mailserver, "bulk a", "bulk b", "other", "bulk c"
    )
    url = f"/v1/account/{account}/messages?path=INBOX"
    other = OtherClient(mailserver, mail_user)
    uid = {subject: decode_message_id(message)[1] for subject, message in ids.items()}

    by_ids = await api.call(
        "PUT", url, {"ids": [ids["bulk a"], ids["other"]], "flags": {"add": ["\\Seen"]}}
    )
    assert by_ids.json() == {"matched": 2, "flags": {"add": True}}
    by_search = await api.call(
        "PUT", url, {"search": {"subject": "bulk", "unseen": True}, "flags": {"add": ["\\Flagged"]}}
    )
    assert by_search.json() == {"matched": 2, "flags": {"add": True}}
    flags = await imap_flags(other, "INBOX")
    assert flags[uid["bulk a"]] == {"\\Seen"} and flags[uid["other"]] == {"\\Seen"}
    assert flags[uid["bulk b"]] == flags[uid["bulk c"]] == {"\\Flagged"}

    await other.expunge("INBOX", uid["bulk b"])
    cleared = await api.call(
        "PUT", url, {"ids": [ids["bulk b"], ids["bulk c"]], "flags": {"set": []}}
    )
    assert cleared.json() == {"matched": 1, "flags": {"set": True}}  # bulk b is gone
    assert (await imap_flags(other, "INBOX"))[uid["bulk c"]] == set()
    nothing = await api.call(
        "PUT", url, {"search": {"subject": "absent"}, "flags": {"add": ["\\Seen"]}}
    )
    assert nothing.json() == {"matched": 0, "flags": {"add": True}}

    moved = await api.call(
        "PUT", f"/v1/account/{account}/message/{ids['other']}/move", {"path": "Archive"}
    )
    foreign = await api.call("PUT", url, {"ids": [ids["bulk a"], moved.json()["id"]], "flags": {}})
    assert refused_keys(foreign) == {"ids"}
    assert refused_keys(await api.call("PUT", url, {"flags": {}})) == {"ids"}
    both = {"ids": [ids["bulk a"]], "search": {}, "flags": {}}
    assert refused_keys(await api.call("PUT", url, both)) == {"ids"}
    assert refused_keys(await api.call("PUT", url, {"ids": ["x", 5], "flags": {}})) == {
        "ids.0",
        "ids.1",
    }
    assert refused_keys(await api.call("PUT", url, {"search": {"colour": "red"}})) == {
        "search.colour"
    }
    assert refused_keys(await api.call("PUT", url, {"ids": [], "labels": 1})) == {"ids", "labels"}
    bad_query = await api.call("PUT", f"/v1/account/{account}/messages?x=1", {"search": {}})
    assert refused_keys(bad_query) == {"path", "x"}
    unknown = await api.call("PUT", f"/v1/account/{account}/messages?path=Nope", {"search": {}})
    error(unknown, 404, "MailboxNotFound")
    labels = await api.call("PUT", url, {"search": {}, "labels": {"add": ["x"]}})
    error(labels, 422, "LabelsUnsupported")


async def test_bulk_move_answers_the_new_ids(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account, ids = await with_mail(api, mail_user, mailserver, "keep", "go 1", "go 2")
    url = f"/v1/account/{account}/messages/move?path=INBOX"

    moved = await api.call("PUT", url, {"search": {"subject": "go"}, "path": "Archive"})
    assert moved.status == 200, moved.body
    answer = moved.json()
    assert answer["path"] == "Archive" and answer["moved"] == 2
    archived = await listed(api, account, "Archive")
    assert answer["ids"] == {ids["go 1"]: archived["go 1"], ids["go 2"]: archived["go 2"]}
    assert set(await listed(api, account)) == {"keep"}

    by_ids = await api.call("PUT", url, {"ids": [ids["keep"], ids["go 1"]], "path": "Junk"})
    assert by_ids.json()["moved"] == 1 and list(by_ids.json()["ids"]) == [ids["keep"]]
    assert set(await listed(api, account, "Junk")) == {"keep"}

    error(
        await api.call(
            "PUT",
            f"/v1/account/{account}/messages/move?path=Archive",
            {"search": {}, "path": "Nope"},
        ),
        404,
        "MailboxNotFound",
    )
    assert refused_keys(await api.call("PUT", url, {"search": {}})) == {"body.path"}


async def test_bulk_requests_are_bounded(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(message_actions, "MAX_BULK", 2)
    account, by_subject = await with_mail(api, mail_user, mailserver, "a", "b", "c")
    ids = list(by_subject.values())
    url = f"/v1/account/{account}/messages?path=INBOX"
    too_many = await api.call("PUT", url, {"search": {}, "flags": {"add": ["\\Seen"]}})
    error(too_many, 400, "TooManyMessages")
    assert refused_keys(await api.call("PUT", url, {"ids": ids, "flags": {}})) == {"ids"}
    two = await api.call("PUT", url, {"ids": ids[:2], "flags": {"add": ["\\Seen"]}})
    assert two.json()["matched"] == 2


class CapabilityFilter:
    """A TCP proxy to the test Dovecot that removes capabilities from what it announces."""

    def __init__(self, upstream_port: int, hidden: tuple[bytes, ...]) -> None:
        self.upstream_port = upstream_port
        self.hidden = hidden
        self.port = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._relay, listeners)

    def _filter(self, line: bytes) -> bytes:
        if b"CAPABILITY" not in line.upper():
            return line
        words = line.split(b" ")
        return b" ".join(word for word in words if word.upper().rstrip(b"]") not in self.hidden)

    async def _relay(self, client: trio.SocketStream) -> None:
        server = await trio.open_tcp_stream("127.0.0.1", self.upstream_port)
        async with client, server, trio.open_nursery() as nursery:

            async def upstream() -> None:
                async for chunk in client:
                    await server.send_all(chunk)
                nursery.cancel_scope.cancel()

            async def downstream() -> None:
                pending = b""
                async for chunk in server:
                    *lines, pending = (pending + chunk).split(b"\r\n")
                    if lines:
                        await client.send_all(
                            b"".join(self._filter(line) + b"\r\n" for line in lines)
                        )
                nursery.cancel_scope.cancel()

            nursery.start_soon(upstream)
            nursery.start_soon(downstream)


async def test_without_uidplus_nothing_is_expunged(
    api: ApiHarness,
    mail_user: MailUser,
    mailserver: MailServer,
    nursery: trio.Nursery,
) -> None:
    proxy = CapabilityFilter(mailserver.imap_port, (b"UIDPLUS", b"MOVE"))
    await nursery.start(proxy.run)
    account, ids = await with_mail(api, mail_user, mailserver, "stays", port=proxy.port)
    message = ids["stays"]
    url = f"/v1/account/{account}/message/{message}"
    error(await api.call("DELETE", url + "?force=true"), 422, "UidplusRequired")
    error(await api.call("DELETE", url), 422, "UidplusRequired")  # to Trash: MOVE needs it too
    error(await api.call("PUT", url + "/move", {"path": "Archive"}), 422, "UidplusRequired")
    assert set(await listed(api, account)) == {"stays"}
    flagged = await api.call("PUT", url, {"flags": {"add": ["\\Seen"]}})
    assert flagged.json() == {"flags": {"add": True}}
