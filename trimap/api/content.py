"""Message content routes: decoded text, attachments and the raw message, streamed.

``GET /v1/account/{account}/text/{text}?textType=&maxBytes=`` answers
``{"plain", "html", "hasMore"}`` (``trimap.mailbox.textid.read_text``): with
``textType`` ``plain`` or ``html`` only that key (``""`` if the message has
none), with ``*`` (the default) every kind the message has, other text
subtypes (``calendar`` ...) under their own key.  ``maxBytes`` counts UTF-8
bytes per key and never cuts a character.

``GET /v1/account/{account}/attachment/{attachment}`` streams one body part
with its transfer encoding undone; ``GET /v1/account/{account}/message/
{message}/source`` streams the whole message as stored (``message/rfc822``,
``Content-Length`` from RFC822.SIZE).  Both go through
``trimap.mailbox.download``: the first window is fetched before the answer
starts, so a missing account, message or part is a proper JSON error (404
``MessageNotFound``, ``AttachmentNotFound``; an id trimap never gave out is a
400 naming it, as for the other message routes); the rest comes window by
window, each in a turn of its own, so other requests for the account run in
between.  ``Content-Length`` is sent only when exact (no transfer encoding
to undo), else the body is chunked; ``Content-Disposition`` names the file
as RFC 6266 says (an ASCII ``filename`` and a UTF-8 ``filename*``; the
reference sent an HTML-entity encoded name, its weakness 10).

Rules it keeps:

* Every turn on the connection is shielded from cancellation (and bounded by
  ``account_session``'s deadline): a client that goes away mid-command must
  not break the account's connection for everyone.  A client that
  disconnects mid-download therefore stops it after the current window at
  the latest; nothing keeps running.
* A download that cannot go on after its answer has started (the message
  deleted, its folder reset, the connection lost) ends the body abruptly:
  the connection is closed without the final chunk, or short of
  ``Content-Length``, so a client never takes a truncated body for a whole
  one.
* Header values are built only from checked tokens and encoded names: a
  sender's odd content type becomes ``application/octet-stream``, control
  characters and path separators in a filename become ``_``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import trio
from quart import Blueprint, Response, current_app, request
from quart.ctx import AppContext

from imapproto import BodyStructure
from trimap.api.context import runtime
from trimap.api.errors import ApiError
from trimap.api.imap import account_session
from trimap.api.messages import MAX_TEXT_BYTES
from trimap.api.query import QueryParser
from trimap.engine import AccountSession
from trimap.mailbox.details import TEXT_TYPES
from trimap.mailbox.download import Download, PartNotFound, start_download
from trimap.mailbox.textid import TEXT_KINDS, read_text
from trimap.messages.headers import decode_words
from trimap.messages.ids import (
    InvalidId,
    decode_attachment_id,
    decode_message_id,
    decode_text_id,
    encode_message_id,
)

__all__ = ["blueprint", "content_disposition"]

blueprint = Blueprint("content", __name__)

#: Longest filename given in Content-Disposition (characters); longer ones are cut.
MAX_FILENAME = 255

T = TypeVar("T")

_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_UNSAFE_IN_FILENAME = re.compile(r"[\x00-\x1f\x7f/\\]")
#: RFC 5987 attr-chars that need no percent-encoding.
_ATTR_CHARS = "!#$&+-.^_`|~"


@asynccontextmanager
async def _turn(account_id: str) -> AsyncIterator[AccountSession]:
    """``account_session``, shielded from the request's cancellation (module rules)."""
    with trio.CancelScope(shield=True):
        async with account_session(account_id) as session:
            yield session


@asynccontextmanager
async def _streaming_turn(
    app_context: Callable[[], AppContext], account_id: str
) -> AsyncIterator[AccountSession]:
    """``_turn`` while a body streams, when the request's app context is gone."""
    async with app_context(), _turn(account_id) as session:
        yield session


def _checked_id(query: QueryParser, key: str, value: str, decode: Callable[[str], T]) -> T | None:
    """``value`` decoded; an id trimap never gave out is a problem named ``key`` (a 400)."""
    try:
        return decode(value)
    except InvalidId as invalid:
        query.problems[key] = f'"{key}" is not a valid {key} id: {invalid}'
        return None


@blueprint.get("/v1/account/<account>/text/<text>")
async def get_text(account: str, text: str) -> dict[str, Any]:
    query = QueryParser(request.args, allowed={"textType", "maxBytes"})
    text_type = query.choice("textType", TEXT_TYPES) or "*"
    max_bytes = query.integer("maxBytes", 0, minimum=0, maximum=MAX_TEXT_BYTES)
    _checked_id(query, "text", text, decode_text_id)
    query.check()
    kinds = TEXT_KINDS if text_type == "*" else (text_type,)
    async with _turn(account) as session:
        texts, has_more = await read_text(session, runtime().sync, text, kinds, max_bytes)
    if text_type != "*":
        texts = {text_type: texts.get(text_type, "")}
    return {**texts, "hasMore": has_more}


@blueprint.get("/v1/account/<account>/attachment/<attachment>")
async def get_attachment(account: str, attachment: str) -> Response:
    query = QueryParser(request.args, allowed=())
    decoded = _checked_id(query, "attachment", attachment, decode_attachment_id)
    query.check()
    assert decoded is not None
    folder_id, uid, part = decoded
    async with _turn(account) as session:
        try:
            message_id = encode_message_id(folder_id, uid)
            download = await start_download(session, runtime().sync, message_id, part)
        except PartNotFound:
            raise ApiError(
                404, "Requested attachment was not found", "AttachmentNotFound"
            ) from None
    node = download.node
    assert node is not None  # a part was asked for
    filename = node.disposition_params.get("filename") or node.params.get("name")
    disposition = content_disposition(decode_words(filename) if filename else None)
    return _streamed(account, download, _content_type(node), disposition)


@blueprint.get("/v1/account/<account>/message/<message>/source")
async def get_source(account: str, message: str) -> Response:
    query = QueryParser(request.args, allowed=())
    _checked_id(query, "message", message, decode_message_id)
    query.check()
    async with _turn(account) as session:
        download = await start_download(session, runtime().sync, message)
    # a message id is base64url: safe in a quoted header value as it is
    return _streamed(account, download, "message/rfc822", f'attachment; filename="{message}.eml"')


def _streamed(account: str, download: Download, content_type: str, disposition: str) -> Response:
    turn = partial(_streaming_turn, current_app.app_context, account)
    response = Response(download.decoded(turn), content_type=content_type)
    response.headers["Content-Disposition"] = disposition
    if download.length is not None:
        response.content_length = download.length
    response.timeout = None  # Quart's default would cut a slow client's download after 60 s
    return response


def _content_type(node: BodyStructure) -> str:
    if not (_TOKEN.fullmatch(node.type) and _TOKEN.fullmatch(node.subtype)):
        return "application/octet-stream"
    charset = node.params.get("charset")
    if node.type == "text" and charset and _TOKEN.fullmatch(charset):
        return f"{node.mime_type}; charset={charset}"
    return node.mime_type


def content_disposition(filename: str | None) -> str:
    """``attachment`` with ``filename`` as RFC 6266 gives it: an ASCII fallback and UTF-8."""
    if not filename:
        return "attachment"
    name = _UNSAFE_IN_FILENAME.sub("_", filename[:MAX_FILENAME])
    fallback = "".join(
        char if " " <= char <= "~" and char not in '"\\' else "_"
        for char in unicodedata.normalize("NFKD", name)
        if not unicodedata.combining(char)
    )
    encoded = quote(name.encode("utf-8", "replace"), safe=_ATTR_CHARS)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
