"""The event model: what trimap tells applications, and how an event's id is made.

How it works: an ``Event`` is a small frozen dataclass holding the reference
product's webhook envelope (``account``, ``date``, ``path``, ``specialUse``,
``event``, ``data``) plus ``id``, the stable event id, and ``position``, the
place the durable log gave it (``None`` until it has been appended).
``Event.to_json()`` is the webhook payload exactly as the reference sends it,
plus ``id``: keys in the reference's order, ``path``/``specialUse`` left out
when unknown, ``date`` in ISO 8601 UTC with milliseconds
(``2020-12-17T10:00:00.000Z``).

Rules it keeps:

* An event is a fact with a stable id.  ``stable_event_id`` derives the id from
  what the event describes, never from when or how often it was detected, so
  the same change seen twice (after a restart, a reconnect, a resync) has the
  same id and consumers (and the log's de-duplication) can drop the repeat.
* ``date`` is timezone-aware and normalised to UTC at millisecond precision
  when the event is built, so an event read back from the log equals the one
  that was appended.

The stable-id recipe (``STABLE_ID_VERSION`` 1): the canonical JSON array
``[1, account, kind, *facts]`` (UTF-8, no spaces, a ``frozenset`` of flags as a
sorted list), hashed with SHA-256; the id is the first 16 bytes in base64url
without padding (22 characters).  The facts each kind passes, in this order:

==================  ==========================================================
kind                facts
==================  ==========================================================
messageNew          path, uidValidity, uid
messageDeleted      path, uidValidity, uid
messageUpdated      path, uidValidity, uid, then the MODSEQ of the change when
                    the server has CONDSTORE, else the new flag state as a
                    ``frozenset`` (flags and labels, ``\\Recent`` removed)
                    and the folder checkpoint's change counter
mailboxNew          path, uidValidity
mailboxDeleted      path, uidValidity (the last one known)
mailboxReset        path, prevUidValidity, uidValidity
authentication*,    the ISO time it happened: these are not re-detected, so
connectError        every occurrence is its own fact
messageSent,        the queue id (or, for a message sent at once, its
messageFailed       Message-ID): a message is sent or given up once
messageDeliveryError  the queue id and the attempt number
==================  ==========================================================

Without CONDSTORE, the change counter (``trimap.sync.checkpoint``) tells a
flag state that comes back (seen, unseen, seen again) from its first
occurrence, while the same change detected again after a crash (the counter
is saved with the checkpoint, after the events) keeps its id.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "EVENT_KINDS",
    "STABLE_ID_VERSION",
    "Event",
    "Fact",
    "format_date",
    "format_epoch_ms",
    "stable_event_id",
]

EVENT_KINDS = frozenset(
    {
        "messageNew",
        "messageDeleted",
        "messageUpdated",
        "mailboxNew",
        "mailboxDeleted",
        "mailboxReset",
        "authenticationSuccess",
        "authenticationError",
        "connectError",
        "messageSent",
        "messageDeliveryError",
        "messageFailed",
    }
)
STABLE_ID_VERSION = 1

Fact = str | int | None | frozenset[str]


def stable_event_id(account: str, kind: str, *facts: Fact) -> str:
    """The event id for ``kind`` on ``account`` described by ``facts`` (see the module comment)."""
    canonical = [STABLE_ID_VERSION, account, kind]
    canonical.extend(sorted(fact) if isinstance(fact, frozenset) else fact for fact in facts)
    text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(text.encode("utf-8")).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def format_date(value: datetime) -> str:
    """``value`` (UTC) as the reference writes dates: ``2020-12-17T10:00:00.000Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def format_epoch_ms(epoch_ms: int) -> str:
    """Milliseconds since the epoch as ``format_date`` writes them."""
    return format_date(datetime.fromtimestamp(epoch_ms / 1000, UTC))


@dataclass(frozen=True, slots=True)
class Event:
    """One fact about an account, as stored in the log and sent to webhooks."""

    id: str
    account: str
    kind: str
    date: datetime
    data: Mapping[str, Any]
    path: str | None = None
    special_use: str | None = None
    position: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        if self.date.tzinfo is None:
            raise ValueError("event dates must be timezone-aware")
        utc = self.date.astimezone(UTC)
        object.__setattr__(self, "date", utc.replace(microsecond=utc.microsecond // 1000 * 1000))

    def to_json(self) -> dict[str, Any]:
        """The reference's webhook payload plus ``id``, keys in the reference's order."""
        payload: dict[str, Any] = {"account": self.account, "date": format_date(self.date)}
        if self.path is not None:
            payload["path"] = self.path
        if self.special_use is not None:
            payload["specialUse"] = self.special_use
        payload["event"] = self.kind
        payload["data"] = self.data
        payload["id"] = self.id
        return payload
