"""``WebhookSupervisor``: one supervised ``WebhookSender`` per destination, kept in step
with the settings.

How it works: ``run`` (started by the service under ``supervise``) opens the
HTTP client all senders share and a nursery of its own, starts a sender for
each destination the settings name (today the global ``webhooks`` URL, key
``global``; per-account URLs will add ``account:<id>`` destinations), and then
waits for a settings change.  On a change it compares: a destination that is
gone or changed (URL, secret, event filter) has its sender cancelled and
waited for; a new or changed one gets a sender.  Each sender runs in its own
cancel scope under ``supervise`` (restarted with backoff when Redis fails),
and its cursor lives in Redis, so a restart goes on where it stopped.

A destination seen for the first time starts at the log's newest event
("from now on").  That cursor is created by the settings listener inside the
``POST /v1/settings`` request, before it is answered, so every event logged
after the answer reaches the new URL.  A destination that goes away keeps its
cursor: when it comes back, events logged meanwhile are delivered (within
retention).

Rules it keeps: every sender lives in this nursery (nothing outlives ``run``);
starting, stopping and replaying hold one lock, so a replayed cursor can never
be overwritten by a sender that was still finishing; a slow or dead
destination only ever holds up its own sender.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import trio

from trimap.events import CursorExpired, Event, EventLog
from trimap.httpclient import HttpClient, redact_url
from trimap.metrics import Metrics
from trimap.settings import Settings, SettingsChange, WebhookSettings
from trimap.store import WebhookStore, position_time
from trimap.supervise import Backoff, supervise
from trimap.webhooks.sender import USER_AGENT, Destination, WebhookSender

__all__ = ["GLOBAL", "DestinationStatus", "UnknownDestination", "WebhookSupervisor", "destinations"]

log = logging.getLogger("trimap.webhooks")

GLOBAL = "global"
LAG_COUNT_CAP = 100_000


class UnknownDestination(KeyError):
    """No running destination has this key."""


@dataclass(frozen=True, slots=True)
class DestinationStatus:
    """What ``GET /v1/webhooks`` shows for one destination."""

    key: str
    url: str  # redacted
    state: str
    cursor: str | None
    lag_events: int  # log entries after the cursor, at most LAG_COUNT_CAP
    lag_seconds: float  # age of the oldest undelivered event, 0 when there is none
    oldest_undelivered: Event | None
    delivered: int
    attempts: int
    last_error: str | None
    last_error_at: float | None


@dataclass(slots=True)
class _Running:
    sender: WebhookSender
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    finished: trio.Event = field(default_factory=trio.Event)


def destinations(settings: WebhookSettings) -> list[Destination]:
    """The destinations ``settings`` describe."""
    if settings.url is None:
        return []
    return [Destination(GLOBAL, settings.url, settings.events, settings.secret)]


class WebhookSupervisor:
    """Keeps one sender per destination (see the module comment)."""

    def __init__(
        self,
        events: EventLog,
        settings: Settings,
        store: WebhookStore,
        metrics: Metrics,
        *,
        retry_min: float = 1.0,
        retry_max: float = 300.0,
        connect_timeout: float = 10.0,
        response_timeout: float = 30.0,
    ) -> None:
        self._log = events
        self._settings = settings
        self._store = store
        self._metrics = metrics
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._connect_timeout = connect_timeout
        self._response_timeout = response_timeout
        self._running: dict[str, _Running] = {}
        self._lock = trio.Lock()
        self._changed = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._client: HttpClient | None = None
        settings.add_listener(self._settings_changed)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the senders running until cancelled; storage errors propagate."""
        client = HttpClient(
            connect_timeout=self._connect_timeout,
            response_timeout=self._response_timeout,
            user_agent=USER_AGENT,
        )
        try:
            async with client, trio.open_nursery() as nursery:
                self._client, self._nursery = client, nursery
                task_status.started()
                while True:
                    changed = self._changed
                    await self._apply()
                    await changed.wait()
                    self._changed = trio.Event()
        finally:
            for key in list(self._running):
                self._forget(key)
            self._client = self._nursery = None

    async def _settings_changed(self, _change: SettingsChange) -> None:
        """Settings listener: new destinations get their cursor now, then the loop applies."""
        for destination in destinations(await self._settings.webhooks()):
            await self._init_cursor(destination.key)
        self._changed.set()

    async def _init_cursor(self, key: str) -> None:
        if await self._store.cursor(key) is None:
            await self._store.init_cursor(key, await self._log.latest() or "0-0")

    async def _apply(self) -> None:
        wanted = {d.key: d for d in destinations(await self._settings.webhooks())}
        async with self._lock:
            for key, running in list(self._running.items()):
                if wanted.get(key) != running.sender.destination:
                    await self._stop(key)
            for key, destination in wanted.items():
                if key not in self._running:
                    await self._init_cursor(key)
                    self._start(destination)

    def _start(self, destination: Destination) -> None:
        assert self._nursery is not None and self._client is not None
        sender = WebhookSender(
            destination,
            self._log,
            self._store,
            self._client,
            self._metrics,
            retry_min=self._retry_min,
            retry_max=self._retry_max,
        )
        running = _Running(sender)
        self._running[destination.key] = running
        self._metrics.webhook_lag.labels(destination=sender.label).set_function(sender.lag_seconds)
        self._nursery.start_soon(self._keep, running)
        log.info(
            "webhook destination started",
            extra={"destination": destination.key, "url": redact_url(destination.url)},
        )

    async def _keep(self, running: _Running) -> None:
        backoff = Backoff(self._retry_min, self._retry_max)
        try:
            with running.scope:
                name = f"webhook-{running.sender.destination.key}"
                await supervise(name, running.sender.run, backoff=backoff)
        finally:
            running.finished.set()

    async def _stop(self, key: str) -> None:
        running = self._forget(key)
        running.scope.cancel()
        await running.finished.wait()
        log.info("webhook destination stopped", extra={"destination": key})

    def _forget(self, key: str) -> _Running:
        running = self._running.pop(key)
        self._metrics.webhook_lag.remove(running.sender.label)
        return running

    async def replay(self, cursor: str, keys: Sequence[str] | None = None) -> list[str]:
        """Move the cursor of ``keys`` (default: every destination) to ``cursor``; the keys.

        Raises ``UnknownDestination`` for a key that is not running (nothing moves then).
        """
        async with self._lock:
            chosen = list(self._running) if keys is None else list(dict.fromkeys(keys))
            for key in chosen:
                if key not in self._running:
                    raise UnknownDestination(key)
            for key in chosen:
                destination = self._running[key].sender.destination
                await self._stop(key)
                await self._store.set_cursor(key, cursor)
                self._start(destination)
                log.info("webhook cursor moved", extra={"destination": key, "cursor": cursor})
            return chosen

    async def status(self) -> list[DestinationStatus]:
        """Every running destination's state, cursor, lag and last error."""
        answer = []
        for key, running in sorted(self._running.items()):
            sender = running.sender
            cursor = sender.cursor or await self._store.cursor(key)
            lag_events, oldest = 0, None
            if cursor is not None:
                lag_events = await self._store.count_after(cursor, LAG_COUNT_CAP)
                oldest = sender.pending or await self._first_after(sender, cursor)
            answer.append(
                DestinationStatus(
                    key=key,
                    url=redact_url(sender.destination.url),
                    state=sender.state,
                    cursor=cursor,
                    lag_events=lag_events,
                    lag_seconds=_age(oldest),
                    oldest_undelivered=oldest,
                    delivered=sender.delivered,
                    attempts=sender.attempts if sender.pending is not None else 0,
                    last_error=sender.last_error,
                    last_error_at=sender.last_error_at,
                )
            )
        return answer

    async def _first_after(self, sender: WebhookSender, cursor: str) -> Event | None:
        destination = sender.destination
        if destination.events is not None and not destination.events:
            return None
        try:
            page = await self._log.read(
                cursor, 1, account=destination.account, kinds=destination.events
            )
        except CursorExpired:
            return None
        return page.events[0] if page.events else None


def _age(event: Event | None) -> float:
    if event is None or event.position is None:
        return 0.0
    return max(0.0, round(time.time() - position_time(event.position), 3))
