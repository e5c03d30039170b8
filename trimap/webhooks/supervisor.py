"""``WebhookSupervisor``: one supervised ``WebhookSender`` per destination, kept in step
with the settings and with the accounts' own webhook URLs.

How it works: ``run`` (started by the service under ``supervise``) opens the
HTTP client all senders share and a nursery of its own, starts the
``AccountWakeups`` (which wakes per-account senders), loads the accounts that
have their own URL (``AccountRegistry.webhook_urls``, an index, not a scan)
and then keeps one sender per destination: ``global`` for the settings'
``webhooks`` URL, and ``account:<id>`` for each account's own URL, with the
settings' ``webhookEvents`` and ``webhookSecret``.  It waits for a change
of the settings or of an account; on a change it compares: a destination
that is gone or changed (URL, secret, event filter) has its sender cancelled
and waited for; a new or changed one gets a sender.  Each sender runs in its
own cancel scope under ``supervise`` (restarted with backoff when Redis
fails), and its cursor lives in Redis, so a restart goes on where it stopped.

Global or account: ``AccountRouting`` decides (see there).  The global
sender skips the events of accounts with their own URL; an account that
gets one takes over at the global sender's position, and one that loses it
(cleared, or the account deleted) hands back at its stopped sender's
position.  The account listener does both, and starts, restarts or stops
the account's sender, inside the account request, under the lock, before
the request is answered; deleting an account also drops its destination's
cursor.

A ``global`` destination seen for the first time starts at the log's newest
event ("from now on").  That cursor is created by the settings listener
inside the ``POST /v1/settings`` request, before it is answered, so every
event logged after the answer reaches the new URL.  When the URL goes away
its cursor stays: when it comes back, events logged meanwhile are delivered
(within retention).

Metrics: labelled ``global``, or ``account`` for all per-account
destinations together (a bounded label, whatever the number of accounts);
the lag gauge of a label is the largest lag among its senders.

Rules it keeps: every sender lives in this nursery (nothing outlives ``run``);
starting, stopping, replaying and the account switches hold one lock, so a
cursor set there can never be overwritten by a sender that was still
finishing; a slow or dead destination only ever holds up its own sender.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import trio

from trimap.accounts import AccountChange, AccountRegistry
from trimap.events import CursorExpired, Event, EventLog
from trimap.httpclient import HttpClient, redact_url
from trimap.metrics import Metrics
from trimap.settings import Settings, SettingsChange, WebhookSettings
from trimap.store import WebhookStore, position_time
from trimap.supervise import Backoff, supervise
from trimap.webhooks.routing import AccountRouting, account_key
from trimap.webhooks.sender import PAGE_SIZE, USER_AGENT, Destination, WebhookSender
from trimap.webhooks.wakeups import AccountWakeups

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


def destinations(
    settings: WebhookSettings, account_urls: Mapping[str, str] | None = None
) -> list[Destination]:
    """The destinations ``settings`` and the accounts' own URLs (id → URL) describe."""
    found = [
        Destination(account_key(account), url, settings.events, settings.secret, account)
        for account, url in (account_urls or {}).items()
    ]
    if settings.url is not None:
        found.insert(0, Destination(GLOBAL, settings.url, settings.events, settings.secret))
    return found


