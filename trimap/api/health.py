"""``GET /health``: is this instance able to serve, and on what.

Answers 200 when Redis is reachable and 503 when it is not (load balancers
read the status), with the same JSON body either way: trimap's version and
uptime, and Redis' reachability, version, round-trip latency and whether it
is trimap's private instance.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from trimap import __version__
from trimap.api.context import runtime

__all__ = ["blueprint"]

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
async def health() -> tuple[dict[str, Any], int]:
    instance = runtime()
    redis = await instance.store.health()
    body: dict[str, Any] = {
        "status": "ok" if redis.reachable else "unavailable",
        "version": __version__,
        "uptime": round(instance.uptime, 3),
        "redis": {
            "reachable": redis.reachable,
            "version": redis.version,
            "latencyMs": redis.latency_ms,
            "private": instance.private_redis,
        },
    }
    if redis.error:
        body["redis"]["error"] = redis.error
    return body, 200 if redis.reachable else 503
