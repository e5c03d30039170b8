"""``WebhookSender``: one destination, one task, every event in log order, at least once.

How it works: a sender owns the cursor of one destination
(``Destination.key``) in ``trimap.store.WebhookStore``.  It reads the event
log after that cursor (filtered by the destination's event kinds), and POSTs
each event's JSON (``Event.to_json()``, the reference's payload plus ``id``)
to the URL.  Only a 2xx answer moves the cursor on, and the cursor is written
to Redis after each delivered event (or over events the sender ``skip``s: the
global destination skips the events of accounts that have their own URL,
``trimap.webhooks.routing``).  Anything else (another status, a timeout, no
connection) is retried, the same body and headers each time, after a delay
that grows from ``retry_min`` to at most ``retry_max`` seconds ("equal
jitter": each delay lies between half its ceiling and the ceiling, and the
ceiling doubles, so the gaps grow while retries of many senders spread out);
an event that becomes skipped meanwhile is not retried.  When the log has
nothing new, the sender waits with its ``wait`` function: ``EventLog.wait`` by
default, an ``AccountWakeups`` bell for a per-account destination (no polling
loop here).

Rules it keeps:

* **At least once.**  The cursor is persisted after the 2xx, so a crash or a
  cancellation between the answer and the write delivers that one event again,
  with the same ``X-Trimap-Event-Id``: duplicates are possible, losses are not.
  Writing after every event (one Redis write each) keeps that window to one event.
* **In order.**  One event at a time, never skipping a failed one, so each
  account's events arrive in the order they were logged.
* **Only retention ends a retry.**  Before each retry the sender checks that
  the event is still in the log; once trimming has removed it, the events it
  held that are gone are counted (``result="expired"``) and logged, and it goes
  on from the oldest event kept.  A cursor found expired on reading is logged
  the same way (the number lost is then unknown).
* **Isolation.**  A sender only ever waits for its own destination, bounded by
  the HTTP client's connect and response timeouts; cancellation stops it
  wherever it is, and the interrupted event is delivered again next time.
* **Secrets.**  Errors and logs name the URL redacted; the signing secret and
  URL credentials are never logged.
* **Bounded metric labels.**  Metrics are labelled ``global`` (or the key of a
  destination without an account) or ``account`` for every per-account
  destination together, never with an account id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import trio

from trimap import __version__
from trimap.events import CursorExpired, Event, EventLog, EventPage
from trimap.httpclient import HttpClient, HttpError, HttpResponseTooLarge, HttpTimeout, redact_url
from trimap.metrics import Metrics
from trimap.store import WebhookStore, position_before, position_time
from trimap.store.webhooks import position_order

__all__ = [
    "ACCOUNT_LABEL",
    "EVENT_ID_HEADER",
    "SIGNATURE_HEADER",
    "USER_AGENT",
    "Destination",
    "RetryDelays",
    "WebhookSender",
    "sign",
]

log = logging.getLogger("trimap.webhooks")

USER_AGENT = f"trimap/{__version__}"
EVENT_ID_HEADER = "X-Trimap-Event-Id"
SIGNATURE_HEADER = "X-Trimap-Signature"
PAGE_SIZE = 100
ACCOUNT_LABEL = "account"  # the metrics label of every per-account destination

Skip = Callable[[Event], bool]
Wait = Callable[[str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Destination:
    """Where events go: ``key`` names the cursor (``global``, or ``account:<id>``)."""

    key: str
    url: str
    events: frozenset[str] | None = None  # None: every kind
    secret: str | None = None
    account: str | None = None  # only this account's events (per-account URLs)

    def __repr__(self) -> str:  # never show the secret or URL credentials
        return f"Destination({self.key!r}, {redact_url(self.url)!r})"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class RetryDelays:
    """Growing delays with equal jitter: the n-th lies in [c/2, c], c = min(max, min * 2^n)."""

    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.minimum * 2.0**self.attempt)
        self.attempt += 1
        return ceiling / 2 + random.uniform(0, ceiling / 2)


class _Expired(Exception):
    """The event being retried was trimmed from the log."""


class WebhookSender:
    """Delivers one destination's events; run it under ``supervise`` (module comment)."""

    def __init__(
        self,
        destination: Destination,
        events: EventLog,
        store: WebhookStore,
        client: HttpClient,
        metrics: Metrics,
        *,
        retry_min: float = 1.0,
        retry_max: float = 300.0,
        skip: Skip | None = None,
        wait: Wait | None = None,
    ) -> None:
        """``skip(event)``: leave this logged event out; ``wait(cursor)``: return once
        something may follow ``cursor``, with the cursor to read on from (``cursor``, or a
        later one when nothing for this destination lies between)."""
        self.destination = destination
        self._log = events
        self._skip = skip or _skip_nothing
        self._wait = wait or self._wait_for_log
        self._store = store
        self._client = client
        self._metrics = metrics
        self._retry_min = retry_min
        self._retry_max = retry_max
        self.state = "starting"  # starting, idle, delivering, retrying, stopped
        self.cursor: str | None = None
        self.pending: Event | None = None  # the event being delivered
        self.attempts = 0  # attempts at ``pending`` so far
        self.delivered = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None

    @property
    def label(self) -> str:
        """The metrics label of this destination: ``account`` for any per-account one."""
        return self.destination.key if self.destination.account is None else ACCOUNT_LABEL

    def lag_seconds(self) -> float:
        """How long the event being delivered has waited since it was logged (0 when idle)."""
        pending = self.pending
        return 0.0 if pending is None else max(0.0, time.time() - position_time(_pos(pending)))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Deliver forever; storage errors propagate (``supervise`` restarts from the cursor)."""
        task_status.started()
        try:
            self.state = "starting"
            cursor = await self._store.cursor(self.destination.key)
            if cursor is None:  # normally given by the supervisor before the start
                start = await self._log.latest() or "0-0"
                await self._store.init_cursor(self.destination.key, start)
                cursor = await self._store.cursor(self.destination.key)
                assert cursor is not None
            self.cursor = cursor
            leftover: Sequence[Event] = ()
            while True:
                page = await self._next_page(cursor, leftover)
                leftover = ()
                for index, event in enumerate(page.events):
                    if self._skip(event):
                        continue
                    try:
                        await self._deliver(event)
                    except _Expired:
                        leftover = page.events[index:]
                        break
                    cursor = self.cursor = _pos(event)
                    await self._store.set_cursor(self.destination.key, cursor)
                if leftover:
                    continue
                if page.cursor != cursor:  # entries the filters skipped
                    cursor = self.cursor = page.cursor
                    await self._store.set_cursor(self.destination.key, cursor)
                if not page.has_more:
                    self.state, self.pending = "idle", None
                    cursor = self.cursor = await self._wait(cursor)
        finally:
            self.state, self.pending = "stopped", None

    async def _wait_for_log(self, after: str) -> str:
        await self._log.wait(after)
        return after

    async def _read(self, after: str | None) -> EventPage:
        events = self.destination.events
        page = await self._log.read(
            after, PAGE_SIZE, account=self.destination.account, kinds=events or None
        )
        if events is not None and not events:  # an empty allow-list: nothing is sent
            return EventPage((), page.cursor, page.has_more)
        return page

    async def _next_page(self, cursor: str, leftover: Sequence[Event]) -> EventPage:
        """The page after ``cursor``; after trimming, the oldest kept, logging what was lost."""
        try:
            return await self._read(cursor)
        except CursorExpired:
            page = await self._read(None)
        first = position_order(_pos(page.events[0])) if page.events else None
        lost = [
            e
            for e in leftover
            if (first is None or position_order(_pos(e)) < first) and not self._skip(e)
        ]
        if lost:
            self._metrics.webhook_deliveries.labels(destination=self.label, result="expired").inc(
                len(lost)
            )
        log.error(
            "webhook events were trimmed from the log before delivery",
            extra={
                "destination": self.label,
                "url": redact_url(self.destination.url),
                "after": cursor,
                "lost": len(lost) if lost else "unknown",
                "lostIds": [e.id for e in lost[:20]],
                "resumeAt": _pos(page.events[0]) if page.events else page.cursor,
            },
        )
        return page

    async def _deliver(self, event: Event) -> None:
        """POST ``event`` until a 2xx or until it is skipped; ``_Expired`` once it is no
        longer in the log."""
        body = json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("User-Agent", USER_AGENT),
            (EVENT_ID_HEADER, event.id),
        ]
        if self.destination.secret is not None:
            headers.append((SIGNATURE_HEADER, sign(self.destination.secret, body)))
        delays = RetryDelays(self._retry_min, self._retry_max)
        self.pending, self.attempts, self.state = event, 0, "delivering"
        while True:
            self.attempts += 1
            result, error = await self._attempt(body, headers)
            deliveries = self._metrics.webhook_deliveries
            deliveries.labels(destination=self.label, result=result).inc()
            if error is None:
                self.delivered += 1
                latency = max(0.0, time.time() - position_time(_pos(event)))
                self._metrics.webhook_latency.labels(destination=self.label).observe(latency)
                self.state = "delivering"
                return
            self.state, self.last_error, self.last_error_at = "retrying", error, time.time()
            delay = delays.next_delay()
            log.warning(
                "webhook delivery failed, retrying",
                extra={
                    "destination": self.label,
                    "eventId": event.id,
                    "attempt": self.attempts,
                    "error": error,
                    "retryIn": round(delay, 3),
                },
            )
            await trio.sleep(delay)
            if self._skip(event):  # handed over to another destination meanwhile
                return
            try:
                await self._log.read(position_before(_pos(event)), 1)
            except CursorExpired:
                raise _Expired from None

    async def _attempt(self, body: bytes, headers: list[tuple[str, str]]) -> tuple[str, str | None]:
        """One POST: the metrics result and, unless it was a 2xx, what went wrong."""
        try:
            response = await self._client.request(
                "POST", self.destination.url, headers=headers, body=body
            )
        except HttpResponseTooLarge as exc:  # the status is all that matters here
            status, reason = exc.status, exc.reason
        except HttpTimeout as exc:
            return "timeout", str(exc)
        except HttpError as exc:
            return "error", str(exc)
        else:
            status, reason = response.status, response.reason
        if 200 <= status < 300:
            return "success", None
        return "rejected", f"POST {redact_url(self.destination.url)}: HTTP {status} {reason}"


def _skip_nothing(_event: Event) -> bool:
    return False


def _pos(event: Event) -> str:
    assert event.position is not None, "events read from the log have positions"
    return event.position
