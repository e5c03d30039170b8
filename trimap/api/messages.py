"""The message routes: paged listing, paged search, one message in full.

``GET /v1/account/{account}/messages?path=&page=&pageSize=&cursor=`` and
``POST /v1/account/{account}/search`` (same query, body ``{"search": {...}}``)
answer ``{total, page, pages, messages, nextCursor}``, newest first
(``trimap.mailbox.listing``); ``GET /v1/account/{account}/message/{message}``
answers the extended message object, with its text when ``textType`` asks
(``trimap.mailbox.details``).

Errors, besides those of ``trimap.api.imap``: bad query, body, criteria or
cursor, and ``page`` together with ``cursor``, are a 400 naming every field;
a cursor of a folder that was reset, re-created or renamed since is a 410
``StaleCursor``; an id that trimap never gave out is a 400 naming
``message``, one that names no message (any more) a 404 ``MessageNotFound``.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from trimap.api.body import json_object, refuse_unknown
from trimap.api.context import runtime
from trimap.api.errors import ApiError, invalid_input
from trimap.api.imap import account_session
from trimap.api.mailboxes import MAX_PATH
from trimap.api.query import QueryParser
from trimap.mailbox.criteria import InvalidSearch, SearchKey, parse_search
from trimap.mailbox.details import TEXT_TYPES, message_details
from trimap.mailbox.listing import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Cursor,
    InvalidCursor,
    MessagePage,
    PageRequest,
    StaleCursor,
    list_messages,
)
from trimap.messages.ids import InvalidId, decode_message_id

__all__ = ["blueprint"]

blueprint = Blueprint("messages", __name__)

MAX_PAGE = 1_048_576
MAX_TEXT_BYTES = 1 << 30
_GMAIL = "X-GM-EXT-1"


def _page_query(problems: dict[str, str]) -> tuple[str, PageRequest]:
    """The folder and the page a listing or search asks for; what is wrong goes to
    ``problems``."""
    query = QueryParser(request.args, allowed=("path", "page", "pageSize", "cursor"))
    path = query.text("path", required=True, max_length=MAX_PATH)
    page = query.integer("page", 0, minimum=0, maximum=MAX_PAGE)
    page_size = query.integer("pageSize", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    cursor = None
    cursor_text = query.text("cursor")
    if cursor_text is not None:
        try:
            cursor = Cursor.decode(cursor_text)
        except InvalidCursor:
            query.problems["cursor"] = '"cursor" must be a nextCursor this API gave out'
        if request.args.get("page"):
            query.problems["page"] = '"page" and "cursor" cannot be used together'
    problems.update(query.problems)
    return path or "", PageRequest(page_size=page_size, page=page, cursor=cursor)


def _criteria(
    criteria: dict[str, Any], problems: dict[str, str], *, gmail: bool = False
) -> SearchKey | None:
    """The compiled ``search`` body; what is wrong goes to ``problems``."""
    try:
        return parse_search(criteria, gmail=gmail)
    except InvalidSearch as invalid:
        problems.update({f"search.{key}": message for key, message in invalid.fields.items()})
        return None


async def _page(
    account: str, path: str, wanted: PageRequest, search: dict[str, Any] | None = None
) -> MessagePage:
    instance = runtime()
    try:
        async with account_session(account) as session:
            criteria = None
            if search is not None:
                problems: dict[str, str] = {}
                criteria = _criteria(search, problems, gmail=session.client.has(_GMAIL))
                if problems:
                    raise invalid_input(problems)
            return await list_messages(session, instance.sync, path, wanted, criteria)
    except StaleCursor:
        raise ApiError(
            410,
            "The mailbox was reset, re-created or renamed since this cursor was given;"
            " list again without a cursor",
            "StaleCursor",
        ) from None


@blueprint.get("/v1/account/<account>/messages")
async def list_folder_messages(account: str) -> dict[str, Any]:
    problems: dict[str, str] = {}
    path, wanted = _page_query(problems)
    if problems:
        raise invalid_input(problems)
    return (await _page(account, path, wanted)).to_json()


@blueprint.post("/v1/account/<account>/search")
async def search_messages(account: str) -> dict[str, Any]:
    problems: dict[str, str] = {}
    path, wanted = _page_query(problems)
    body = await json_object()
    refuse_unknown(body, ("search",), problems)
    search = body.get("search")
    if isinstance(search, dict):
        _criteria(search, problems)  # every mistake a 400 before the account is asked
    else:
        problems["search"] = '"search" is required: an object of search criteria'
    if problems:
        raise invalid_input(problems)
    return (await _page(account, path, wanted, search)).to_json()


@blueprint.get("/v1/account/<account>/message/<message>")
async def read_message(account: str, message: str) -> dict[str, Any]:
    query = QueryParser(request.args, allowed=("textType", "maxBytes"))
    text_type = query.choice("textType", TEXT_TYPES)
    max_bytes = query.integer("maxBytes", 0, minimum=0, maximum=MAX_TEXT_BYTES)
    try:
        decode_message_id(message)
    except InvalidId as invalid:
        query.problems["message"] = f'"message" is not a message id: {invalid}'
    query.check()
    async with account_session(account) as session:
        return await message_details(
            session, runtime().sync, message, text_type=text_type, max_bytes=max_bytes
        )
