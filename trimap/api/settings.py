"""``GET /v1/settings`` and ``POST /v1/settings``: the reference's settings routes.

``GET /v1/settings?webhooks=true&notifyText=true`` answers only the keys asked
for (``true``/``1``/``Y``; ``false``/``0``/``N`` leaves a key out), ``null``
for unset ones; ``eventTypes=true`` adds the list of event names.
``webhookSecret`` is never answered in clear.  ``POST /v1/settings`` takes any
subset of the keys (``null`` unsets one) and answers ``{"updated": [...]}``.
Unknown keys and bad values are a 400 naming every offending field.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from trimap.api.body import json_object
from trimap.api.context import runtime
from trimap.api.errors import invalid_input
from trimap.events import EVENT_KINDS
from trimap.settings import SETTING_KEYS, SettingsError

__all__ = ["blueprint"]

blueprint = Blueprint("settings", __name__)

_TRUE = frozenset({"true", "1", "y"})
_FALSE = frozenset({"false", "0", "n"})


@blueprint.get("/v1/settings")
async def read_settings() -> dict[str, Any]:
    problems: dict[str, str] = {}
    wanted: list[str] = []
    for key in request.args:
        values = request.args.getlist(key)
        if key not in SETTING_KEYS and key != "eventTypes":
            problems[key] = f'"{key}" is not allowed'
        elif len(values) != 1 or values[0].strip().lower() not in _TRUE | _FALSE:
            problems[key] = f'"{key}" must be a boolean'
        elif values[0].strip().lower() in _TRUE:
            wanted.append(key)
    if problems:
        raise invalid_input(problems)
    keys = [key for key in wanted if key != "eventTypes"]
    answer: dict[str, Any] = await runtime().settings.read(keys) if keys else {}
    if "eventTypes" in wanted:
        answer["eventTypes"] = sorted(EVENT_KINDS)
    return answer


@blueprint.post("/v1/settings")
async def update_settings() -> dict[str, Any]:
    body = await json_object()
    try:
        updated = await runtime().settings.update(body)
    except SettingsError as exc:
        raise invalid_input(exc.fields) from None
    return {"updated": updated}