class WebhookSupervisor:
    """Keeps one sender per destination (see the module comment)."""

    def __init__(
        self,
        events: EventLog,
        settings: Settings,
        accounts: AccountRegistry,
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
        self._accounts = accounts
        self._store = store
        self._metrics = metrics
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._connect_timeout = connect_timeout
        self._response_timeout = response_timeout
        self._routing = AccountRouting(store)
        self._wakeups = AccountWakeups(events)
        self._running: dict[str, _Running] = {}
        self._labels: Counter[str] = Counter()  # running senders per metrics label
        self._lock = trio.Lock()
        self._changed = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._client: HttpClient | None = None
        settings.add_listener(self._settings_changed)
        accounts.add_listener(self._account_changed)

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
                wakeups = partial(
                    supervise, "webhook-wakeups", self._wakeups.run, backoff=self._backoff()
                )
                await nursery.start(wakeups)
                async with self._lock:
                    await self._routing.load(await self._accounts.webhook_urls())
                while True:
                    changed = self._changed
                    await self._apply()
                    await changed.wait()
                    self._changed = trio.Event()
        finally:
            for key in list(self._running):
                self._forget(key)
            self._client = self._nursery = None

    def _backoff(self) -> Backoff:
        return Backoff(self._retry_min, self._retry_max)

    async def _settings_changed(self, _change: SettingsChange) -> None:
        """Settings listener: a new global URL gets its cursor now, then the loop applies."""
        for destination in destinations(await self._settings.webhooks()):
            await self._init_cursor(destination.key)
        self._changed.set()

    async def _account_changed(self, change: AccountChange) -> None:
        """Account listener: switch the account's events between global and its own URL."""
        key = account_key(change.id)
        async with self._lock:  # read inside: concurrent changes of one account apply in order
            url = await self._accounts.webhook_url(change.id)  # None once deleted
            had = change.id in self._routing.urls
            if url is not None and not had:
                start = await self._global_position() or await self._log.latest() or "0-0"
                await self._routing.take(change.id, url, start)
                log.info(
                    "account webhook URL set", extra={"account": change.id, "url": redact_url(url)}
                )
            elif url is None and had:
                stopped_at = await self._stop(key) if key in self._running else None
                stopped_at = stopped_at or await self._store.cursor(key)
                await self._routing.hand_back(change.id, stopped_at, await self._global_position())
                log.info("account webhook URL removed", extra={"account": change.id})
            elif url is not None:
                self._routing.urls[change.id] = url  # a changed URL keeps the cursor
            if change.kind == "deleted":
                await self._store.drop_cursor(key)
            settings = replace(await self._settings.webhooks(), url=None)  # this account only
            own = {} if url is None else {change.id: url}
            await self._reconcile(destinations(settings, own), [key])
            await self._routing.prune(await self._global_position())

    async def _global_position(self) -> str | None:
        """Where the global destination stands: its sender's cursor, else its stored one."""
        running = self._running.get(GLOBAL)
        if running is not None and running.sender.cursor is not None:
            return running.sender.cursor
        return await self._store.cursor(GLOBAL)

    async def _init_cursor(self, key: str) -> None:
        if await self._store.cursor(key) is None:
            await self._store.init_cursor(key, await self._log.latest() or "0-0")

    async def _apply(self) -> None:
        settings = await self._settings.webhooks()
        async with self._lock:
            wanted = destinations(settings, self._routing.urls)
            await self._reconcile(wanted, list(self._running))
            await self._routing.prune(await self._global_position())

    async def _reconcile(self, wanted: Sequence[Destination], keys: Iterable[str]) -> None:
        """Stop the senders of ``keys`` that ``wanted`` lacks or changes; start the wanted.

        Called with the lock held; starts nothing while ``run`` is not running.
        """
        by_key = {destination.key: destination for destination in wanted}
        for key in keys:
            running = self._running.get(key)
            if running is not None and by_key.get(key) != running.sender.destination:
                await self._stop(key)
        if self._nursery is None:
            return
        for key, destination in by_key.items():
            if key not in self._running:
                if destination.account is None:  # an account's cursor is set by ``take``
                    await self._init_cursor(key)
                self._start(destination)

    def _start(self, destination: Destination) -> None:
        assert self._nursery is not None and self._client is not None
        account = destination.account
        if account is not None:
            self._wakeups.register(account)  # before the sender's first read: no ring is missed
        sender = WebhookSender(
            destination,
            self._log,
            self._store,
            self._client,
            self._metrics,
            retry_min=self._retry_min,
            retry_max=self._retry_max,
            skip=self._routing.global_skips if destination.key == GLOBAL else None,
            wait=None if account is None else partial(self._wakeups.wait, account),
        )
        running = _Running(sender)
        self._running[destination.key] = running
        if not self._labels[sender.label]:
            gauge = self._metrics.webhook_lag.labels(destination=sender.label)
            gauge.set_function(partial(self._lag, sender.label))
        self._labels[sender.label] += 1
        self._nursery.start_soon(self._keep, running)
        log.info(
            "webhook destination started",
            extra={"destination": destination.key, "url": redact_url(destination.url)},
        )

    def _lag(self, label: str) -> float:
        """The largest lag among the running senders with this metrics label."""
        lags = (r.sender.lag_seconds() for r in self._running.values() if r.sender.label == label)
        return max(lags, default=0.0)

    async def _keep(self, running: _Running) -> None:
        try:
            with running.scope:
                name = f"webhook-{running.sender.destination.key}"
                await supervise(name, running.sender.run, backoff=self._backoff())
        finally:
            running.finished.set()

    async def _stop(self, key: str) -> str | None:
        """Stop the destination's sender; where its cursor stopped (``None``: never read)."""
        running = self._forget(key)
        running.scope.cancel()
        await running.finished.wait()
        log.info("webhook destination stopped", extra={"destination": key})
        return running.sender.cursor

    def _forget(self, key: str) -> _Running:
        running = self._running.pop(key)
        sender = running.sender
        if sender.destination.account is not None:
            self._wakeups.unregister(sender.destination.account)
        self._labels[sender.label] -= 1
        if not self._labels[sender.label]:
            del self._labels[sender.label]
            self._metrics.webhook_lag.remove(sender.label)
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
        """Every running destination's state, cursor, lag and last error.

        An idle per-account sender has delivered everything of its account (it is woken
        by the next event), so its lag is 0 without asking Redis.
        """
        answer = []
        for key, running in sorted(self._running.items()):
            sender = running.sender
            cursor = sender.cursor or await self._store.cursor(key)
            lag_events, oldest = 0, None
            idle_account = sender.destination.account is not None and sender.state == "idle"
            if cursor is not None and not idle_account:
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
        """The first event after ``cursor`` the sender will deliver, within one page."""
        destination = sender.destination
        if destination.events is not None and not destination.events:
            return None
        try:
            page = await self._log.read(
                cursor, PAGE_SIZE, account=destination.account, kinds=destination.events
            )
        except CursorExpired:
            return None
        skips = self._routing.global_skips if destination.key == GLOBAL else None
        return next((e for e in page.events if skips is None or not skips(e)), None)


def _age(event: Event | None) -> float:
    if event is None or event.position is None:
        return 0.0
    return max(0.0, round(time.time() - position_time(event.position), 3))
