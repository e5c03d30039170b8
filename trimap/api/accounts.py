"""The account routes: create, update, read, list, delete, reconnect.

``POST /v1/account`` creates or updates (the reference's meaning: the same id
updates) and answers ``{"account", "state": "new"|"existing"}``;
``PUT /v1/account/{account}`` updates an existing account (404 otherwise)
and changes only the fields it names; ``GET /v1/account/{account}`` is the
account without secrets, its state, ``lastError`` and its connection's
counters; ``DELETE`` removes it with all its data; ``GET /v1/accounts``
pages through the accounts (``state``, ``page``, ``pageSize``);
``PUT /v1/account/{account}/reconnect`` reconnects in any state (the
reference refused unless connected, weakness 16).

Rules it keeps: validation errors are a 400 naming every offending field; no
answer ever contains a password or token.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from trimap.accounts import ACCOUNT_STATES, AccountNotFound, InvalidAccount, parse_account_input
from trimap.api.body import json_body, json_object
from trimap.api.context import runtime
from trimap.api.errors import invalid_input
from trimap.api.imap import account_not_found
from trimap.api.query import QueryParser
from trimap.events.model import format_date

__all__ = ["blueprint"]

blueprint = Blueprint("accounts", __name__)

MAX_PAGE_SIZE = 1000


@blueprint.post("/v1/account")
async def create_account() -> dict[str, Any]:
    try:
        change = parse_account_input(await json_object())
    except InvalidAccount as invalid:
        raise invalid_input(invalid.fields) from None
    created = await runtime().accounts.create_or_update(change)
    return {"account": change.id, "state": "new" if created else "existing"}


@blueprint.put("/v1/account/<account>")
async def update_account(account: str) -> dict[str, Any]:
    try:
        change = parse_account_input(await json_object(), account_id=account)
        await runtime().accounts.update(change)
    except InvalidAccount as invalid:
        raise invalid_input(invalid.fields) from None
    except AccountNotFound:
        raise account_not_found() from None
    return {"account": account}


@blueprint.get("/v1/account/<account>")
async def read_account(account: str) -> dict[str, Any]:
    instance = runtime()
    try:
        found = await instance.accounts.get(account)
    except AccountNotFound:
        raise account_not_found() from None
    answer = found.public_view()
    runner = instance.engine.runner(account)
    if runner is not None:
        answer["state"] = runner.state
        answer["lastError"] = (
            None
            if runner.state == "connected" or runner.last_error is None
            else runner.last_error.to_json()
        )
        answer["stateChanged"] = format_date(runner.changed_at)
        answer["counters"] = {"connectionAttempts": runner.attempts}
    return answer


@blueprint.delete("/v1/account/<account>")
async def delete_account(account: str) -> dict[str, Any]:
    if not await runtime().accounts.delete(account):
        raise account_not_found()
    return {"account": account, "deleted": True}


@blueprint.get("/v1/accounts")
async def list_accounts() -> dict[str, Any]:
    query = QueryParser(request.args, allowed={"state", "page", "pageSize"})
    state = query.choice("state", ACCOUNT_STATES)
    page = query.integer("page", 0, minimum=0, maximum=1_048_576)
    page_size = query.integer("pageSize", 20, minimum=1, maximum=MAX_PAGE_SIZE)
    query.check()
    instance = runtime()
    listed = await instance.accounts.list(state, page, page_size)
    rows = []
    for summary in listed.accounts:
        row = summary.to_json()
        runner = instance.engine.runner(summary.id)
        if runner is not None:
            row["stateChanged"] = format_date(runner.changed_at)
        rows.append(row)
    return {"accounts": rows, "page": listed.page, "pages": listed.pages, "total": listed.total}


@blueprint.put("/v1/account/<account>/reconnect")
async def reconnect_account(account: str) -> dict[str, Any]:
    body = await json_body()
    body = {} if body is None else body
    if not isinstance(body, dict) or set(body) - {"reconnect"}:
        raise invalid_input({"reconnect": '"reconnect" is the only key allowed'})
    wanted = body.get("reconnect", False)
    if not isinstance(wanted, bool):
        raise invalid_input({"reconnect": '"reconnect" must be a boolean'})
    instance = runtime()
    try:
        await instance.accounts.get(account)
    except AccountNotFound:
        raise account_not_found() from None
    done = instance.engine.reconnect(account) if wanted else False
    return {"reconnect": done}
