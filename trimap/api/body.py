"""Request bodies: the JSON object a route expects, or the API's 400.

``json_object()`` reads the request body as JSON whatever its Content-Type
says (as the reference did) and refuses anything but an object, naming
``body``; ``refuse_unknown(body, allowed, problems)`` adds one problem per key
the route does not know (the reference's schemas reject unknown keys).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from quart import request

from trimap.api.errors import invalid_input

__all__ = ["json_object", "refuse_unknown"]


async def json_object() -> dict[str, Any]:
    """The request's JSON object; a 400 naming ``body`` if it is not one."""
    body = await request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise invalid_input({"body": "the body must be a JSON object"})
    return body


def refuse_unknown(
    body: Mapping[str, Any], allowed: Collection[str], problems: dict[str, str]
) -> None:
    """Record ``"<key>" is not allowed`` in ``problems`` for each key not in ``allowed``."""
    for key in sorted(set(body) - set(allowed)):
        problems[key] = f'"{key}" is not allowed'
