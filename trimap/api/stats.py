"""``GET /v1/stats``: what this instance holds, at a glance.

``{"version", "license", "uptime", "accounts", "connections", "events",
"webhooks"}``: the reference's keys (``accounts`` is the registry's count,
``connections`` how many account connections are in each state, every
state named, 0 included) plus the uptime in seconds, the event log's latest
position and, per webhook destination, how far delivery lags behind.

Rules it keeps: cheap to ask (a couple of Redis round trips, no IMAP); the
connection counts are the engine's live states, read at the moment of the
request, so they can differ from ``accounts`` for the instant between a
registration and its runner's start.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from quart import Blueprint, request

from trimap import __version__
from trimap.accounts import ACCOUNT_STATES
from trimap.api.context import runtime
from trimap.api.query import QueryParser

__all__ = ["blueprint"]

blueprint = Blueprint("stats", __name__)


def _license() -> str | None:
    """trimap's license as its package metadata declares it."""
    try:
        declared: str | None = metadata.metadata("trimap")["License-Expression"]
        return declared
    except metadata.PackageNotFoundError:
        return None


LICENSE = _license()


@blueprint.get("/v1/stats")
async def stats() -> dict[str, Any]:
    QueryParser(request.args, allowed=()).check()  # no parameters
    instance = runtime()
    total = (await instance.accounts.list(page_size=1)).total
    states = instance.engine.states()
    destinations = await instance.webhooks.status()
    return {
        "version": __version__,
        "license": LICENSE,
        "uptime": round(instance.uptime, 3),
        "accounts": total,
        "connections": {state: states.get(state, 0) for state in ACCOUNT_STATES},
        "events": {"latest": await instance.events.latest()},
        "webhooks": {
            status.key: {
                "state": status.state,
                "lagEvents": status.lag_events,
                "lagSeconds": status.lag_seconds,
            }
            for status in destinations
        },
    }
