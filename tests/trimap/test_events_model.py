"""The event model, the stable-id recipe and the in-memory sink (no Redis)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from trimap.events import Event, InMemoryEventSink, stable_event_id

WHEN = datetime(2020, 12, 17, 10, 0, 1, 234567, tzinfo=UTC)


def test_stable_id_follows_the_documented_recipe() -> None:
    canonical = '[1,"acc","messageUpdated","INBOX",7,42,["\\\\Flagged","\\\\Seen"]]'
    digest = hashlib.sha256(canonical.encode()).digest()[:16]
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    flags = frozenset({"\\Seen", "\\Flagged"})
    assert stable_event_id("acc", "messageUpdated", "INBOX", 7, 42, flags) == expected
    assert len(expected) == 22


def test_stable_id_depends_on_every_fact_and_only_on_facts() -> None:
    base = stable_event_id("acc", "messageNew", "INBOX", 7, 42)
    assert base == stable_event_id("acc", "messageNew", "INBOX", 7, 42)
    others = {
        stable_event_id("acc2", "messageNew", "INBOX", 7, 42),
        stable_event_id("acc", "messageDeleted", "INBOX", 7, 42),
        stable_event_id("acc", "messageNew", "Sent", 7, 42),
        stable_event_id("acc", "messageNew", "INBOX", 8, 42),
        stable_event_id("acc", "messageNew", "INBOX", 7, 43),
        stable_event_id("acc", "messageNew", "INBOX", 7, "42"),
        stable_event_id("acc", "messageNew", "INBOX", 742),
    }
    assert base not in others and len(others) == 7


def test_json_form_is_the_reference_payload_plus_id() -> None:
    event = Event(
        id="abc",
        account="example",
        kind="messageDeleted",
        date=WHEN,
        data={"id": "AAAAAQAAAeE", "uid": 481},
        path="INBOX",
        special_use="\\Inbox",
    )
    payload = event.to_json()
    assert list(payload) == ["account", "date", "path", "specialUse", "event", "data", "id"]
    assert payload["date"] == "2020-12-17T10:00:01.234Z"
    assert payload["event"] == "messageDeleted"
    bare = Event(id="x", account="a", kind="authenticationSuccess", date=WHEN, data={"user": "u"})
    assert list(bare.to_json()) == ["account", "date", "event", "data", "id"]


def test_dates_are_utc_milliseconds_and_must_be_aware() -> None:
    local = WHEN.astimezone(timezone(timedelta(hours=2)))
    event = Event(id="x", account="a", kind="messageNew", date=local, data={})
    assert event.date == WHEN.replace(microsecond=234000)
    assert event.date.tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        Event(id="x", account="a", kind="messageNew", date=datetime(2020, 1, 1), data={})
    with pytest.raises(ValueError, match="unknown event kind"):
        Event(id="x", account="a", kind="messageNu", date=WHEN, data={})


async def test_in_memory_sink_keeps_order_and_drops_repeats() -> None:
    sink = InMemoryEventSink()
    first = Event(id="1", account="a", kind="messageNew", date=WHEN, data={"uid": 1})
    second = Event(id="2", account="a", kind="messageNew", date=WHEN, data={"uid": 2})
    assert await sink.append([first, second, first]) == ["1-0", "2-0", "1-0"]
    assert await sink.append([second]) == ["2-0"]
    assert [(e.id, e.position) for e in sink.events] == [("1", "1-0"), ("2", "2-0")]
