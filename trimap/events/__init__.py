"""Events: the model, the ``EventSink`` interface and the durable event log's reader API.

This package knows nothing of HTTP or Redis key names: ``trimap.store.eventlog``
stores the log, ``trimap.api.events`` serves it.
"""

from trimap.events.log import (
    Appended,
    CursorExpired,
    EventLog,
    EventLogBackend,
    EventPage,
    InvalidCursor,
)
from trimap.events.model import EVENT_KINDS, Event, Fact, format_date, stable_event_id
from trimap.events.sink import EventSink, InMemoryEventSink

__all__ = [
    "EVENT_KINDS",
    "Appended",
    "CursorExpired",
    "Event",
    "EventLog",
    "EventLogBackend",
    "EventPage",
    "EventSink",
    "Fact",
    "InMemoryEventSink",
    "InvalidCursor",
    "format_date",
    "stable_event_id",
]
