"""The outbox: messages sent later (``sendAt``) or in the background, retried until sent.

How it works: ``Outbox.enqueue`` stores a prepared ``Outgoing`` with a queue id
and its due time (``trimap.store.outbox``) and wakes the worker.  ``run``
(supervised by the service) claims due messages -- each claim is a lease, so
a process that dies mid-send gives its messages back when the lease ends --
and sends up to ``CONCURRENCY`` at once through the ``Submitter``.  Each
attempt ends in one of three ways, each an event in the log:

* sent: the message leaves the outbox, ``messageSent`` is appended, then the
  original is flagged and a copy filed in Sent (``Submitter.after_sent``);
* a temporary failure (a 4xx reply, the server unreachable, the account's
  SMTP login refused by the auth server being down ...): ``messageDeliveryError``
  with the attempt number and the time of the next one, retried with
  exponential, jittered backoff (``retry_min`` to ``retry_max``) for as long
  as ``max_age`` allows;
* a permanent failure (a 5xx reply, a refused login, no SMTP settings, the
  account deleted) or ``max_age`` reached: ``messageFailed``, and the message
  leaves the outbox.

Between two rounds the worker sleeps until the next message is due, at most
``POLL`` seconds (another instance sharing the Redis may add messages).

Rules it keeps: a message is removed from the outbox before ``messageSent``
is appended, so a crash in between can lose the event but never resend the
message; a crash during the SMTP exchange resends it after the lease (at
least once, as SMTP itself is); event ids name the queue id (and attempt),
so a repeated report is recognisable.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import trio

from trimap.accounts import AccountNotFound
from trimap.compose.request import Reference
from trimap.events import Event, EventSink, stable_event_id
from trimap.events.model import format_epoch_ms
from trimap.smtp import SmtpError
from trimap.store.outbox import OutboxStore, QueuedMessage
from trimap.submit.send import NoSmtpSettings, Outgoing, Submitter

__all__ = ["CONCURRENCY", "Outbox"]

log = logging.getLogger("trimap.outbox")

CONCURRENCY = 10
CLAIM_BATCH = 50
LEASE = 300.0  # seconds a claimed message is held before another worker may take it
POLL = 5.0


def _now_ms() -> int:
    return int(time.time() * 1000)


def new_queue_id() -> str:
    return secrets.token_hex(12)


class Outbox:
    """Queued and scheduled sending (see the module comment)."""

    def __init__(
        self,
        store: OutboxStore,
        submitter: Submitter,
        sink: EventSink,
        *,
        retry_min: float = 30.0,
        retry_max: float = 3600.0,
        max_age: float = 7 * 24 * 3600.0,
    ) -> None:
        self._store = store
        self._submitter = submitter
        self._sink = sink
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._max_age = max_age
        self._wake = trio.Event()
        self._slots = trio.CapacityLimiter(CONCURRENCY)

    async def enqueue(self, outgoing: Outgoing, send_at: datetime | None = None) -> QueuedMessage:
        """Queue ``outgoing`` to be sent at ``send_at`` (now if None); the queued entry."""
        now = _now_ms()
        due = now if send_at is None else max(now, int(send_at.timestamp() * 1000))
        reference = None
        if outgoing.reference is not None:
            reference = {"message": outgoing.reference.message, "action": outgoing.reference.action}
        queued = QueuedMessage(
            queue_id=new_queue_id(),
            account=outgoing.account,
            message_id=outgoing.message_id,
            send_at=due,
            created=now,
            sender=outgoing.sender,
            recipients=outgoing.recipients,
            raw=outgoing.raw,
            reference=reference,
        )
        await self._store.add(queued)
        self._wake.set()
        return queued

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Send what is due, forever; storage errors propagate (``supervise`` restarts)."""
        task_status.started()
        async with trio.open_nursery() as nursery:
            while True:
                wake, self._wake = self._wake, trio.Event()
                for queue_id in await self._store.claim(_now_ms(), int(LEASE * 1000), CLAIM_BATCH):
                    await self._slots.acquire_on_behalf_of(queue_id)
                    nursery.start_soon(self._attempt_in_slot, queue_id)
                due = await self._store.next_due()
                delay = POLL if due is None else max(0.0, min(POLL, (due - _now_ms()) / 1000))
                with trio.move_on_after(delay):
                    await wake.wait()

    async def _attempt_in_slot(self, queue_id: str) -> None:
        try:
            await self._attempt(queue_id)
        except Exception:
            log.exception("outbox attempt failed", extra={"queueId": queue_id})
        finally:
            self._slots.release_on_behalf_of(queue_id)

    async def _attempt(self, queue_id: str) -> None:
        queued = await self._store.load(queue_id)
        if queued is None:
            return  # cancelled meanwhile
        outgoing = Outgoing(
            queued.account,
            queued.sender,
            queued.recipients,
            queued.raw,
            queued.message_id,
            _reference(queued.reference),
        )
        try:
            result = await self._submitter.deliver(outgoing)
        except (SmtpError, NoSmtpSettings, AccountNotFound) as failure:
            await self._failed(queued, failure)
            return
        if not await self._store.remove(queue_id):
            log.warning("a queued message was cancelled while it was being sent")
        await self._event(
            queued,
            "messageSent",
            {"queueId": queue_id, "messageId": queued.message_id, "response": result.reply.text},
        )
        await self._submitter.after_sent(outgoing)

    async def _failed(self, queued: QueuedMessage, failure: Exception) -> None:
        error = _describe(failure)
        attempts = queued.attempts + 1
        age = (_now_ms() - queued.created) / 1000
        temporary = isinstance(failure, SmtpError) and failure.temporary
        if temporary and age < self._max_age:
            delay = self._retry_delay(attempts)
            due = _now_ms() + int(delay * 1000)
            if await self._store.reschedule(queued.queue_id, due, attempts, error):
                await self._event(
                    queued,
                    "messageDeliveryError",
                    {
                        "queueId": queued.queue_id,
                        "messageId": queued.message_id,
                        "attempt": attempts,
                        "error": error,
                        "nextAttempt": format_epoch_ms(due),
                    },
                    attempts,
                )
            return
        await self._store.remove(queued.queue_id)
        await self._event(
            queued,
            "messageFailed",
            {"queueId": queued.queue_id, "messageId": queued.message_id, "error": error},
        )

    def _retry_delay(self, attempts: int) -> float:
        ceiling = min(self._retry_max, self._retry_min * 2.0 ** (attempts - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    async def _event(
        self, queued: QueuedMessage, kind: str, data: dict[str, Any], *facts: int
    ) -> None:
        event = Event(
            id=stable_event_id(queued.account, kind, queued.queue_id, *facts),
            account=queued.account,
            kind=kind,
            date=datetime.now(UTC),
            data=data,
        )
        await self._sink.append([event])

    async def cancel(self, queue_id: str) -> bool:
        """Take a message out of the outbox before it is sent; False if it is not there."""
        return await self._store.remove(queue_id)


def _reference(raw: Any) -> Reference | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("message"), str):
        return None
    return Reference(raw["message"], "forward" if raw.get("action") == "forward" else "reply")


def _describe(failure: Exception) -> dict[str, Any]:
    if isinstance(failure, SmtpError):
        described: dict[str, Any] = {"message": failure.message, "code": failure.code}
        if failure.status is not None:
            described["statusCode"] = failure.status
        return described
    if isinstance(failure, NoSmtpSettings):
        return {"message": "The account has no SMTP settings", "code": "NoSmtpSettings"}
    return {"message": "The account no longer exists", "code": "AccountNotFound"}
