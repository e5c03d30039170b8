"""The routes that change messages: flags and labels, move and delete, one message or many.

=======================================================  ==========================================
route                                                    answer
=======================================================  ==========================================
``PUT /v1/account/{a}/message/{id}``                     ``{"flags": {"add": true, ...},
body ``{"flags"?, "labels"?}``, each                     "labels": {...}}``: the operations applied
``{"add"?, "delete"?, "set"?}`` (``set`` wins)
``PUT /v1/account/{a}/message/{id}/move``                ``{"path", "id", "uid"}`` (the new id
body ``{"path"}``                                        where the server has UIDPLUS)
``DELETE /v1/account/{a}/message/{id}?force=``           ``{"deleted": false, "moved":
                                                         {"destination", "id"}}`` (to Trash) or
                                                         ``{"deleted": true}`` (expunged)
``PUT /v1/account/{a}/messages?path=``                   ``{"matched": n, "flags"?, "labels"?}``
body ``{"ids": [...]}`` or ``{"search": {...}}``,
plus ``flags``/``labels``
``PUT /v1/account/{a}/messages/move?path=``              ``{"path", "moved": n, "ids": {old: new}}``
body ``ids`` or ``search``, plus ``path`` (the target)
=======================================================  ==========================================

The work is ``trimap.mailbox.actions``; this module checks requests, finds
the UIDs and shapes answers.  An id trimap never gave out is a 400 naming
``message``; a message that no longer exists (or a stale id) is a 404
``MessageNotFound`` (the reference answered 200 and did nothing); a
target folder that does not exist is a 404 ``MailboxNotFound``.  The bulk
routes act on the folder ``path``: every id must be one of its messages as
it is now (another folder's id, or a stale one, is a 400 naming ``ids``);
a search runs there.  At most ``MAX_BULK`` messages per request, changed
with one command over a UID set.  Labels on a server without Gmail's
extension, and expunging (or moving without MOVE) on a server without
UIDPLUS, are a 422 (``LabelsUnsupported``, ``UidplusRequired``): the
reference's plain EXPUNGE also removed other ``\\Deleted`` mail (weakness
17).  The account's own failures are those of ``trimap.api.imap``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from quart import Blueprint, request

from imapproto import SequenceSet, search
from trimap.api.body import json_object, refuse_unknown
from trimap.api.context import runtime
from trimap.api.errors import ApiError, invalid_input
from trimap.api.imap import account_session
from trimap.api.query import QueryParser
from trimap.engine import AccountSession
from trimap.mailbox.actions import (
    GMAIL,
    ExpungeUnsupported,
    FlagChange,
    LabelsUnsupported,
    Moved,
    change_flags,
    delete_message,
    existing_uids,
    matching_uids,
    move_messages,
    parse_flag_change,
)
from trimap.mailbox.criteria import InvalidSearch, parse_search
from trimap.mailbox.locate import MessageNotFound, OpenFolder, locate_message, open_folder
from trimap.messages.ids import InvalidId, decode_message_id, encode_message_id

__all__ = ["MAX_BULK", "MAX_PATH", "blueprint", "check_path"]

blueprint = Blueprint("message_actions", __name__)

MAX_BULK = 10_000
MAX_PATH = 1024
MAX_REPORTED = 10  # bad ids named in one answer
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FLAG_KEYS = ("flags", "labels")


def check_path(value: Any, key: str, problems: dict[str, str]) -> str | None:
    """``value`` if it is a folder path (1 to ``MAX_PATH`` characters, no control
    characters), else None and a problem under ``key``."""
    if isinstance(value, str) and 0 < len(value) <= MAX_PATH and not _CONTROL.search(value):
        return value
    problems[key] = f'"{key}" must be a folder path of 1 to {MAX_PATH} characters'
    return None


def _check_message_id(message: str, problems: dict[str, str]) -> None:
    """A 400 for an id trimap never gave out, as ``GET .../message/{message}`` does."""
    try:
        decode_message_id(message)
    except InvalidId as invalid:
        problems["message"] = f'"message" is not a message id: {invalid}'


@asynccontextmanager
async def _actions_session(account_id: str) -> AsyncIterator[AccountSession]:
    """``account_session``, with what the server cannot do answered as a 422."""
    try:
        async with account_session(account_id) as session:
            yield session
    except LabelsUnsupported:
        raise ApiError(
            422, "Labels exist only on Gmail accounts (X-GM-EXT-1)", "LabelsUnsupported"
        ) from None
    except ExpungeUnsupported:
        raise ApiError(
            422,
            "The IMAP server lacks UIDPLUS: the message cannot be removed without also "
            "removing every other message marked \\Deleted",
            "UidplusRequired",
        ) from None


# -- one message ----------------------------------------------------------------------


def _flag_changes(
    body: Mapping[str, Any], problems: dict[str, str]
) -> tuple[FlagChange | None, FlagChange | None]:
    flags = parse_flag_change(body.get("flags"), "flags", problems)
    labels = parse_flag_change(body.get("labels"), "labels", problems, labels=True)
    return flags, labels


def _flags_answer(flags: FlagChange | None, labels: FlagChange | None) -> dict[str, Any]:
    return {
        key: change.answer()
        for key, change in zip(_FLAG_KEYS, (flags, labels), strict=True)
        if change is not None
    }


async def _located(session: AccountSession, message_id: str) -> tuple[OpenFolder, int, SequenceSet]:
    """The folder (selected writable) and UID of ``message_id``; 404 unless it exists."""
    folder, uid = await locate_message(session, runtime().sync, message_id, writable=True)
    found = await existing_uids(session.client, SequenceSet.from_iterable([uid]))
    if not found:
        raise MessageNotFound(message_id)
    return folder, uid, found


def _new_id(moved: Moved, uid: int) -> dict[str, Any]:
    if moved.folder_id is None or moved.uids is None or uid not in moved.uids:
        return {}
    new_uid = moved.uids[uid]
    return {"id": encode_message_id(moved.folder_id, new_uid), "uid": new_uid}


@blueprint.put("/v1/account/<account>/message/<message>")
async def update_message(account: str, message: str) -> dict[str, Any]:
    body = await json_object()
    problems: dict[str, str] = {}
    _check_message_id(message, problems)
    refuse_unknown(body, _FLAG_KEYS, problems)
    flags, labels = _flag_changes(body, problems)
    if problems:
        raise invalid_input(problems)
    async with _actions_session(account) as session:
        folder, _, uids = await _located(session, message)
        await change_flags(session, folder.path, uids, flags, labels)
    return _flags_answer(flags, labels)


@blueprint.put("/v1/account/<account>/message/<message>/move")
async def move_message(account: str, message: str) -> dict[str, Any]:
    body = await json_object()
    problems: dict[str, str] = {}
    _check_message_id(message, problems)
    refuse_unknown(body, ("path",), problems)
    target = check_path(body.get("path"), "path", problems)
    if target is None or problems:
        raise invalid_input(problems)
    async with _actions_session(account) as session:
        folder, uid, uids = await _located(session, message)
        moved = await move_messages(session, runtime().sync, folder.path, uids, target)
    return {"path": moved.path, **_new_id(moved, uid)}


@blueprint.delete("/v1/account/<account>/message/<message>")
async def remove_message(account: str, message: str) -> dict[str, Any]:
    query = QueryParser(request.args, allowed={"force"})
    force = query.boolean("force", False)
    _check_message_id(message, query.problems)
    query.check()
    async with _actions_session(account) as session:
        folder, uid, _ = await _located(session, message)
        moved = await delete_message(session, runtime().sync, folder.path, uid, force=force)
    if moved is None:
        return {"deleted": True}
    return {"deleted": False, "moved": {"destination": moved.path, **_new_id(moved, uid)}}


# -- many messages --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Selection:
    """The bulk routes' ``ids`` (decoded) or ``search`` (compiled inside the session)."""

    ids: tuple[tuple[str, int, int], ...] = ()  # (id, folder number, UID)
    search: Mapping[str, Any] | None = None


