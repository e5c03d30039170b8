"""Sample events for tests of the event log and its readers (not a test module)."""

from __future__ import annotations

from datetime import UTC, datetime

from trimap.events import Event, stable_event_id


def event(account: str, uid: int, kind: str = "messageNew") -> Event:
    return Event(
        id=stable_event_id(account, kind, "INBOX", 1, uid),
        account=account,
        kind=kind,
        date=datetime(2020, 12, 17, 10, 0, 0, tzinfo=UTC),
        data={"id": f"m{uid}", "uid": uid},
        path="INBOX",
        special_use="\\Inbox",
    )
