"""The folder routes on the real service and Dovecot: listing with counters, create, rename,
(un)subscribe, delete, the events they cause, and every error answer."""

from __future__ import annotations

from typing import Any

from tests.fixtures.api_service import ApiHarness
from tests.fixtures.mail_server import MailServer, MailUser
from tests.trimap.engine_harness import message_bytes
from tests.waiting import wait_until_async
from trimap.messages.ids import encode_message_id


async def mailboxes(api: ApiHarness, account: str) -> dict[str, dict[str, Any]]:
    answer = await api.call("GET", f"/v1/account/{account}/mailboxes")
    assert answer.status == 200, answer.body
    return {entry["path"]: entry for entry in answer.json()["mailboxes"]}


async def wait_for_folder_events(
    api: ApiHarness, account: str, expected: set[tuple[str, str]]
) -> None:
    """Until the event log holds every (event, path) of ``expected`` for ``account``."""

    async def logged() -> bool:
        answer = await api.call(
            "GET", f"/v1/events?account={account}&event=mailboxNew,mailboxDeleted&limit=1000"
        )
        seen = {(event["event"], event["path"]) for event in answer.json()["events"]}
        return expected <= seen

    await wait_until_async(logged, 20, message=f"events {expected}")


async def test_mailboxes_are_listed_live_with_counters(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    account = await api.add_account(mail_user)
    for subject in ("one", "two"):
        mailserver.deliver(mail_user.email, message_bytes(subject))

    answer = await api.call("GET", f"/v1/account/{account}/mailboxes")
    listed = answer.json()["mailboxes"]
    assert [entry["path"] for entry in listed] == [
        "INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash",
    ]  # fmt: skip
    inbox = listed[0]
    assert inbox == {
        "path": "INBOX",
        "name": "INBOX",
        "delimiter": "/",
        "specialUse": "\\Inbox",
        "listed": True,
        "subscribed": False,
        "messages": 2,
        "unseen": 2,
        "uidNext": 3,
    }
    sent = listed[4]
    assert sent["specialUse"] == "\\Sent" and sent["subscribed"] is True
    assert sent["messages"] == 0 and "parentPath" not in sent


async def test_folder_life_cycle_and_its_events(api: ApiHarness, mail_user: MailUser) -> None:
    account = await api.add_account(mail_user)
    base = f"/v1/account/{account}/mailbox"

    created = await api.call("POST", base, {"path": ["Work", "Reports"]})
    assert created.json() == {"path": "Work/Reports", "created": True}
    again = await api.call("POST", base, {"path": "Work/Reports"})
    assert again.status == 200 and again.json() == {"path": "Work/Reports", "created": False}
    utf7 = await api.call("POST", base, {"path": ["Küche & Bad"]})
    assert utf7.json() == {"path": "Küche & Bad", "created": True}
    folders = await mailboxes(api, account)
    reports = folders["Work/Reports"]
    assert reports["name"] == "Reports" and reports["parentPath"] == "Work"
    assert reports["messages"] == 0 and reports["subscribed"] is False
    assert "Küche & Bad" in folders
    await wait_for_folder_events(
        api, account, {("mailboxNew", "Work/Reports"), ("mailboxNew", "Küche & Bad")}
    )

    renamed = await api.call(
        "PUT", base, {"path": "Work/Reports", "newPath": ["Work", "2024"], "subscribed": True}
    )
    assert renamed.json() == {"path": "Work/Reports", "newPath": "Work/2024", "subscribed": True}
    folders = await mailboxes(api, account)
    assert "Work/Reports" not in folders and folders["Work/2024"]["subscribed"] is True
    await wait_for_folder_events(
        api, account, {("mailboxDeleted", "Work/Reports"), ("mailboxNew", "Work/2024")}
    )
    unsubscribed = await api.call("PUT", base, {"path": "Work/2024", "subscribed": False})
    assert unsubscribed.json() == {"path": "Work/2024", "subscribed": False}
    assert (await mailboxes(api, account))["Work/2024"]["subscribed"] is False

    deleted = await api.call("DELETE", f"{base}?path=Work/2024")
    assert deleted.json() == {"path": "Work/2024", "deleted": True}
    assert "Work/2024" not in await mailboxes(api, account)
    await wait_for_folder_events(api, account, {("mailboxDeleted", "Work/2024")})


async def test_folder_changes_that_cannot_be_done(api: ApiHarness, mail_user: MailUser) -> None:
    account = await api.add_account(mail_user)
    base = f"/v1/account/{account}/mailbox"

    missing = await api.call("DELETE", f"{base}?path=Nowhere")
    assert missing.status == 404 and missing.json()["code"] == "MailboxNotFound"
    rename_missing = await api.call("PUT", base, {"path": "Nowhere", "newPath": "Else"})
    assert rename_missing.status == 404 and rename_missing.json()["code"] == "MailboxNotFound"
    taken = await api.call("PUT", base, {"path": "Junk", "newPath": "Sent"})
    assert taken.status == 409 and taken.json()["code"] == "MailboxExists"
    refused = await api.call("DELETE", f"{base}?path=INBOX")
    assert refused.status == 502
    assert refused.json()["code"] == "IMAPError" and "INBOX" in refused.json()["message"]
    assert set(await mailboxes(api, account)) >= {"INBOX", "Junk", "Sent"}


async def test_folder_requests_are_validated(api: ApiHarness, mail_user: MailUser) -> None:
    account = await api.add_account(mail_user)
    base = f"/v1/account/{account}/mailbox"

    async def refused(method: str, path: str, body: Any = None) -> set[str]:
        answer = await api.call(method, path, body)
        assert answer.status == 400, answer.body
        assert answer.json()["code"] == "InvalidInput"
        return {field["key"] for field in answer.json()["fields"]}

    assert await refused("GET", f"/v1/account/{account}/mailboxes?colour=red") == {"colour"}
    assert await refused("POST", base, {"path": "", "colour": 1}) == {"path", "colour"}
    assert await refused("POST", base, {"path": ["Work", 5]}) == {"path"}
    assert await refused("POST", base, {"path": ["a\r\nb"]}) == {"path"}
    assert await refused("POST", base, {"path": ["Work/Reports"]}) == {"path"}  # the delimiter
    assert await refused("POST", base, [1]) == {"body"}
    assert await refused("PUT", base, {"path": "Work"}) == {"newPath"}
    assert await refused("PUT", base, {"path": "Work", "newPath": None}) == {"newPath"}
    assert await refused("PUT", base, {"path": ["Work"], "subscribed": "yes"}) == {
        "path",
        "subscribed",
    }
    assert await refused("DELETE", base) == {"path"}


async def test_routes_of_an_account_without_a_connection_are_503_with_its_state(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    body = {
        "account": "locked-out",
        "name": "Wrong password",
        "imap": {
            "host": "127.0.0.1",
            "port": mailserver.imap_port,
            "secure": False,
            "auth": {"user": mail_user.user, "pass": "not the password"},
        },
    }
    assert (await api.call("POST", "/v1/account", body)).status == 200
    await api.wait_state("locked-out", "authenticationError")
    for method, path, sent in (
        ("GET", "/v1/account/locked-out/mailboxes", None),
        ("POST", "/v1/account/locked-out/mailbox", {"path": "New"}),
        ("DELETE", "/v1/account/locked-out/mailbox?path=Junk", None),
        ("GET", "/v1/account/locked-out/messages?path=INBOX", None),
        ("POST", "/v1/account/locked-out/search?path=INBOX", {"search": {}}),
        ("GET", f"/v1/account/locked-out/message/{encode_message_id(1, 1)}", None),
    ):
        answer = await api.call(method, path, sent)
        assert answer.status == 503, (path, answer.body)
        assert answer.json()["code"] == "authenticationError"
    unknown = await api.call("GET", "/v1/account/nobody/mailboxes")
    assert unknown.status == 404 and unknown.json()["code"] == "AccountNotFound"
