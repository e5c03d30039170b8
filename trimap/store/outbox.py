"""The outbox in Redis: queued messages, when each is due, and idempotency keys.

Keys (hash tag ``{outbox}``, so every script's keys share a slot):

* ``trimap:{outbox}:q:<queue id>``: hash, one queued message: ``account``,
  ``sender``, ``recipients`` (JSON), ``raw`` (the message), ``messageId``,
  ``reference`` (JSON, or empty), ``sendAt``, ``created`` (epoch ms),
  ``attempts``, ``lastError`` (JSON, once an attempt failed);
* ``trimap:{outbox}:due``: sorted set, queue id by the epoch ms of its next
  attempt; ``claim`` moves the score of what it hands out one lease ahead, so
  a worker that dies mid-send gives its messages back when the lease ends;
* ``trimap:{outbox}:idem:<account>:<key>``: the answer given to a request with
  this ``Idempotency-Key`` (JSON), or ``pending`` while it runs; kept for
  ``IDEMPOTENCY_TTL`` seconds.

Rules it keeps: a message is in the hash and the due set together or not at
all (Lua); claiming is atomic, so two workers never hold one message; the
listing never reads message bodies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from trimap.store.client import RedisStore

__all__ = ["IDEMPOTENCY_TTL", "OutboxStore", "QueuedMessage"]

PREFIX = "trimap:{outbox}:"
DUE_KEY = PREFIX + "due"
ENTRY_PREFIX = PREFIX + "q:"
IDEMPOTENCY_PREFIX = PREFIX + "idem:"
IDEMPOTENCY_TTL = 24 * 3600
PENDING = b"pending"
_LISTED = ("account", "messageId", "sendAt", "created", "attempts", "lastError")

_ADD = """
-- KEYS: entry, due; ARGV: queue id, due ms, field/value pairs...
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
"""

_CLAIM = """
-- KEYS: due; ARGV: now ms, lease ms, limit
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[1] + ARGV[2], id) end
return ids
"""

_REMOVE = """
-- KEYS: entry, due; ARGV: queue id
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
"""

_RESCHEDULE = """
-- KEYS: entry, due; ARGV: queue id, due ms, attempts, lastError
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'attempts', ARGV[3], 'lastError', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One message of the outbox (``raw`` is empty in listings)."""

    queue_id: str
    account: str
    message_id: str
    send_at: int  # epoch ms
    created: int  # epoch ms
    attempts: int = 0
    last_error: Mapping[str, Any] | None = None
    sender: str = ""
    recipients: tuple[str, ...] = ()
    raw: bytes = b""
    reference: Mapping[str, Any] | None = None


def _text(raw: bytes | None) -> str:
    return "" if raw is None else raw.decode("utf-8", "replace")


class OutboxStore:
    """The outbox's keys and scripts (see the module comment)."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        client = store.client
        self._add = client.register_script(_ADD)
        self._claim = client.register_script(_CLAIM)
        self._remove = client.register_script(_REMOVE)
        self._reschedule = client.register_script(_RESCHEDULE)

    async def add(self, message: QueuedMessage) -> None:
        """Queue ``message``, due at its ``send_at``."""
        fields: list[Any] = [
            "account", message.account,
            "sender", message.sender,
            "recipients", json.dumps(list(message.recipients)),
            "raw", message.raw,
            "messageId", message.message_id,
            "reference", json.dumps(message.reference) if message.reference else "",
            "sendAt", message.send_at,
            "created", message.created,
            "attempts", message.attempts,
        ]  # fmt: skip
        keys = [ENTRY_PREFIX + message.queue_id, DUE_KEY]
        args = [message.queue_id, message.send_at, *fields]
        await self._store.call(lambda: self._add(keys=keys, args=args))

    async def claim(self, now_ms: int, lease_ms: int, limit: int) -> list[str]:
        """Up to ``limit`` due queue ids, each held for ``lease_ms`` from now."""
        args = [now_ms, lease_ms, limit]
        ids = await self._store.call(lambda: self._claim(keys=[DUE_KEY], args=args))
        return [raw.decode() for raw in ids]

    async def next_due(self) -> int | None:
        """The epoch ms of the earliest attempt due, None when the outbox is empty."""
        first = await self._store.call(self._store.client.zrange, DUE_KEY, 0, 0, False, True)
        return int(first[0][1]) if first else None

    async def load(self, queue_id: str) -> QueuedMessage | None:
        """The whole message, body included; None if it is no longer queued."""
        raw = cast(
            dict[bytes, bytes],
            await self._store.call(self._store.client.hgetall, ENTRY_PREFIX + queue_id),
        )
        if not raw:
            return None
        fields = {name.decode(): value for name, value in raw.items()}
        reference = _text(fields.get("reference"))
        return QueuedMessage(
            queue_id=queue_id,
            account=_text(fields.get("account")),
            message_id=_text(fields.get("messageId")),
            send_at=int(fields.get("sendAt", b"0")),
            created=int(fields.get("created", b"0")),
            attempts=int(fields.get("attempts", b"0")),
            last_error=json.loads(fields["lastError"]) if fields.get("lastError") else None,
            sender=_text(fields.get("sender")),
            recipients=tuple(json.loads(fields.get("recipients", b"[]"))),
            raw=fields.get("raw", b""),
            reference=json.loads(reference) if reference else None,
        )

    async def reschedule(
        self, queue_id: str, due_ms: int, attempts: int, last_error: Mapping[str, Any]
    ) -> bool:
        """Record a failed attempt and when to try again; False if it is gone."""
        keys = [ENTRY_PREFIX + queue_id, DUE_KEY]
        args: list[str | int] = [queue_id, due_ms, attempts, json.dumps(dict(last_error))]
        return bool(await self._store.call(lambda: self._reschedule(keys=keys, args=args)))

    async def remove(self, queue_id: str) -> bool:
        """Take the message out of the outbox; False if it was not there."""
        keys = [ENTRY_PREFIX + queue_id, DUE_KEY]
        return bool(await self._store.call(lambda: self._remove(keys=keys, args=[queue_id])))

    async def page(self, offset: int, count: int) -> tuple[list[QueuedMessage], int]:
        """Queued messages by next attempt (bodies left out), and how many there are."""

        def read() -> tuple[list[tuple[bytes, float]], list[list[bytes | None]], int]:
            client = self._store.client
            ranked = cast(
                list[tuple[bytes, float]],
                client.zrange(DUE_KEY, offset, offset + count - 1, withscores=True),
            )
            with client.pipeline(transaction=False) as pipe:
                for queue_id, _ in ranked:
                    pipe.hmget(ENTRY_PREFIX + queue_id.decode(), *_LISTED)
                rows = cast(list[list[bytes | None]], pipe.execute())
            return ranked, rows, int(client.zcard(DUE_KEY))

        ranked, rows, total = await self._store.call(read)
        listed = []
        for (queue_id, _due), row in zip(ranked, rows, strict=True):
            account, message_id, send_at, created, attempts, last_error = row
            if account is None:
                continue  # removed between the two reads
            listed.append(
                QueuedMessage(
                    queue_id=queue_id.decode(),
                    account=_text(account),
                    message_id=_text(message_id),
                    send_at=int(send_at or 0),
                    created=int(created or 0),
                    attempts=int(attempts or 0),
                    last_error=json.loads(last_error) if last_error else None,
                )
            )
        return listed, total

    async def size(self) -> int:
        return int(await self._store.call(self._store.client.zcard, DUE_KEY))

    # -- idempotency keys ----------------------------------------------------------------

    async def begin_request(self, account: str, key: str) -> bytes | None:
        """Claim an idempotency key: None if it is new (now ``pending``), else what it holds
        (``PENDING`` or the JSON answer given before)."""
        name = IDEMPOTENCY_PREFIX + f"{account}:{key}"

        def claim() -> bytes | None:
            client = self._store.client
            if client.set(name, PENDING, nx=True, ex=IDEMPOTENCY_TTL):
                return None
            value = client.get(name)
            return PENDING if value is None else cast(bytes, value)

        return await self._store.call(claim)

    async def finish_request(self, account: str, key: str, answer: Mapping[str, Any]) -> None:
        """Remember the answer given to this key."""
        name = IDEMPOTENCY_PREFIX + f"{account}:{key}"
        await self._store.call(
            self._store.client.set, name, json.dumps(dict(answer)), None, IDEMPOTENCY_TTL
        )

    async def abandon_request(self, account: str, key: str) -> None:
        """Forget a key whose request failed before anything was sent, so it may retry."""
        await self._store.call(self._store.client.delete, IDEMPOTENCY_PREFIX + f"{account}:{key}")
