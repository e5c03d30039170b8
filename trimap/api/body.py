"""Request bodies: the JSON object a route expects, or the API's 400.

``json_object()`` reads the request body as JSON whatever its Content-Type
says (as the reference did) and refuses anything but an object, naming
``body``; ``json_body()`` is the same reading for a route whose body is
optional (``None`` when there is none); ``refuse_unknown(body, allowed,
problems)`` adds one problem per key the route does not know (the
reference's schemas reject unknown keys); ``date_time(value, key, problems)``
reads an ISO 8601 date-time field (UTC when it names no zone).

Rule it keeps: any bytes are an answer, never a 500: a body that is not JSON
-- not UTF-8 (or UTF-16/32) text, or text that does not parse -- reads as no
JSON at all, which the routes refuse with their 400.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from quart import request

from trimap.api.errors import invalid_input

__all__ = ["date_time", "json_body", "json_object", "refuse_unknown"]


async def json_body() -> Any:
    """The request body parsed as JSON; ``None`` when it is empty or not JSON."""
    data = await request.get_data(as_text=False)
    if not data:
        return None
    try:
        return json.loads(data)  # bytes: UTF-8, -16 or -32, as RFC 8259 allows
    except ValueError:  # not JSON, or not text (UnicodeDecodeError is a ValueError)
        return None


async def json_object() -> dict[str, Any]:
    """The request's JSON object; a 400 naming ``body`` if it is not one."""
    body = await json_body()
    if not isinstance(body, dict):
        raise invalid_input({"body": "the body must be a JSON object"})
    return body


def refuse_unknown(
    body: Mapping[str, Any], allowed: Collection[str], problems: dict[str, str]
) -> None:
    """Record ``"<key>" is not allowed`` in ``problems`` for each key not in ``allowed``."""
    for key in sorted(set(body) - set(allowed)):
        problems[key] = f'"{key}" is not allowed'


def date_time(value: Any, key: str, problems: dict[str, str]) -> datetime | None:
    """The ISO 8601 date-time ``value`` of field ``key`` (UTC when it names no zone);
    ``None`` when absent, or when invalid (then recorded in ``problems``)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        problems[key] = f'"{key}" must be an ISO 8601 date-time'
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
