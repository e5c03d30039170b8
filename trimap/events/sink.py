"""Where the account engine hands its events: the ``EventSink`` interface.

How it works: whatever detects a change builds ``Event`` objects and awaits
``sink.append(events)``; the call returns once the events are durable, with
one log position per event, in order.  Only then may anyone be told (the
"nothing is lost" rule): webhook senders and tailers read the log, never the
engine.  The durable sink is ``trimap.events.log.EventLog``.

``InMemoryEventSink`` is for unit tests only: it keeps every event in a list,
de-duplicates by id forever and loses everything with the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from trimap.events.model import Event

__all__ = ["EventSink", "InMemoryEventSink"]


class EventSink(Protocol):
    """Takes events in order and makes them durable before returning."""

    async def append(self, events: Sequence[Event]) -> list[str]:
        """Store ``events`` in order; return each one's position (an earlier one for a repeat)."""
        ...


class InMemoryEventSink:
    """An ``EventSink`` that keeps events in memory, for tests (see the module comment)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._positions: dict[str, str] = {}

    async def append(self, events: Sequence[Event]) -> list[str]:
        positions = []
        for event in events:
            position = self._positions.get(event.id)
            if position is None:
                position = f"{len(self.events) + 1}-0"
                self._positions[event.id] = position
                self.events.append(replace(event, position=position))
            positions.append(position)
        return positions
