"""Sending mail: ``POST /v1/account/{account}/submit`` and the outbox routes.

How it works: the body is the reference's submit fields (``from``, ``to``,
``cc``, ``bcc``, ``subject``, ``text``, ``html``, ``attachments``,
``messageId``, ``headers``, ``reference {message, action, attachOriginal}``),
validated with ``trimap.compose`` (every problem in one 400; a CR or LF in a
header value, address or filename is refused, never sent), plus:

* ``sendAt`` (ISO 8601) or ``queue: true``: the message is built now (so a
  missing reference is a 404 now) and queued; the answer is a 202
  ``{"queueId", "messageId", "sendAt"}`` and the outbox sends it, retrying
  temporary failures (events ``messageSent``, ``messageDeliveryError``,
  ``messageFailed``);
* otherwise it is sent during the request and the answer is
  ``{"response": <the server's final reply>, "messageId"}`` (plus
  ``refused`` recipients, and ``sentCopy``/``flagged`` for what followed);
  an SMTP failure is a 502 with the server's reason and code.

An ``Idempotency-Key`` header makes a retried request send once: the first
answer is kept for a day and given again; a repeat while the first still
runs is a 409.  ``GET /v1/outbox`` pages through queued messages (no bodies);
``DELETE /v1/outbox/{queueId}`` cancels one.

Errors: unknown account 404, referenced message missing 404
``ReferenceNotFound`` (nothing is sent), no SMTP settings 422
``NoSmtpSettings``; reading the reference needs the IMAP connection, so its
failures are ``trimap.api.imap``'s.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from quart import Blueprint, request

from trimap.accounts import AccountNotFound
from trimap.api.body import date_time, json_object
from trimap.api.context import runtime
from trimap.api.errors import ApiError, invalid_input
from trimap.api.imap import account_not_found, imap_errors, require_account
from trimap.api.query import QueryParser
from trimap.compose import InvalidCompose, parse_compose
from trimap.events.model import format_epoch_ms
from trimap.smtp import SmtpError
from trimap.store.outbox import PENDING
from trimap.submit.send import NoSmtpSettings, Outgoing, ReferenceNotFound

__all__ = ["blueprint"]

blueprint = Blueprint("submit", __name__)

SUBMIT_KEYS = frozenset({"sendAt", "queue"})
MAX_IDEMPOTENCY_KEY = 256
Answer = tuple[dict[str, Any], int]


@blueprint.post("/v1/account/<account>/submit")
async def submit(account: str) -> tuple[dict[str, Any], int]:
    body = await json_object()
    problems: dict[str, str] = {}
    send_at = date_time(body.get("sendAt"), "sendAt", problems)
    queue = body.get("queue", False)
    if not isinstance(queue, bool):
        problems["queue"] = '"queue" must be a boolean'
    compose = None
    try:
        compose = parse_compose({k: v for k, v in body.items() if k not in SUBMIT_KEYS})
    except InvalidCompose as invalid:
        problems.update(invalid.fields)
    if compose is not None and not (compose.to or compose.cc or compose.bcc):
        problems["to"] = "at least one recipient (to, cc or bcc) is required"
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        problems["Idempotency-Key"] = f"must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
    if compose is None or problems:
        raise invalid_input(problems)
    await require_account(account)
    store = runtime().outbox_store
    if key is not None:
        earlier = await store.begin_request(account, key)
        if earlier == PENDING:
            raise ApiError(409, "A request with this Idempotency-Key is running", "InProgress")
        if earlier is not None:
            stored = json.loads(earlier)
            return stored["body"], stored["status"]
    try:
        answer = await _submit(account, compose, send_at, queue)
    except BaseException:
        if key is not None:
            await store.abandon_request(account, key)
        raise
    if key is not None:
        await store.finish_request(account, key, {"body": answer[0], "status": answer[1]})
    return answer


async def _submit(account: str, compose: Any, send_at: datetime | None, queue: bool) -> Answer:
    instance = runtime()
    outgoing = await _prepare(account, compose)
    if send_at is not None or queue:
        queued = await instance.outbox.enqueue(outgoing, send_at)
        return {
            "queueId": queued.queue_id,
            "messageId": queued.message_id,
            "sendAt": format_epoch_ms(queued.send_at),
        }, 202
    try:
        result = await instance.submitter.deliver(outgoing)
    except SmtpError as failure:
        raise ApiError(502, f"SMTP: {failure.message}", failure.code, **_status(failure)) from None
    except NoSmtpSettings:
        raise _no_smtp() from None
    answer: dict[str, Any] = {"response": result.reply.text, "messageId": outgoing.message_id}
    if result.refused:
        answer["refused"] = [
            {"address": address, "response": reply.text} for address, reply in result.refused
        ]
    await instance.submitter.record_sent(outgoing, result)
    after = await instance.submitter.after_sent(outgoing)
    if after.flagged:
        answer["flagged"] = after.flagged
    if after.sent_copy:
        answer["sentCopy"] = after.sent_copy
    return answer, 200


async def _prepare(account: str, compose: Any) -> Outgoing:
    with imap_errors():
        try:
            return await runtime().submitter.prepare(account, compose)
        except ReferenceNotFound:
            raise ApiError(404, "Referenced message was not found", "ReferenceNotFound") from None
        except NoSmtpSettings:
            raise _no_smtp() from None
        except AccountNotFound:
            raise account_not_found() from None


def _no_smtp() -> ApiError:
    return ApiError(422, "The account has no SMTP settings", "NoSmtpSettings")


def _status(failure: SmtpError) -> dict[str, Any]:
    return {} if failure.status is None else {"responseCode": failure.status}


@blueprint.get("/v1/outbox")
async def list_outbox() -> dict[str, Any]:
    query = QueryParser(request.args, allowed={"page", "pageSize"})
    page = query.integer("page", 0, minimum=0, maximum=1_048_576)
    page_size = query.integer("pageSize", 20, minimum=1, maximum=1000)
    query.check()
    queued, total = await runtime().outbox_store.page(page * page_size, page_size)
    return {
        "messages": [
            {
                "queueId": item.queue_id,
                "account": item.account,
                "messageId": item.message_id,
                "sendAt": format_epoch_ms(item.send_at),
                "created": format_epoch_ms(item.created),
                "attempts": item.attempts,
                "lastError": item.last_error,
            }
            for item in queued
        ],
        "page": page,
        "pages": max(1, -(-total // page_size)),
        "total": total,
    }


@blueprint.delete("/v1/outbox/<queue_id>")
async def cancel_queued(queue_id: str) -> dict[str, Any]:
    if not await runtime().outbox.cancel(queue_id):
        raise ApiError(404, "No queued message has this id", "QueuedMessageNotFound")
    return {"queueId": queue_id, "deleted": True}
