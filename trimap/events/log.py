"""The durable event log: the ``EventSink`` everything appends to, and its readers.

How it works: ``EventLog`` sits on a backend (``trimap.store.eventlog``, Redis
Streams) that stores events in one ordered log.  ``append`` returns once the
events are stored; order across accounts is the log's order, so each
account's events keep the order they were appended in.  Readers page through
the log with a cursor:

    page = await log.read(after=cursor, limit=100, account="a1")
    ...deliver page.events...
    cursor = page.cursor
    if not page.has_more:
        await log.wait(cursor)       # returns once the log holds something newer

A cursor is opaque to readers: the position of the last entry a page
covered (which, with filters, may be an event the reader did not get).  It is
exclusive, so paging never repeats or skips an event.  ``read`` without a
cursor starts at the oldest retained event; ``latest()`` is the position to
start from for "only what happens from now on".

Waiting: every ``append`` through this object wakes the waiters at once (a
trio event, swapped on each append).  Appends by another process sharing the
Redis are noticed by a bounded poll (``poll_interval``, one cheap query per
waiter), so a tailer never spins and never sleeps longer than that.  This
keeps Redis connections and worker threads free: a blocking XREAD per tailer
would hold one of each.

Rules it keeps:

* Every read is bounded work: at most ``limit`` events, and with filters at
  most the backend's scan budget of entries examined; a page can then be
  short, even empty, with ``has_more`` true (ask again at once).
* A cursor older than the log's retention raises ``CursorExpired``: events
  after it were trimmed and the reader must know it lost them.  A cursor
  that is not one trimap issued raises ``InvalidCursor``.
* Order: events of one ``append`` call keep their order, and so do calls
  awaited one after another (one account runner appends its account's
  events from one task).
* Metrics count events actually stored (repeats inside the de-duplication
  window separately), by kind.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import trio

from trimap.events.model import Event
from trimap.metrics import Metrics

__all__ = [
    "Appended",
    "CursorExpired",
    "EventLog",
    "EventLogBackend",
    "EventPage",
    "InvalidCursor",
]


class InvalidCursor(ValueError):
    """The cursor is not one the log issued."""


class CursorExpired(Exception):
    """Events after the cursor were trimmed by retention or the size bound."""


class Appended(NamedTuple):
    """Where the backend put one event, and whether it was new (not a repeat)."""

    position: str
    stored: bool


@dataclass(frozen=True, slots=True)
class EventPage:
    """Events after a cursor, the cursor to read on from, and whether more is there now."""

    events: tuple[Event, ...]
    cursor: str
    has_more: bool


class EventLogBackend(Protocol):
    """What ``EventLog`` needs from storage (``trimap.store.eventlog.EventLogStore``)."""

    async def append(self, events: Sequence[Event]) -> list[Appended]: ...

    async def read(
        self, after: str | None, limit: int, account: str | None, kinds: Collection[str] | None
    ) -> EventPage: ...

    async def latest(self) -> str | None: ...

    async def has_after(self, after: str | None) -> bool: ...


class EventLog:
    """The durable ``EventSink`` and the log's reader API (see the module comment)."""

    def __init__(
        self, backend: EventLogBackend, metrics: Metrics, *, poll_interval: float = 1.0
    ) -> None:
        self._backend = backend
        self._metrics = metrics
        self._poll_interval = poll_interval
        self._appended = trio.Event()

    async def append(self, events: Sequence[Event]) -> list[str]:
        """Store ``events`` in order; each one's position (the first one's for a repeat)."""
        if not events:
            return []
        results = await self._backend.append(events)
        for event, result in zip(events, results, strict=True):
            counter = self._metrics.events if result.stored else self._metrics.duplicate_events
            counter.labels(event=event.kind).inc()
        appended, self._appended = self._appended, trio.Event()
        appended.set()
        return [result.position for result in results]

    async def read(
        self,
        after: str | None = None,
        limit: int = 100,
        *,
        account: str | None = None,
        kinds: Collection[str] | None = None,
    ) -> EventPage:
        """Up to ``limit`` events after the cursor ``after``, oldest first, filtered.

        Raises ``InvalidCursor`` or ``CursorExpired`` (see the module comment).
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        return await self._backend.read(after, limit, account, frozenset(kinds) if kinds else None)

    async def latest(self) -> str | None:
        """The position of the newest event in the log, ``None`` while it is empty."""
        return await self._backend.latest()

    async def wait(self, after: str | None) -> None:
        """Return once the log holds an entry after the cursor ``after`` (``None``: any entry).

        Storage errors propagate: tailers run under ``supervise``, which retries with backoff.
        """
        while True:
            appended = self._appended
            if await self._backend.has_after(after):
                return
            with trio.move_on_after(self._poll_interval):
                await appended.wait()
