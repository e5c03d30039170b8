"""The reference README's curl examples, run as printed against the service and Dovecot.

Each example below is the README's command line, copied verbatim from the reference
product's published README (IMAP API, by Andris Reinman; the command lines are quoted here
as test data).
A test swaps only what the README says is the reader's own — the service's address, the
IMAP/SMTP hosts, ports and credentials, a message id taken from a listing — and runs the
line through ``curl`` itself (``shlex``-split, with only ``--silent --show-error
--write-out <status>`` added to read the answer), so the printed paths, parameters and
JSON bodies are what is sent.  Answers are checked against the README's sample output:
the same keys with values of the same types (more keys are allowed: trimap's additions),
then against what the fixture holds.

The test bed's TLS certificate is signed by its own CA; the examples say ``"secure":
true`` and nothing about certificates, so the service is made to trust that CA the way
an operator would, through ``SSL_CERT_FILE`` (read by OpenSSL whenever a default
context loads the trust store), rather than by adding ``tls`` options to the examples.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio

from tests.fixtures.api_service import ApiHarness
from tests.fixtures.mail_server import MailServer, MailUser
from tests.fixtures.webhook_receiver import Response, WebhookReceiver
from tests.trimap.engine_harness import OtherClient
from tests.trimap.test_api_submit import smtp_settings
from trimap.messages.ids import decode_message_id

# -- the README's examples, verbatim -----------------------------------------------------

CREATE_ACCOUNT = """curl -XPOST "localhost:3000/v1/account" -H "content-type: application/json" -d '{ "account": "example", "name": "My Example Account", "imap": { "host": "imap.gmail.com", "port": 993, "secure": true, "auth": { "user": "myuser@gmail.com", "pass": "verysecret" } }, "smtp": { "host": "smtp.gmail.com", "port": 465, "secure": true, "auth": { "user": "myuser@gmail.com", "pass": "verysecret" } }}'"""  # noqa: E501
LIST_MESSAGES = """curl -XGET "localhost:3000/v1/account/example/messages?path=INBOX\""""
LIST_PAGE_5 = """curl -XGET "localhost:3000/v1/account/example/messages?path=INBOX&page=5\""""
#: The published README has ``"html": "<p>my reply to you</p>"`` (some copies show it rendered).
SUBMIT_REPLY = """curl -XPOST "localhost:3000/v1/account/example/submit" -H "content-type: application/json" -d '{ "reference": { "message": "AAAAAQAAAeE", "action": "reply" }, "from": { "name": "Example Sender", "address": "sender@example.com" }, "to": [{ "name": "Andris Reinman", "address": "andris@imapapi.com" }], "text": "my reply to you", "html": "<p>my reply to you</p>", "attachments": [ { "filename": "checkmark.png", "content": "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQAQMAAAAlPW0iAAAABlBMVEUAAAD///+l2Z/dAAAAM0lEQVR4nGP4/5/h/1+G/58ZDrAz3D/McH8yw83NDDeNGe4Ug9C9zwz3gVLMDA/A6P9/AFGGFyjOXZtQAAAAAElFTkSuQmCC" } ]}'"""  # noqa: E501
CREATE_MANAGED_ACCOUNT = """curl -XPOST "localhost:3000/v1/account" -H "content-type: application/json" -d '{ "account": "ouath-user", "name": "Example", "imap": { "host": "imap.gmail.com", "port": 993, "secure": true, "useAuthServer": true }, "smtp": { "host": "smtp.gmail.com", "port": 465, "secure": true, "useAuthServer": true }}'"""  # noqa: E501

#: The README's sample listing answer.
SAMPLE_LISTING = json.loads(
    '{ "page": 0, "pages": 10, "messages": [ { "id": "AAAAAQAAAeE", "uid": 481, "date":'
    ' "2019-10-07T06:05:23.000Z", "size": 4334, "subject": "Test message", "from": { "name":'
    ' "Peter Põder", "address": "Peter.Poder@example.com" }, "to": [ { "name": "", "address":'
    ' "andris@imapapi.com" } ], "messageId": "<0ebdd7b084794911b03986c827128f1b@example.com>",'
    ' "text": { "id": "AAAAAQAAAeGTkaExkaEykA", "encodedSize": { "plain": 17, "html": 2135 } } }'
    " ]}"
)
#: What ``POST /v1/account`` answers (the README shows none; the spec, route 2).
SAMPLE_CREATED = {"account": "example", "state": "new"}
#: What ``POST .../submit`` answers (the README shows none; the spec, section 5).
SAMPLE_SUBMITTED = {"response": "250 Message queued", "messageId": "<a@example.com>"}

DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class CurlAnswer:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def swapped(command: str, replacements: dict[str, str]) -> str:
    """``command`` with each key replaced by its value; every key must be in it."""
    for old, new in replacements.items():
        assert old in command, f"{old!r} is not in the example"
        command = command.replace(old, new)
    return command


