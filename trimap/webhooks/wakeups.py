"""``AccountWakeups``: one reader of the log that wakes the per-account webhook senders.

Why: a sender waiting with ``EventLog.wait`` asks Redis whether anything was
appended, at every append and every poll interval.  With thousands of
per-account destinations that would be thousands of queries per append and
per second, nearly all answered "yes, but nothing for you", and each sender
woken would then scan every other account's entries since its cursor.
Instead one task reads the log (no filter, its cursor in memory) and, for
each event of an account whose sender is registered, rings that account's
bell with the event's position; an idle per-account sender waits on its
bell only (``wait``), so the cost of an event is one woken sender.

Hints: a bell remembers the earliest position rung since its sender last
took it.  A sender whose read reached the log's end at cursor ``c`` may
start its next read just before that position instead of after ``c``,
without scanning the entries between, when the reader saw every entry after
``c`` (``c`` is not older than where the reader started): every event of
the account after ``c`` was appended after that read, hence after the
sender last took its bell, so the reader rang for it and the earliest such
event is the hint.  ``wait`` returns the cursor to read after: the hint's
predecessor when it is safe and later than ``c``, else ``c``.

Rules it keeps: the reader never waits for a sender (ringing sets a trio
event); an account registered before its sender's first read misses no
ring; one sender per account waits on a bell.  When the reader starts, or its
cursor expires (it fell behind retention), it reads on from the log's end,
which becomes its starting point, and rings every bell without a hint (a
sender registered earlier may have missed an event before that point).
Storage errors propagate (run it under ``supervise``: its cursor survives a
restart).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import trio

from trimap.events import CursorExpired, EventLog
from trimap.store import position_before
from trimap.store.webhooks import position_order

__all__ = ["AccountWakeups"]

log = logging.getLogger("trimap.webhooks")

PAGE_SIZE = 500


@dataclass(slots=True)
class _Bell:
    rung: trio.Event = field(default_factory=trio.Event)
    earliest: str | None = None  # while rung: the earliest position rung for, None if unknown

    def ring(self, position: str | None) -> None:
        if not self.rung.is_set():
            self.earliest = position
            self.rung.set()
        elif position is None:
            self.earliest = None

    async def take(self) -> str | None:
        await self.rung.wait()
        earliest, self.earliest, self.rung = self.earliest, None, trio.Event()
        return earliest


class AccountWakeups:
    """Rings each registered account's bell when the log gets an event of that account."""

    def __init__(self, events: EventLog) -> None:
        self._log = events
        self._bells: dict[str, _Bell] = {}
        self._cursor: str | None = None
        self._since: str | None = None  # the reader saw every entry after this

    def register(self, account: str) -> None:
        """Ring for ``account`` from now on (a fresh bell)."""
        self._bells[account] = _Bell()

    def unregister(self, account: str) -> None:
        self._bells.pop(account, None)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Follow the log until cancelled, from the log's end on the first run."""
        if self._cursor is None:
            await self._start_at_end()
        task_status.started()
        while True:
            try:
                page = await self._log.read(self._cursor, PAGE_SIZE)
            except CursorExpired:
                log.warning("the account wake-ups fell behind the log's retention, starting over")
                await self._start_at_end()
                continue
            for event in page.events:
                bell = self._bells.get(event.account)
                if bell is not None:
                    bell.ring(event.position)
            self._cursor = page.cursor
            if not page.has_more:
                await self._log.wait(self._cursor)

    async def _start_at_end(self) -> None:
        """Read on from the log's end; wake every sender, since what came before is unknown."""
        self._cursor = self._since = await self._log.latest() or "0-0"
        for bell in self._bells.values():
            bell.ring(None)

    async def wait(self, account: str, after: str) -> str:
        """Return once ``account`` may have events after ``after``: the cursor to read after.

        ``after`` must be where the caller's last read reached the log's end.
        """
        hint = await self._bells[account].take()
        since = self._since
        if (
            hint is None
            or since is None
            or position_order(after) < position_order(since)
            or position_order(hint) <= position_order(after)
        ):
            return after
        return position_before(hint)
