"""Webhook delivery state in Redis: one cursor per destination, hand-backs, lag counting.

How it works: the hash ``trimap:webhooks:cursors`` maps a destination key
(``global``, or ``account:<id>`` for an account's own URL) to the event-log
position of the last event that destination acknowledged (or skipped by its
event filter).  A sender writes its cursor after each delivery; ``init``
creates a cursor only where none exists (HSETNX), so a destination that comes
back keeps its place.  The hash ``trimap:webhooks:handbacks`` maps an account
whose own URL was cleared to the position up to which its events belonged to
that URL (see ``trimap.webhooks.routing``).  ``count_after`` counts log
entries after a cursor, up to a cap, for ``GET /v1/webhooks``;
``position_order`` orders positions.

Rules it keeps: positions are validated by ``trimap.store.eventlog`` rules
before they are stored or used; counting is bounded work (at most ``cap``
entries examined inside Redis).
"""

from __future__ import annotations

from typing import Any

from trimap.store.client import RedisStore
from trimap.store.eventlog import STREAM_KEY, check_position

__all__ = ["WebhookStore", "position_order"]

CURSORS_KEY = "trimap:webhooks:cursors"
HANDBACKS_KEY = "trimap:webhooks:handbacks"

_COUNT_AFTER = """
return #redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
"""


def position_order(position: str) -> tuple[int, int]:
    """A sort key for log positions: ``a`` comes before ``b`` iff its key is smaller."""
    ms, seq = check_position(position).split("-")
    return int(ms), int(seq)


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

    async def drop_cursor(self, destination: str) -> None:
        """Forget the destination's cursor (its account is gone)."""
        await self._store.call(self._store.client.hdel, CURSORS_KEY, destination)

    async def handbacks(self) -> dict[str, str]:
        """Every hand-back: account id → position."""
        raw: Any = await self._store.call(self._store.client.hgetall, HANDBACKS_KEY)
        return {account.decode(): position.decode() for account, position in raw.items()}

    async def set_handback(self, account: str, position: str) -> None:
        check_position(position)
        await self._store.call(self._store.client.hset, HANDBACKS_KEY, account, position)

    async def drop_handbacks(self, accounts: list[str]) -> None:
        if accounts:
            await self._store.call(self._store.client.hdel, HANDBACKS_KEY, *accounts)

    async def count_after(self, position: str, cap: int) -> int:
        """How many log entries come after ``position``, counting at most ``cap``."""
        args: list[str | int] = [check_position(position), cap]
        count: int = await self._store.call(
            lambda: self._count_script(keys=[STREAM_KEY], args=args)
        )
        return count
