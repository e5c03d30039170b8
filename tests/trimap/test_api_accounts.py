"""The account routes on the real service: create, read, update, list, reconnect, delete."""

from __future__ import annotations

from tests.fixtures.api_service import ApiHarness
from tests.fixtures.mail_server import MailUser


async def test_account_life_cycle_through_the_api(api: ApiHarness, mail_user: MailUser) -> None:
    account = await api.add_account(mail_user)
    read = (await api.call("GET", f"/v1/account/{account}")).json()
    assert read["account"] == account and read["state"] == "connected"
    assert read["lastError"] is None and read["copy"] is True
    assert read["imap"]["auth"] == {"user": mail_user.user}  # never the password
    assert mail_user.password not in str(read)
    assert read["counters"]["connectionAttempts"] >= 1

    again = await api.call("POST", "/v1/account", {"account": account, "name": "Renamed"})
    assert again.json() == {"account": account, "state": "existing"}
    updated = await api.call("PUT", f"/v1/account/{account}", {"copy": False})
    assert updated.json() == {"account": account}
    read = (await api.call("GET", f"/v1/account/{account}")).json()
    assert read["name"] == "Renamed" and read["copy"] is False

    listed = (await api.call("GET", "/v1/accounts?state=connected")).json()
    assert [row["account"] for row in listed["accounts"]] == [account]
    assert listed["total"] == 1 and listed["pages"] == 1

    reconnect = await api.call("PUT", f"/v1/account/{account}/reconnect", {"reconnect": True})
    assert reconnect.json() == {"reconnect": True}
    await api.wait_state(account, "connected")

    deleted = await api.call("DELETE", f"/v1/account/{account}")
    assert deleted.json() == {"account": account, "deleted": True}
    gone = await api.call("GET", f"/v1/account/{account}")
    assert gone.status == 404 and gone.json()["code"] == "AccountNotFound"


async def test_account_requests_are_validated(api: ApiHarness) -> None:
    bad = await api.call(
        "POST", "/v1/account", {"account": "x", "imap": {"host": "", "port": 70000}, "colour": 1}
    )
    assert bad.status == 400
    keys = {field["key"] for field in bad.json()["fields"]}
    assert {"name", "imap.host", "imap.port", "colour"} <= keys
    assert (await api.call("PUT", "/v1/account/nobody", {"name": "x"})).status == 404
    assert (await api.call("DELETE", "/v1/account/nobody")).status == 404
    assert (await api.call("GET", "/v1/accounts?state=sleepy&pageSize=0")).status == 400
    reconnect = await api.call("PUT", "/v1/account/nobody/reconnect", {"reconnect": True})
    assert reconnect.status == 404
    not_json = await api.call("POST", "/v1/account", b"{not json", {"Content-Type": "text/plain"})
    assert not_json.status == 400
