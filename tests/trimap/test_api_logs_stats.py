"""``GET /v1/logs/{account}`` and ``GET /v1/stats`` on the real service (Redis, Dovecot)."""

from __future__ import annotations

import json
from typing import Any

from tests.fixtures.api_service import ApiHarness
from tests.fixtures.mail_server import MailUser
from tests.waiting import wait_until_async
from trimap.accounts import ACCOUNT_STATES


async def log_lines(api: ApiHarness, account: str) -> list[dict[str, Any]]:
    answer = await api.call("GET", f"/v1/logs/{account}")
    assert answer.status == 200, answer.body
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in answer.body.decode().splitlines()]


def is_login(line: dict[str, Any]) -> bool:
    return line["src"] == "C" and line["msg"].split()[1:2] == ["LOGIN"]  # "A1 LOGIN user ***"


async def test_protocol_log_download(api: ApiHarness, make_mail_user: Any) -> None:
    quiet, logged = make_mail_user(), make_mail_user()
    quiet_account = await api.add_account(quiet)
    assert (await api.call("GET", f"/v1/logs/{quiet_account}")).body == b""  # nothing logged

    enabled = await api.call("POST", "/v1/settings", {"logs": {"all": True}})
    assert enabled.json() == {"updated": ["logs"]}
    account = await api.add_account(logged)

    async def login_logged() -> list[dict[str, Any]] | None:
        lines = await log_lines(api, account)
        return lines if any(is_login(line) for line in lines) else None

    lines = await wait_until_async(login_logged, 30, 0.2, message="LOGIN in the protocol log")
    [login] = [line for line in lines if is_login(line)]
    assert login["msg"].endswith(f"LOGIN {logged.user} ***")  # the password masked
    assert all(logged.password not in line["msg"] for line in lines)
    assert [line["lo"] for line in lines] == sorted(line["lo"] for line in lines)  # oldest first
    assert {"t", "src", "msg", "cid", "level", "lo"} <= set(lines[0])


async def test_logs_of_an_unknown_account_are_a_404(api: ApiHarness) -> None:
    answer = await api.call("GET", "/v1/logs/nobody")
    assert answer.status == 404
    assert answer.json()["code"] == "AccountNotFound"


async def test_stats_count_accounts_and_connection_states(
    api: ApiHarness, make_mail_user: Any
) -> None:
    good: MailUser = make_mail_user()
    bad: MailUser = make_mail_user()
    await api.add_account(good)
    refused = await api.call(
        "POST",
        "/v1/account",
        {
            "account": "refused",
            "name": "Refused",
            "imap": {
                "host": "127.0.0.1",
                "port": api.mailserver.imap_port,
                "auth": {"user": bad.user, "pass": "not-the-password"},
            },
        },
    )
    assert refused.status == 200
    await api.wait_state("refused", "authenticationError")

    stats = (await api.call("GET", "/v1/stats")).json()
    assert stats["accounts"] == 2
    assert set(stats["connections"]) == set(ACCOUNT_STATES)
    assert stats["connections"]["connected"] == 1
    assert stats["connections"]["authenticationError"] == 1
    assert sum(stats["connections"].values()) == 2
    assert stats["version"] and stats["license"] == "MIT" and stats["uptime"] > 0
    assert stats["events"]["latest"] is not None  # connecting logged events
    assert stats["webhooks"] == {}  # no destination configured
    unknown = await api.call("GET", "/v1/stats?x=1")
    assert unknown.status == 400 and unknown.json()["fields"][0]["key"] == "x"
