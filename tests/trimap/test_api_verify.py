"""``POST /v1/verifyAccount`` against the real Dovecot and SMTP server of the test bed."""

from __future__ import annotations

import json
from typing import Any

import trio

from tests.fixtures.api_service import ApiHarness
from tests.fixtures.mail_server import MailUser
from tests.fixtures.webhook_receiver import Response, WebhookReceiver

HOST = "127.0.0.1"


def server(port: int, auth: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"host": HOST, "port": port, **fields}
    if auth is not None:
        body["auth"] = auth
    return body


def with_password(user: MailUser, password: str | None = None) -> dict[str, str]:
    return {"user": user.user, "pass": password or user.password}


async def verify(api: ApiHarness, body: Any) -> Any:
    answer = await api.call("POST", "/v1/verifyAccount", body)
    assert answer.status == 200, answer.body
    return answer.json()


async def test_good_imap_and_smtp_settings(api: ApiHarness, mail_user: MailUser) -> None:
    ports = api.mailserver
    answer = await verify(
        api,
        {
            "imap": server(ports.imap_port, with_password(mail_user)),
            "smtp": server(ports.smtp_port, with_password(mail_user)),
        },
    )
    assert answer["smtp"] == {"success": True}
    imap = answer["imap"]
    assert imap["success"] is True and imap["folders"] >= 1
    assert imap["specialUse"]["\\Sent"] == "Sent"
    secure = await verify(
        api,
        {
            "imap": server(
                ports.imaps_port,
                with_password(mail_user),
                secure=True,
                tls={"rejectUnauthorized": False},
            ),
            "smtp": server(
                ports.smtps_port,
                with_password(mail_user),
                secure=True,
                tls={"rejectUnauthorized": False},
            ),
        },
    )
    assert secure["imap"]["success"] and secure["smtp"] == {"success": True}


async def test_wrong_passwords_are_answers_with_codes(api: ApiHarness, mail_user: MailUser) -> None:
    ports = api.mailserver
    wrong = with_password(mail_user, "not-the-password")
    answer = await verify(
        api, {"imap": server(ports.imap_port, wrong), "smtp": server(ports.smtp_port, wrong)}
    )
    imap, smtp = answer["imap"], answer["smtp"]
    assert imap["success"] is False
    assert imap["code"] == imap["cod"] == "AUTHENTICATIONFAILED"
    assert smtp["success"] is False
    assert smtp["code"] == smtp["cod"] == "EAUTH" and smtp["statusCode"] == 535
    assert smtp["error"].startswith("Invalid login: 535")
    assert "not-the-password" not in json.dumps(answer)


async def test_refused_and_untrusted_connections(api: ApiHarness, mail_user: MailUser) -> None:
    with trio.socket.socket() as unused:
        await unused.bind((HOST, 0))
        closed_port = unused.getsockname()[1]
    auth = with_password(mail_user)
    answer = await verify(
        api, {"imap": server(closed_port, auth), "smtp": server(closed_port, auth)}
    )
    assert answer["imap"]["code"] == answer["smtp"]["code"] == "ECONNREFUSED"
    untrusted = await verify(  # the test bed's CA is not in the system store
        api, {"smtp": server(api.mailserver.smtps_port, auth, secure=True)}
    )
    assert list(untrusted) == ["smtp"] and untrusted["smtp"]["code"] == "ETLS"
    not_smtp = await verify(api, {"smtp": server(api.mailserver.imap_port, auth)})
    assert not_smtp["smtp"]["code"] == "EPROTOCOL"  # an IMAP greeting is no SMTP reply


async def test_access_tokens(api: ApiHarness, mail_user: MailUser) -> None:
    assert mail_user.token is not None
    token = {"user": mail_user.user, "accessToken": mail_user.token}
    ports = api.mailserver
    answer = await verify(
        api, {"imap": server(ports.imap_port, token), "smtp": server(ports.smtp_port, token)}
    )
    assert answer["imap"]["success"] and answer["smtp"] == {"success": True}
    bad = {"user": mail_user.user, "accessToken": "not-the-token"}
    refused = await verify(api, {"smtp": server(ports.smtp_port, bad)})
    assert refused["smtp"]["code"] == "EAUTH"


async def test_credentials_from_the_auth_server(
    api: ApiHarness, mail_user: MailUser, webhook_receiver: WebhookReceiver
) -> None:
    ports = api.mailserver
    body = {
        "account": "verify-me",
        "imap": server(ports.imap_port, useAuthServer=True),
        "smtp": server(ports.smtp_port, useAuthServer=True),
    }
    unset = await verify(api, body)
    assert unset["imap"]["code"] == unset["smtp"]["code"] == "HTTPRequestError"
    assert "not set" in unset["imap"]["error"]

    credentials = json.dumps({"user": mail_user.user, "pass": mail_user.password}).encode()
    webhook_receiver.respond_with(
        Response(status=200, body=credentials, headers={"Content-Type": "application/json"})
    )
    set_url = await api.call("POST", "/v1/settings", {"authServer": webhook_receiver.url})
    assert set_url.status == 200
    answer = await verify(api, body)
    assert answer["imap"]["success"] and answer["smtp"] == {"success": True}
    asked = sorted(request.path for request in webhook_receiver.requests)
    assert asked == ["/?account=verify-me&proto=imap", "/?account=verify-me&proto=smtp"]
    assert mail_user.password not in json.dumps(answer)


async def test_invalid_bodies_are_a_400_naming_the_fields(api: ApiHarness) -> None:
    async def refused(body: Any) -> set[str]:
        answer = await api.call("POST", "/v1/verifyAccount", body)
        assert answer.status == 400 and answer.json()["code"] == "InvalidInput"
        return {field["key"] for field in answer.json()["fields"]}

    assert await refused({}) == {"imap"}
    assert await refused([1]) == {"body"}
    assert await refused({"imap": {"host": "", "port": 0}, "colour": 1}) >= {
        "imap.host",
        "imap.port",
        "colour",
    }
    auth_server = {"smtp": {"host": HOST, "port": 25, "useAuthServer": True}}
    assert await refused(auth_server) == {"account"}
    assert await refused({**auth_server, "account": 7}) == {"account"}
    not_json = await api.call("POST", "/v1/verifyAccount", b"{", {"Content-Type": "text/plain"})
    assert not_json.status == 400
    query = await api.call("POST", "/v1/verifyAccount?x=1", {"smtp": False})
    assert query.status == 400
