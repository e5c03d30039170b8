"""``/v1/stream``: the event log live over a WebSocket, resumable from a cursor.

How it works: the handler validates the query like ``GET /v1/events``
(``cursor``, ``account``, ``event``; any other key is refused).  Without a
cursor it takes ``latest()`` before accepting the handshake, so a client is
sent everything logged once it is connected.  It then tails the log: it reads
a page after its cursor, sends each event as one JSON text frame (the webhook
payload plus ``position``), moves the cursor to the page's cursor, and when
the log has nothing more it awaits ``EventLog.wait``.

Rules it keeps:

* No gaps, no repeats: the cursor is exclusive and only moves past what was
  sent (or filtered out), so a client that reconnects with the ``position``
  of the last event it got sees every later event exactly once.
* Back-pressure: each send is awaited before the next read, so a client that
  stops reading holds only its own handler (and one page), never a buffer.
* Errors are one frame, then the close: the API's error shape
  (``{"statusCode", "error", "message", "code"}``), with close code 1008 for
  what the client can fix (``InvalidInput``, ``CursorExpired``) and 1011 when
  Redis is unreachable (``StoreUnavailable``: reconnect later from the cursor).
* A stopping service does not wait for its streams: each is closed at once
  with 1001 (going away), so shutdown is not held up by idle tailers.
"""

from __future__ import annotations

import json

import trio
from quart import Blueprint, websocket

from trimap.api.context import runtime
from trimap.api.errors import ApiError, error_body, invalid_input
from trimap.api.events import parse_kinds
from trimap.events import CursorExpired, InvalidCursor
from trimap.store import StoreUnavailable

__all__ = ["blueprint"]

blueprint = Blueprint("stream", __name__)

PAGE_SIZE = 100
QUERY_KEYS = frozenset({"cursor", "account", "event"})
CLOSE_CLIENT_ERROR = 1008  # policy violation: the request cannot be served as asked
CLOSE_SERVER_ERROR = 1011  # internal error: try again later
CLOSE_GOING_AWAY = 1001  # the service is stopping: reconnect from the last position


def _query() -> tuple[str | None, str | None, frozenset[str] | None]:
    """The validated ``cursor``, ``account`` and kinds; raises the 400 ``ApiError``."""
    args = websocket.args
    problems: dict[str, str] = {}
    for key in sorted(set(args) - QUERY_KEYS):
        problems[key] = f'"{key}" is not allowed'
    for key in ("cursor", "account"):
        if len(args.getlist(key)) > 1:
            problems[key] = f'"{key}" must be given once'
    kinds = parse_kinds(args.getlist("event"), problems)
    if problems:
        raise invalid_input(problems)
    return args.get("cursor") or None, args.get("account") or None, kinds


async def _tail() -> None:
    cursor, account, kinds = _query()
    log = runtime().events
    if cursor is None:
        cursor = await log.latest()
    await websocket.accept()  # after latest(): what is logged once the client is in, it gets
    while True:
        page = await log.read(cursor, PAGE_SIZE, account=account, kinds=kinds)
        for event in page.events:
            await websocket.send(json.dumps(event.to_json() | {"position": event.position}))
        cursor = page.cursor
        if not page.has_more:
            await log.wait(cursor)


async def _fail(error: ApiError, close_code: int) -> None:
    body = error_body(error.status, error.message, error.code, **error.details)
    await websocket.send(json.dumps(body))
    await websocket.close(close_code, error.code)


async def _serve_stream() -> None:
    try:
        await _tail()
    except ApiError as error:
        await _fail(error, CLOSE_CLIENT_ERROR)
    except InvalidCursor:
        await _fail(
            invalid_input({"cursor": '"cursor" is not a cursor this API issued'}),
            CLOSE_CLIENT_ERROR,
        )
    except CursorExpired:
        message = (
            "Events after this cursor were trimmed from the log (retention or size bound); "
            "connect without a cursor to follow from now, GET /v1/events for what is kept"
        )
        await _fail(ApiError(410, message, "CursorExpired"), CLOSE_CLIENT_ERROR)
    except StoreUnavailable:
        message = "The database is not reachable; reconnect later from your last position"
        await _fail(ApiError(503, message, "StoreUnavailable"), CLOSE_SERVER_ERROR)


async def _cancel_when_set(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


@blueprint.websocket("/v1/stream")
async def stream() -> None:
    stopping = runtime().stopping
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_cancel_when_set, stopping, nursery.cancel_scope)
        await _serve_stream()
        nursery.cancel_scope.cancel()
    if stopping.is_set():
        await websocket.close(CLOSE_GOING_AWAY, "ServiceStopping")
