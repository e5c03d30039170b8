"""``POST /v1/account/{account}/message``: build a message and APPEND it to a folder.

How it works: the body is the reference's submit fields (``trimap.compose``:
``from``, ``to``, ``cc``, ``bcc``, ``subject``, ``text``, ``html``,
``attachments``, ``messageId``, ``headers``, ``reference``) plus ``path``
(required), ``flags`` (default none) and ``internalDate`` (ISO 8601; the
server's clock when absent).  Everything is checked first and every problem
named in one 400.  With a ``reference``, one turn on the connection reads
the original (``trimap.mailbox.reference``); the MIME is built off the event
loop (a worker thread: big attachments take a while to encode); a second
turn APPENDs it (``trimap.mailbox.actions.append_message``).  The answer is
``{"path", "id", "uid", "uidValidity" (a string), "messageId"}``, the
numbers where the server has UIDPLUS (APPENDUID).

Choices: Bcc is kept in the uploaded message (a draft must remember its
Bcc; submit will leave it out); a reference threads the message
(In-Reply-To, References) but sets no flag on the original, ``\\Answered``
included (reference weakness 12); a forward attaches the original as it is.

Errors: a referenced message that does not exist is a 404
``ReferenceNotFound``, a forward's original over ``api.maxSize`` a 413
``ReferenceTooLarge``, a folder that does not exist a 404
``MailboxNotFound``; the account's own failures are those of
``trimap.api.imap``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

import trio
from quart import Blueprint

from trimap.api.body import date_time, json_object
from trimap.api.context import runtime
from trimap.api.errors import ApiError, invalid_input
from trimap.api.imap import account_session
from trimap.api.message_actions import check_path
from trimap.compose import InvalidCompose, Original, build_message, parse_compose
from trimap.compose.request import ComposeRequest
from trimap.mailbox.actions import append_message, parse_flags
from trimap.mailbox.locate import MessageNotFound
from trimap.mailbox.reference import OriginalTooLarge, read_original
from trimap.messages.ids import encode_message_id

__all__ = ["blueprint"]

blueprint = Blueprint("upload", __name__)

UPLOAD_KEYS = frozenset({"path", "flags", "internalDate"})


def _internal_date(value: Any, problems: dict[str, str]) -> datetime | None:
    """An ISO 8601 date-time with a whole-minute offset (what IMAP's date-time can hold)."""
    moment = date_time(value, "internalDate", problems)
    if moment is not None and (moment.utcoffset() or timedelta()) % timedelta(minutes=1):
        problems["internalDate"] = '"internalDate" must be an ISO 8601 date-time'
        return None
    return moment


async def _original(account: str, compose: ComposeRequest) -> Original | None:
    if compose.reference is None:
        return None
    instance = runtime()
    async with account_session(account) as session:
        try:
            return await read_original(
                session, instance.sync, compose.reference, max_source=instance.config.api_max_size
            )
        except MessageNotFound:
            raise ApiError(404, "Referenced message was not found", "ReferenceNotFound") from None
        except OriginalTooLarge as too_large:
            raise ApiError(
                413,
                f"The referenced message has {too_large.size} bytes, more than api.maxSize",
                "ReferenceTooLarge",
            ) from None


@blueprint.post("/v1/account/<account>/message")
async def upload_message(account: str) -> dict[str, Any]:
    body = await json_object()
    problems: dict[str, str] = {}
    path = check_path(body.get("path"), "path", problems)
    flags = parse_flags(body.get("flags", []), "flags", problems)
    internal_date = _internal_date(body.get("internalDate"), problems)
    compose = None
    try:
        compose = parse_compose(
            {key: value for key, value in body.items() if key not in UPLOAD_KEYS}
        )
    except InvalidCompose as invalid:
        problems.update(invalid.fields)
    if path is None or flags is None or compose is None or problems:
        raise invalid_input(problems)
    original = await _original(account, compose)
    built = await trio.to_thread.run_sync(partial(build_message, compose, original, keep_bcc=True))
    instance = runtime()
    async with account_session(account) as session:
        appended = await append_message(
            session, instance.sync, path, built.raw, flags, internal_date
        )
    answer: dict[str, Any] = {"path": appended.path}
    if appended.folder_id is not None and appended.uid is not None:
        answer["id"] = encode_message_id(appended.folder_id, appended.uid)
        answer["uid"] = appended.uid
        answer["uidValidity"] = str(appended.uidvalidity)
    answer["messageId"] = built.message_id
    return answer