def run_curl(command: str) -> CurlAnswer:
    argv = shlex.split(command)
    assert argv[0] == "curl"
    curl = shutil.which("curl")
    assert curl is not None, "curl is needed (make test installs it)"
    done = subprocess.run(
        [curl, *argv[1:], "--silent", "--show-error", "--write-out", r"\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    return CurlAnswer(int(status), body)


async def run_example(api: ApiHarness, command: str, **replacements: str) -> CurlAnswer:
    """Run the README's ``command`` against ``api``, with ``replacements`` swapped in."""
    service = {"localhost:3000": urlsplit(api.base).netloc}
    line = swapped(command, {**service, **replacements})
    return await trio.to_thread.run_sync(run_curl, line)


def assert_shape(value: Any, sample: Any, where: str = "answer") -> None:
    """``value`` has every key of ``sample``, recursively, with values of the same JSON
    types; each item of a list is checked against the sample's first."""
    if isinstance(sample, dict):
        assert isinstance(value, dict), f"{where} is {value!r}, not an object"
        assert set(sample) <= set(value), f"{where} lacks {set(sample) - set(value)}"
        for key, item in sample.items():
            assert_shape(value[key], item, f"{where}.{key}")
    elif isinstance(sample, list):
        assert isinstance(value, list), f"{where} is {value!r}, not a list"
        for index, item in enumerate(value):
            assert_shape(item, sample[0], f"{where}[{index}]")
    else:
        assert type(value) is type(sample), f"{where} is {value!r}, not like {sample!r}"


def assert_listing(answer: CurlAnswer) -> dict[str, Any]:
    """A listing of the README's shape, its ids and dates in the README's forms."""
    assert answer.status == 200, answer.body
    listing: dict[str, Any] = answer.json()
    assert_shape(listing, SAMPLE_LISTING)
    for message in listing["messages"]:
        assert DATE.fullmatch(message["date"]), message["date"]
        assert BASE64URL.fullmatch(message["id"]) and len(message["id"]) == 11
        assert BASE64URL.fullmatch(message["text"]["id"])
        assert decode_message_id(message["id"])[1] == message["uid"]
    return listing


@pytest.fixture
def trusted_test_bed(monkeypatch: pytest.MonkeyPatch, mailserver: MailServer) -> MailServer:
    """The service trusts the test bed's CA, as the system store (module docstring)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(mailserver.ca_cert))
    return mailserver


def gmail_swapped_for(mailserver: MailServer) -> dict[str, str]:
    """The examples' Gmail hosts and TLS ports swapped for the test bed's."""
    return {
        "imap.gmail.com": "127.0.0.1",
        "smtp.gmail.com": "127.0.0.1",
        '"port": 993': f'"port": {mailserver.imaps_port}',
        '"port": 465': f'"port": {mailserver.smtps_port}',
    }


# -- the examples ------------------------------------------------------------------------


async def test_register_an_email_account(
    api: ApiHarness, mail_user: MailUser, trusted_test_bed: MailServer
) -> None:
    swaps = {
        **gmail_swapped_for(trusted_test_bed),
        "myuser@gmail.com": mail_user.user,
        "verysecret": mail_user.password,
    }
    answer = await run_example(api, CREATE_ACCOUNT, **swaps)
    assert answer.status == 200, answer.body
    assert_shape(answer.json(), SAMPLE_CREATED)
    assert answer.json() == SAMPLE_CREATED
    await api.wait_state("example", "connected")  # over TLS, with those very settings
    stored = (await api.call("GET", "/v1/account/example")).json()
    assert stored["name"] == "My Example Account"
    assert stored["imap"]["port"] == trusted_test_bed.imaps_port and stored["imap"]["secure"]
    assert stored["smtp"]["port"] == trusted_test_bed.smtps_port and stored["smtp"]["secure"]

    again = await run_example(api, CREATE_ACCOUNT, **swaps)
    assert again.json() == {"account": "example", "state": "existing"}  # "updates the existing"


def readme_message(number: int) -> bytes:
    """A message like the README's sample: plain and html text, the sample's people."""
    lines = [
        "From: =?utf-8?q?Peter_P=C3=B5der?= <Peter.Poder@example.com>",
        "To: andris@imapapi.com",
        f"Subject: Test message {number}",
        "Date: Mon, 07 Oct 2019 09:05:23 +0300",
        f"Message-ID: <readme-{number}@example.com>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="alt"',
        "",
        "--alt",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Hello from Peter",
        "--alt",
        "Content-Type: text/html; charset=utf-8",
        "",
        "<p>Hello from Peter</p>",
        "--alt--",
        "",
    ]
    return "\r\n".join(lines).encode()


async def append_readme_messages(mailserver: MailServer, user: MailUser, count: int) -> None:
    def appending(imap: imaplib.IMAP4) -> None:
        for number in range(1, count + 1):
            status, _ = imap.append("INBOX", None, None, readme_message(number))
            assert status == "OK"

    await OtherClient(mailserver, user).run(appending)


async def test_list_some_messages(
    api: ApiHarness, mail_user: MailUser, mailserver: MailServer
) -> None:
    await api.add_account(mail_user, account_id="example")
    await append_readme_messages(mailserver, mail_user, 1)

    listing = assert_listing(await run_example(api, LIST_MESSAGES))
    assert (listing["page"], listing["pages"]) == (0, 1)
    [message] = listing["messages"]
    assert message["subject"] == "Test message 1" and message["uid"] == 1
    assert message["date"] == "2019-10-07T06:05:23.000Z"  # the sample's own date
    assert message["from"] == {"name": "Peter Põder", "address": "Peter.Poder@example.com"}
    assert message["to"] == [{"name": "", "address": "andris@imapapi.com"}]
    assert message["messageId"] == "<readme-1@example.com>"
    assert message["text"]["encodedSize"] == {"plain": 16, "html": 23}


async def test_list_page_5(api: ApiHarness, mail_user: MailUser, mailserver: MailServer) -> None:
    await api.add_account(mail_user, account_id="example")
    await append_readme_messages(mailserver, mail_user, 110)  # 6 pages of 20, newest first

    listing = assert_listing(await run_example(api, LIST_PAGE_5))
    assert (listing["page"], listing["pages"]) == (5, 6)
    assert [message["uid"] for message in listing["messages"]] == list(range(10, 0, -1))
    assert listing["messages"][0]["subject"] == "Test message 10"


async def test_register_a_managed_account(
    api: ApiHarness,
    mail_user: MailUser,
    trusted_test_bed: MailServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    # the README's "Auth server response for OAuth2 accounts", with the fixture's values
    credentials = {"user": mail_user.user, "accessToken": mail_user.token}
    webhook_receiver.respond_with(
        Response(
            status=200,
            body=json.dumps(credentials).encode(),
            headers={"Content-Type": "application/json"},
        )
    )
    assert (await api.call("POST", "/v1/settings", {"authServer": webhook_receiver.url})).json()

    answer = await run_example(api, CREATE_MANAGED_ACCOUNT, **gmail_swapped_for(trusted_test_bed))
    assert answer.status == 200, answer.body
    assert_shape(answer.json(), SAMPLE_CREATED)
    assert answer.json() == {"account": "ouath-user", "state": "new"}
    await api.wait_state("ouath-user", "connected")
    asked = {request.path for request in webhook_receiver.requests}
    assert "/?account=ouath-user&proto=imap" in asked
    folders = await api.call("GET", "/v1/account/ouath-user/mailboxes")
    assert folders.status == 200 and folders.json()["mailboxes"][0]["path"] == "INBOX"


async def test_send_a_reply(api: ApiHarness, mail_user: MailUser, mailserver: MailServer) -> None:
    await api.add_account(
        mail_user, account_id="example", smtp=smtp_settings(mailserver, mail_user)
    )
    await append_readme_messages(mailserver, mail_user, 1)
    listing = await api.call("GET", "/v1/account/example/messages?path=INBOX")
    [parent] = listing.json()["messages"]  # "Use the id from message listing"

    answer = await run_example(api, SUBMIT_REPLY, AAAAAQAAAeE=parent["id"])
    assert answer.status == 200, answer.body
    assert_shape(answer.json(), SAMPLE_SUBMITTED)
    assert answer.json()["response"].startswith("250 ")
    [sent] = [m for m in mailserver.smtp_messages() if m["auth_user"] == mail_user.user]
    assert (sent["mail_from"], sent["rcpt_tos"]) == ("sender@example.com", ["andris@imapapi.com"])
    raw = await trio.to_thread.run_sync(Path(sent["file"]).read_bytes)
    reply = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(reply, EmailMessage)
    assert reply["Message-ID"] == answer.json()["messageId"]
    # what the README promises of a reply
    assert reply["Subject"] == "Re: Test message 1"
    assert reply["In-Reply-To"] == reply["References"] == "<readme-1@example.com>"
    html = reply.get_body(("html",))
    assert html is not None and html.get_content().strip() == "<p>my reply to you</p>"
    [png] = [part for part in reply.iter_attachments() if part.get_filename() == "checkmark.png"]
    assert png.get_content_type() == "image/png" and png.get_content()[:4] == b"\x89PNG"
    details = await api.call("GET", f"/v1/account/example/message/{parent['id']}")
    assert details.json()["answered"] is True
    copies = await api.call("GET", "/v1/account/example/messages?path=Sent")
    assert [message["messageId"] for message in copies.json()["messages"]] == [reply["Message-ID"]]
