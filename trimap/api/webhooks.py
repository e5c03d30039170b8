"""``GET /v1/webhooks`` (each destination's progress) and ``POST /v1/webhooks/replay``.

``GET`` lists every running destination: its key, redacted URL, state, cursor,
lag (log entries after the cursor, and the age of the oldest undelivered
event), the oldest undelivered event, and the last delivery error.
``POST /v1/webhooks/replay`` with ``{"from": "<position>" | "<ISO time>",
"destination": "global"}`` (destination optional: all) moves cursors back so
delivery starts again at that event, or at the first event logged at or
after that time.  Bad input is a 400 naming the fields.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from quart import Blueprint, request

from trimap.api.body import json_object
from trimap.api.context import runtime
from trimap.api.errors import invalid_input
from trimap.events import format_date
from trimap.store import position_at, position_before, position_time
from trimap.webhooks import DestinationStatus

__all__ = ["blueprint"]

blueprint = Blueprint("webhooks", __name__)

_POSITION = re.compile(r"[0-9]{1,15}-[0-9]{1,19}")
REPLAY_KEYS = frozenset({"from", "destination"})


def _when(seconds: float | None) -> str | None:
    return None if seconds is None else format_date(datetime.fromtimestamp(seconds, UTC))


def _describe(status: DestinationStatus) -> dict[str, Any]:
    oldest = status.oldest_undelivered
    return {
        "destination": status.key,
        "url": status.url,
        "state": status.state,
        "cursor": status.cursor,
        "lag": {"events": status.lag_events, "seconds": status.lag_seconds},
        "oldestUndelivered": None
        if oldest is None or oldest.position is None
        else {
            "id": oldest.id,
            "position": oldest.position,
            "event": oldest.kind,
            "account": oldest.account,
            "loggedAt": _when(position_time(oldest.position)),
        },
        "attempts": status.attempts,
        "delivered": status.delivered,
        "lastError": None
        if status.last_error is None
        else {"message": status.last_error, "at": _when(status.last_error_at)},
    }


@blueprint.get("/v1/webhooks")
async def list_webhooks() -> dict[str, Any]:
    if request.args:
        raise invalid_input({key: f'"{key}" is not allowed' for key in request.args})
    statuses = await runtime().webhooks.status()
    return {"destinations": [_describe(status) for status in statuses]}


def _cursor_from(value: Any) -> str | None:
    """The cursor to restart from for ``from``, ``None`` when it is neither form."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _POSITION.fullmatch(text):
        return position_before(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return position_at(moment)


@blueprint.post("/v1/webhooks/replay")
async def replay() -> dict[str, Any]:
    body = await json_object()
    problems = {key: f'"{key}" is not allowed' for key in body if key not in REPLAY_KEYS}
    cursor = _cursor_from(body.get("from"))
    if cursor is None:
        problems["from"] = '"from" must be an event position (from the log) or an ISO 8601 time'
    destination = body.get("destination")
    running = {status.key for status in await runtime().webhooks.status()}
    if destination is not None and destination not in running:
        problems["destination"] = '"destination" must name a configured webhook destination'
    if problems:
        raise invalid_input(problems)
    assert cursor is not None
    keys = None if destination is None else [destination]
    moved = await runtime().webhooks.replay(cursor, keys)
    return {"destinations": moved, "cursor": cursor}
