"""Webhook delivery state in Redis: one cursor per destination, and lag counting.

How it works: the hash ``trimap:webhooks:cursors`` maps a destination key
(``global``; later ``account:<id>`` for per-account URLs) to the event-log
position of the last event that destination acknowledged (or skipped by its
event filter).  A sender writes its cursor after each delivery; ``init``
creates a cursor only where none exists (HSETNX), so a destination that comes
back keeps its place.  ``count_after`` counts log entries after a cursor, up
to a cap, for ``GET /v1/webhooks``.

Rules it keeps: positions are validated by ``trimap.store.eventlog`` rules
before they are stored or used; counting is bounded work (at most ``cap``
entries examined inside Redis).
"""

from __future__ import annotations

from typing import Any

from trimap.store.client import RedisStore
from trimap.store.eventlog import STREAM_KEY, check_position

__all__ = ["WebhookStore"]

CURSORS_KEY = "trimap:webhooks:cursors"

_COUNT_AFTER = """
return #redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
"""


class WebhookStore:
    """The cursors of webhook destinations (see the module comment)."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._count_script = store.client.register_script(_COUNT_AFTER)

    async def cursor(self, destination: str) -> str | None:
        """The destination's cursor, ``None`` when it has none."""
        client = self._store.client
        raw: Any = await self._store.call(lambda: client.hget(CURSORS_KEY, destination))
        return None if raw is None else str(raw.decode())

    async def set_cursor(self, destination: str, position: str) -> None:
        check_position(position)
        await self._store.call(self._store.client.hset, CURSORS_KEY, destination, position)

    async def init_cursor(self, destination: str, position: str) -> None:
        """Give the destination the cursor ``position`` unless it already has one."""
        check_position(position)
        await self._store.call(self._store.client.hsetnx, CURSORS_KEY, destination, position)

    async def count_after(self, position: str, cap: int) -> int:
        """How many log entries come after ``position``, counting at most ``cap``."""
        args: list[str | int] = [check_position(position), cap]
        count: int = await self._store.call(
            lambda: self._count_script(keys=[STREAM_KEY], args=args)
        )
        return count
