"""Schemathesis against the running service: no 5xx, no answer off its documented schema.

The real service runs with one connected test-bed account holding three messages in INBOX
(one with html and an attachment).  The schema is loaded from the service's own
``/openapi.json``, and every operation in it is fuzzed with a bounded number of examples
(``EXAMPLES``; derandomized, no shrinking), each request checked for a server error
(``no_server_fault``), a status the document does not list for the operation
(``status_code_conformance``) and a body that breaks its schema
(``response_schema_conformance``).  Every failure is collected; the test fails listing them.

How the examples get past the 404s: each operation draws from its generated strategy (random
ids: the error answers), from strategies with the path's ids pinned to real ones (the
account; its messages, text and attachment ids; ``path`` = INBOX where a route takes a
folder), and from schemathesis' negative mode (invalid input: the 400s).

Nothing is left out, some things are arranged:

* Operations that would change or remove the fixture account (update, reconnect, delete)
  get a spare account (one that never connects) instead, and run last, delete last of all;
  moving and deleting messages run after everything that reads them.
* ``GET /v1/stream`` is a WebSocket: schemathesis sends it plain HTTP requests, which must
  be answered as documented (400); the stream itself is tested in tests/trimap/test_stream.py.
* Downloads (attachments, sources, logs) are read whole, like any answer.
* Nothing leaves the machine: bodies that name a server to connect to (``imap.host``,
  ``smtp.host``, webhook and auth server URLs, which ``POST /v1/account``, ``/v1/settings``,
  ``/v1/verifyAccount`` and ``/submit`` would use) are rewritten to a closed port on
  127.0.0.1 (``_local_only``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import partial
from typing import Any

import pytest
import requests
import schemathesis
import trio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NotSet
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.fixtures.api_service import ApiHarness
from tests.fixtures.mail_server import MailServer, MailUser
from tests.waiting import wait_until_async
from trimap.accounts import ACCOUNT_STATES
from trimap.api.imap import not_connected
from trimap.engine import AccountNotConnected

EXAMPLES = 40  # per operation: ~40 operations take ~20 s here, well under a minute when busy
#: 5xx answers that are the API's contract, not a fault: an account that is not connected
#: (503, its state as the code: the accounts the fuzzer registers never connect), the IMAP
#: server refusing a command (502 ``IMAPError`` with the server's text: odd folder names),
#: and an SMTP server that cannot be reached (502 ``ECONNREFUSED``: the fuzzer's accounts
#: send to a closed port).  A 500, a 504, a lost connection are faults.
EXPECTED_5XX = {(503, state) for state in ACCOUNT_STATES if state != "connected"} | {
    (502, "IMAPError"),
    (502, "ECONNREFUSED"),
}
CLOSED_PORT = 1  # nothing listens on 127.0.0.1:1: a connection is refused at once
LOCAL_URL = f"http://127.0.0.1:{CLOSED_PORT}/hook"
#: Operations that change or remove the account they are given: the spare account's.
SPARE_ACCOUNT_OPERATIONS = ("updateAccount", "reconnectAccount", "deleteAccount")
#: After everything else, in this order: those that remove the messages others read, then
#: those of the spare account (deleting it last).
LAST = ("moveMessage", "moveMessages", "deleteMessage", *SPARE_ACCOUNT_OPERATIONS)


@dataclass
class Fixture:
    """Real ids for the pinned strategies."""

    account: str
    spare: str
    messages: list[str]
    texts: list[str]
    attachments: list[str]
    failures: list[str] = field(default_factory=list)
    requests: int = 0


def _message(subject: str, attachment: bool) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Ann Example <ann@example.test>"
    message["To"] = "user@example.test"
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@example.test>"
    message.set_content(f"Hello, {subject}.\n")
    if attachment:
        message.add_alternative(f"<p>Hello, {subject}.</p>", subtype="html")
        message.add_attachment(
            b"\x00\x01binary", maintype="application", subtype="octet-stream", filename="data.bin"
        )
    return message


async def _fixture(api: ApiHarness, mailserver: MailServer, user: MailUser) -> Fixture:
    account = await api.add_account(user)
    for number in range(3):
        mailserver.deliver(user.email, _message(f"fuzz {number}", attachment=number == 2))

    async def listed() -> bool:
        answer = await api.call("GET", f"/v1/account/{account}/messages?path=INBOX")
        return answer.status == 200 and answer.json()["total"] == 3

    await wait_until_async(listed, 30, message="three messages in INBOX")
    page = (await api.call("GET", f"/v1/account/{account}/messages?path=INBOX")).json()
    spare = "fuzz-spare"
    answer = await api.call(
        "POST",
        "/v1/account",
        {
            "account": spare,
            "name": "Spare",
            "imap": {
                "host": "127.0.0.1",
                "port": CLOSED_PORT,
                "auth": {"user": "nobody", "pass": "secret"},
            },
        },
    )
    assert answer.status == 200, answer.body
    messages = page["messages"]
    return Fixture(
        account=account,
        spare=spare,
        messages=[message["id"] for message in messages],
        texts=[message["text"]["id"] for message in messages],
        attachments=[item["id"] for message in messages for item in message.get("attachments", ())],
    )


def no_server_fault(ctx: Any, response: Any, case: Any) -> None:
    """Schemathesis' ``not_a_server_error``, but ``EXPECTED_5XX`` answers are answers."""
    status = response.status_code
    if status < 500:
        return
    try:
        code = response.json().get("code")
    except ValueError:
        code = None
    if (status, code) not in EXPECTED_5XX:
        raise ServerError(operation=case.operation.label, status_code=status)


