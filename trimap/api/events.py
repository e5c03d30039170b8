"""``GET /v1/events``: page through the event log with a cursor.

Query: ``cursor`` (from the previous answer; absent or empty: the oldest
retained event), ``account`` (only this account's events), ``event`` (only
these kinds; repeat it or separate kinds with commas), ``limit`` (1 to 1000,
default 100).  Any other query key is refused, like the reference refuses
unknown keys.

Answer: ``{"events": [...], "cursor": "<next>", "hasMore": bool}``; each
event is its webhook payload plus ``position``.  ``hasMore`` false means the
cursor is at the end of the log; true means ask again at once (with filters a
page can be short, even empty, because each request examines a bounded number
of events).  Errors: 400 ``InvalidInput`` naming the fields, 410
``CursorExpired`` when events after the cursor were already trimmed.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from trimap.api.context import runtime
from trimap.api.errors import ApiError, invalid_input
from trimap.events import EVENT_KINDS, CursorExpired, InvalidCursor

__all__ = ["blueprint", "parse_kinds"]

blueprint = Blueprint("events", __name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
QUERY_KEYS = frozenset({"cursor", "account", "event", "limit"})


def _limit(raw: str | None, problems: dict[str, str]) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    text = raw.strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_LIMIT:
        return int(text)
    problems["limit"] = f'"limit" must be an integer from 1 to {MAX_LIMIT}'
    return DEFAULT_LIMIT


def parse_kinds(values: list[str], problems: dict[str, str]) -> frozenset[str] | None:
    """The kinds the ``event`` values name (repeated or comma-separated); unknown ones: problems."""
    kinds = frozenset(kind.strip() for value in values for kind in value.split(",") if kind.strip())
    unknown = sorted(kinds - EVENT_KINDS)
    if unknown:
        known = ", ".join(sorted(EVENT_KINDS))
        problems["event"] = f'"event" has unknown kinds {", ".join(unknown)}; known: {known}'
    return kinds or None


@blueprint.get("/v1/events")
async def list_events() -> dict[str, Any]:
    args = request.args
    problems: dict[str, str] = {}
    for key in sorted(set(args) - QUERY_KEYS):
        problems[key] = f'"{key}" is not allowed'
    for key in ("cursor", "account", "limit"):
        if len(args.getlist(key)) > 1:
            problems[key] = f'"{key}" must be given once'
    limit = _limit(args.get("limit"), problems)
    kinds = parse_kinds(args.getlist("event"), problems)
    if problems:
        raise invalid_input(problems)
    try:
        page = await runtime().events.read(
            args.get("cursor") or None, limit, account=args.get("account") or None, kinds=kinds
        )
    except InvalidCursor:
        raise invalid_input({"cursor": '"cursor" is not a cursor this API issued'}) from None
    except CursorExpired:
        raise ApiError(
            410,
            "Events after this cursor were trimmed from the log (retention or size bound); "
            "read without a cursor to start at the oldest event kept",
            "CursorExpired",
        ) from None
    return {
        "events": [event.to_json() | {"position": event.position} for event in page.events],
        "cursor": page.cursor,
        "hasMore": page.has_more,
    }