def _search_key(
    criteria: Mapping[str, Any], problems: dict[str, str], *, gmail: bool
) -> search.SearchKey | None:
    try:
        return parse_search(criteria, gmail=gmail)
    except InvalidSearch as invalid:
        problems.update({f"search.{key}": message for key, message in invalid.fields.items()})
        return None


def _selection(body: Mapping[str, Any], problems: dict[str, str]) -> _Selection | None:
    ids, criteria = body.get("ids"), body.get("search")
    if (ids is None) == (criteria is None):
        problems["ids"] = 'one of "ids" and "search" is required, not both'
        return None
    if criteria is not None:
        if not isinstance(criteria, Mapping):
            problems["search"] = '"search" must be an object'
            return None
        # Checked now, so that a mistake is a 400 before the account is asked.
        found = _search_key(criteria, problems, gmail=False)
        return None if found is None else _Selection(search=criteria)
    if not isinstance(ids, list) or not 0 < len(ids) <= MAX_BULK:
        problems["ids"] = f'"ids" must be an array of 1 to {MAX_BULK} message ids'
        return None
    decoded: list[tuple[str, int, int]] = []
    bad: dict[str, str] = {}
    for index, text in enumerate(ids):
        try:
            if not isinstance(text, str):
                raise InvalidId("not a string")
            decoded.append((text, *decode_message_id(text)))
        except InvalidId:
            if len(bad) < MAX_REPORTED:
                bad[f"ids.{index}"] = f'"ids.{index}" is not a message id'
    problems.update(bad)
    return None if bad else _Selection(ids=tuple(decoded))