CHECKS = [no_server_fault, status_code_conformance, response_schema_conformance]


def _local_only(value: Any) -> Any:
    """``value`` with every server it names moved to a closed port on loopback (module
    comment): ``host``/``port`` pairs, and the ``webhooks`` and ``authServer`` URLs."""
    if isinstance(value, list):
        return [_local_only(item) for item in value]
    if not isinstance(value, dict):
        return value
    found = {key: _local_only(item) for key, item in value.items()}
    if "host" in found:
        found["host"] = "127.0.0.1"
    if "port" in found and "host" in found:
        found["port"] = CLOSED_PORT
    for key in ("webhooks", "authServer"):
        if isinstance(found.get(key), str) and found[key]:
            found[key] = LOCAL_URL
    return found


def _pinned(operation: Any, fixture: Fixture) -> list[Any]:
    """Strategies for ``operation`` with its ids pinned to real ones and ``path`` to INBOX
    (one strategy per real id; the other parameters generated)."""
    names = {parameter.name for parameter in operation.path_parameters}
    if "account" not in names:
        return []
    spare = operation.definition.raw["operationId"] in SPARE_ACCOUNT_OPERATIONS
    account = fixture.spare if spare else fixture.account
    ids = {"message": fixture.messages, "text": fixture.texts, "attachment": fixture.attachments}
    pinned = [{"account": account}]
    for name in names & ids.keys():
        pinned = [{"account": account, name: value} for value in ids[name]]
    in_query = {parameter.name for parameter in operation.query}
    query = {"path": "INBOX"} if "path" in in_query else None
    return [operation.as_strategy(path_parameters=values, query=query) for values in pinned]


def _rank(operation: Any) -> tuple[int, int, str]:
    """Reading first, then changing, then ``LAST``."""
    operation_id = operation.definition.raw["operationId"]
    if operation_id in LAST:
        return 2, LAST.index(operation_id), operation_id
    return (0 if operation.method.upper() == "GET" else 1), 0, operation_id


def _fuzz(raw_schema: dict[str, Any], base_url: str, fixture: Fixture) -> None:
    """Run every operation's examples (in a worker thread: the service runs meanwhile)."""
    schema = schemathesis.openapi.from_dict(raw_schema)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_rank)
    with requests.Session() as session:
        for operation in operations:
            strategy = st.one_of(
                operation.as_strategy(),
                *_pinned(operation, fixture),
                operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
            )
            _run(strategy, partial(_check, session, base_url, fixture))


def _check(session: requests.Session, base_url: str, fixture: Fixture, case: Any) -> None:
    if case.body is not None and not isinstance(case.body, NotSet):
        case.body = _local_only(case.body)
    fixture.requests += 1
    try:
        case.call_and_validate(base_url=base_url, session=session, checks=CHECKS, timeout=60)
    except (Exception, FailureGroup) as failure:  # collected, then reported together
        fixture.failures.append(f"{case.operation.label}: {failure}\n  {case.as_curl_command()}")


def _run(strategy: Any, check: Callable[[Any], None]) -> None:
    @settings(
        max_examples=EXAMPLES,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as is
        derandomize=True,  # the same examples on every run
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        check(case)

    run()


# schemathesis' strategies draw from the random module; hypothesis warns about it each run
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_schemathesis_finds_no_server_error_and_no_answer_off_its_schema(
    api: ApiHarness, mailserver: MailServer, mail_user: MailUser
) -> None:
    fixture = await _fixture(api, mailserver, mail_user)
    raw_schema = (await api.call("GET", "/openapi.json")).json()
    await trio.to_thread.run_sync(_fuzz, raw_schema, api.base, fixture)
    assert fixture.requests >= EXAMPLES * len(raw_schema["paths"])
    assert not fixture.failures, f"{len(fixture.failures)} failures:\n" + "\n".join(
        fixture.failures
    )


# -- what the fuzzer found, kept as plain tests ------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/account"),
        ("POST", "/v1/settings"),
        ("POST", "/v1/verifyAccount"),
        ("POST", "/v1/webhooks/replay"),
        ("POST", "/v1/account/nobody/mailbox"),
    ],
)
async def test_a_body_that_is_not_text_is_a_400_naming_it(
    api: ApiHarness, method: str, path: str
) -> None:
    for body in (b"\xe6", b"\xc3(", b'{"a": "\xff"}'):  # not UTF-8: was a 500
        answer = await api.call(method, path, body, {"Content-Type": "application/json"})
        assert answer.status == 400, answer.body
        assert answer.json()["code"] == "InvalidInput"
        assert answer.json()["fields"] == [
            {"message": "the body must be a JSON object", "key": "body"}
        ]


async def test_json_in_utf_16_is_read_as_rfc_8259_allows(api: ApiHarness) -> None:
    body = json.dumps({"webhookEvents": ["messageNew"]}).encode("utf-16")
    answer = await api.call("POST", "/v1/settings", body, {"Content-Type": "application/json"})
    assert answer.status == 200 and answer.json() == {"updated": ["webhookEvents"]}


def test_a_connection_lost_while_waiting_for_it_is_imap_unavailable() -> None:
    # The runner still says "connected" for an instant after its connection broke: no
    # state to give a client as the 503's code.
    lost = not_connected(AccountNotConnected("a", "connected"))
    assert (lost.status, lost.code) == (503, "IMAPUnavailable")
    waiting = not_connected(AccountNotConnected("a", "connecting"))
    assert (waiting.status, waiting.code) == (503, "connecting")
