"""The folder routes: list with counters, create, rename and (un)subscribe, delete.

``GET /v1/account/{account}/mailboxes`` lists the folders live from the
server (``trimap.mailbox.folders.list_folders``); ``POST .../mailbox``
creates ``path`` (a whole path, or a list of segments joined with the
server's delimiter) and answers ``created: false`` when it existed already;
``PUT .../mailbox`` renames ``path`` to ``newPath`` and/or sets
``subscribed``; ``DELETE .../mailbox?path=`` deletes.

Errors: an unknown folder is a 404 ``MailboxNotFound``, a rename onto a
taken name a 409 ``MailboxExists``, any other refusal of the server a 502
``IMAPError`` with its text (never a 200 saying ``false``: reference
weakness 17); the account's own failures are those of ``trimap.api.imap``.
"""

from __future__ import annotations

import re
from typing import Any

from quart import Blueprint, request

from imapproto.client import ImapClient
from trimap.api.body import json_object, refuse_unknown
from trimap.api.errors import ApiError, invalid_input
from trimap.api.imap import account_session
from trimap.api.query import QueryParser
from trimap.mailbox.folders import (
    FolderExists,
    InvalidFolderPath,
    create_folder,
    delete_folder,
    folder_path,
    list_folders,
    update_folder,
)

__all__ = ["MAX_PATH", "blueprint"]

blueprint = Blueprint("mailboxes", __name__)

MAX_PATH = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _path(raw: Any, key: str, problems: dict[str, str], *, segments: bool) -> Any:
    """``raw`` if it is a folder path (with ``segments``, also a list of segments), else
    None and a problem."""
    parts = raw if segments and isinstance(raw, list) and raw else [raw]
    if all(_segment(part) for part in parts) and sum(map(len, parts)) <= MAX_PATH:
        return raw
    shape = "a string or a list of strings" if segments else "a string"
    problems[key] = f'"{key}" must be {shape}, 1 to {MAX_PATH} characters, no control characters'
    return None


def _segment(part: Any) -> bool:
    return isinstance(part, str) and 0 < len(part) <= MAX_PATH and not _CONTROL.search(part)


async def _server_path(client: ImapClient, wanted: str | list[str], key: str) -> str:
    try:
        return await folder_path(client, wanted)
    except InvalidFolderPath as invalid:
        raise invalid_input({key: f'"{key}": {invalid}'}) from None


@blueprint.get("/v1/account/<account>/mailboxes")
async def list_mailboxes(account: str) -> dict[str, Any]:
    QueryParser(request.args, allowed=()).check()
    async with account_session(account) as session:
        folders = await list_folders(session.client)
    return {"mailboxes": [folder.to_json() for folder in folders]}


@blueprint.post("/v1/account/<account>/mailbox")
async def create_mailbox(account: str) -> dict[str, Any]:
    body = await json_object()
    problems: dict[str, str] = {}
    refuse_unknown(body, ("path",), problems)
    wanted = _path(body.get("path"), "path", problems, segments=True)
    if problems:
        raise invalid_input(problems)
    async with account_session(account) as session:
        path = await _server_path(session.client, wanted, "path")
        created = await create_folder(session, path)
    return {"path": path, "created": created}


@blueprint.put("/v1/account/<account>/mailbox")
async def update_mailbox(account: str) -> dict[str, Any]:
    body = await json_object()
    problems: dict[str, str] = {}
    refuse_unknown(body, ("path", "newPath", "subscribed"), problems)
    path = _path(body.get("path"), "path", problems, segments=False)
    new_path = body.get("newPath")
    if new_path is not None:
        new_path = _path(new_path, "newPath", problems, segments=True)
    subscribed = body.get("subscribed")
    if subscribed is not None and not isinstance(subscribed, bool):
        problems["subscribed"] = '"subscribed" must be a boolean'
    if new_path is None and subscribed is None and "newPath" not in problems:
        problems["newPath"] = 'give "newPath", "subscribed" or both'
    if problems:
        raise invalid_input(problems)
    answer: dict[str, Any] = {"path": path}
    async with account_session(account) as session:
        if new_path is not None:
            new_path = answer["newPath"] = await _server_path(session.client, new_path, "newPath")
        try:
            await update_folder(session, path, new_path=new_path, subscribed=subscribed)
        except FolderExists:
            raise ApiError(409, f"A mailbox {new_path} exists already", "MailboxExists") from None
    if subscribed is not None:
        answer["subscribed"] = subscribed
    return answer


@blueprint.delete("/v1/account/<account>/mailbox")
async def delete_mailbox(account: str) -> dict[str, Any]:
    query = QueryParser(request.args, allowed=("path",))
    path = query.text("path", required=True, max_length=MAX_PATH)
    query.check()
    assert path is not None
    async with account_session(account) as session:
        await delete_folder(session, path)
    return {"path": path, "deleted": True}