async def _matching(
    session: AccountSession, folder: OpenFolder, selection: _Selection
) -> SequenceSet:
    """The UIDs of ``folder`` (selected) the selection names and that exist."""
    client = session.client
    if selection.search is not None:
        problems: dict[str, str] = {}
        criteria = _search_key(selection.search, problems, gmail=client.has(GMAIL))
        if criteria is None:
            raise invalid_input(problems)
        found = await matching_uids(client, criteria)
    else:
        foreign = [text for text, folder_id, _ in selection.ids if folder_id != folder.folder_id]
        if foreign:
            raise invalid_input(
                {
                    "ids": f"{len(foreign)} ids are not messages of {folder.path} as it is now "
                    f"(they name another folder, or are stale), e.g. {foreign[0]}"
                }
            )
        asked = SequenceSet.from_iterable(uid for _, _, uid in selection.ids)
        found = await existing_uids(client, asked)
    if len(found) > MAX_BULK:
        raise ApiError(
            400,
            f"The search matches {len(found)} messages, more than {MAX_BULK} in one request: "
            "narrow it (for example with search.uid ranges)",
            "TooManyMessages",
        )
    return found


def _bulk_query() -> tuple[dict[str, str], str | None]:
    """The bulk routes' query: its problems, and ``path`` (required)."""
    query = QueryParser(request.args, allowed={"path"})
    path = check_path(request.args.get("path"), "path", query.problems)
    return query.problems, path


@blueprint.put("/v1/account/<account>/messages")
async def update_messages(account: str) -> dict[str, Any]:
    problems, path = _bulk_query()
    body = await json_object()
    refuse_unknown(body, ("ids", "search", *_FLAG_KEYS), problems)
    selection = _selection(body, problems)
    flags, labels = _flag_changes(body, problems)
    if path is None or selection is None or problems:
        raise invalid_input(problems)
    async with _actions_session(account) as session:
        folder = await open_folder(session, runtime().sync, path, writable=True)
        uids = await _matching(session, folder, selection)
        await change_flags(session, folder.path, uids, flags, labels)
    return {"matched": len(uids), **_flags_answer(flags, labels)}


@blueprint.put("/v1/account/<account>/messages/move")
async def move_many(account: str) -> dict[str, Any]:
    problems, path = _bulk_query()
    body = await json_object()
    refuse_unknown(body, ("ids", "search", "path"), problems)
    selection = _selection(body, problems)
    target = check_path(body.get("path"), "body.path", problems)
    if path is None or target is None or selection is None or problems:
        raise invalid_input(problems)
    instance = runtime()
    async with _actions_session(account) as session:
        folder = await open_folder(session, instance.sync, path, writable=True)
        uids = await _matching(session, folder, selection)
        moved = await move_messages(session, instance.sync, folder.path, uids, target)
    answer: dict[str, Any] = {"path": moved.path, "moved": moved.count}
    if moved.folder_id is not None and moved.uids is not None:
        answer["ids"] = {
            encode_message_id(folder.folder_id, old): encode_message_id(moved.folder_id, new)
            for old, new in moved.uids.items()
        }
    return answer
