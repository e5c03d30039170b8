"""One account's runner: connect, sync, watch, and reconnect when the connection is lost.

How it works: ``AccountRunner.run`` loops for as long as the account exists:
it opens a logged-in connection (``trimap.engine.login``), hands it to an
``AccountWatch`` (``start`` syncs everything, ``serve`` watches), and when
that ends -- the server went away, the connection broke, Redis failed --
waits and tries again.  It records the account's state as it goes:
``connecting`` -> ``syncing`` -> ``connected``; ``disconnected`` when a live
connection is lost; ``connectError`` / ``authenticationError`` when one cannot
be made (each with ``lastError``); ``unset`` without IMAP settings.

Waits between attempts are exponential with full jitter: from ``retry_min``
up to ``retry_max`` (10 minutes) for connection trouble, and longer for a
refused login (``auth_retry_min`` up to ``auth_retry_max``), which servers
punish with lockouts.  A failure streak is reported once -- one state
change, one log line, one ``connectError``/``authenticationError`` event --
not once per retry; the next success ends it (``authenticationSuccess``
after an authentication streak).

``session()`` is how request handlers use the connection: it ends the
current IDLE, waits for the connection (in turn, never interleaved with
the runner's own commands; the caller's cancel scope is the deadline), and
raises ``AccountNotConnected`` with the state when there is no usable
connection.  ``stop()`` ends the runner cleanly
(LOGOUT); ``reconnect()`` drops the connection and connects again at once,
in any state.

Rules it keeps: every wait is a cancel scope; nothing here logs or stores a
secret; an error of one account ends in this account's state, never in its
caller's nursery (the engine supervises each runner on its own).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import trio

from imapproto import ProtocolError
from imapproto.client import CommandFailed, ImapClient, ImapConnectionError, Timeouts
from trimap.accounts.authserver import (
    AUTH_SERVER_ERROR_CODE,
    AuthServerError,
    CredentialsLookup,
    resolve_credentials,
)
from trimap.accounts.model import Account, AccountError, AccountNotFound, AccountState, Auth
from trimap.accounts.protocollog import AccountProtocolLog
from trimap.engine.login import LoginFailure, open_account_client
from trimap.engine.watch import AccountWatch, Gate
from trimap.events import Event, EventSink, stable_event_id
from trimap.store import StoreUnavailable
from trimap.store.sync import AccountGone, SyncStore
from trimap.supervise import Backoff, open_unwrapping_nursery
from trimap.sync.announce import Announcer, NotifyOptions
from trimap.sync.folder import SelectedFolder
from trimap.sync.folderlist import FolderInfo

__all__ = ["AccountNotConnected", "AccountRunner", "AccountSession", "RunnerServices"]

log = logging.getLogger("trimap.engine")

CONNECT_CONCURRENCY = 50

StateRecorder = Callable[[str, AccountState, AccountError | None], Awaitable[None]]


class AccountNotConnected(Exception):
    """The account has no usable IMAP connection; ``state`` says why."""

    def __init__(self, account_id: str, state: AccountState) -> None:
        super().__init__(f"account {account_id} is not connected (state {state})")
        self.account_id = account_id
        self.state = state


@dataclass(frozen=True)
class RunnerServices:
    """What every runner shares."""

    record_state: StateRecorder
    sink: EventSink
    sync_store: SyncStore
    notify_options: Callable[[], Awaitable[NotifyOptions]]
    auth_server: CredentialsLookup | None = None
    protocol_log: Callable[[str], AccountProtocolLog] | None = None  # by account id
    timeouts: Timeouts = field(default_factory=Timeouts)
    ignored_capabilities: frozenset[str] = frozenset()  # server extensions never used
    # How many accounts may connect and run their first sync at the same time.
    connect_slots: trio.CapacityLimiter = field(
        default_factory=lambda: trio.CapacityLimiter(CONNECT_CONCURRENCY)
    )
    retry_min: float = 2.0
    retry_max: float = 600.0
    auth_retry_min: float = 60.0
    auth_retry_max: float = 3600.0


class AccountSession:
    """A request handler's turn on an account's connection (see ``AccountRunner.session``).

    Use ``select`` rather than the client's own, so the runner knows what is
    selected, and ``touch`` after changing a folder so its changes are synced
    (and announced) once the turn ends.
    """

    def __init__(self, watch: AccountWatch) -> None:
        self._watch = watch
        self.client: ImapClient = watch.client

    async def select(self, path: str, *, read_only: bool = False) -> SelectedFolder:
        """Select ``path`` (unless it already is); ``CommandFailed`` if the server refuses."""
        await self._watch.select_for_api(path, read_only=read_only)
        selected = self._watch.selected
        assert selected is not None
        return selected

    @property
    def account_id(self) -> str:
        return self._watch.account_id

    @property
    def folders(self) -> list[FolderInfo]:
        """The watched folders (as last listed): path, delimiter, special use."""
        return list(self._watch.plan.folders.values())

    @property
    def special_use(self) -> dict[str, str]:
        """The watched folders' special uses by path (as last listed)."""
        return {
            path: info.special_use
            for path, info in self._watch.plan.folders.items()
            if info.special_use is not None
        }

    def touch(self, path: str) -> None:
        self._watch.touch(path)


class AccountRunner:
    """Keeps one account connected and watched (see the module comment)."""

    def __init__(self, account: Account, services: RunnerServices) -> None:
        self.account = account
        self._services = services
        self.state: AccountState = account.state
        self.last_error: AccountError | None = account.last_error
        self.gate = Gate()
        self._watch: AccountWatch | None = None
        self._stopping = False
        self._restart = trio.Event()
        self.stopped = trio.Event()
        self.changed_at = datetime.now(UTC)
        self._streak: tuple[AccountState, AccountError] | None = None
        self.attempts = 0  # connection attempts so far
        make_log = services.protocol_log
        self.protocol_log = None if make_log is None else make_log(account.id)

    # -- control ------------------------------------------------------------------

    def stop(self) -> None:
        """End the runner: leave IDLE, LOGOUT, return."""
        self._stopping = True
        self._restart.set()
        self.gate.wake()

    def reconnect(self) -> None:
        """Drop the connection (if any) and connect again now."""
        self._restart.set()
        self.gate.wake()

    def _should_leave(self) -> bool:
        return self._stopping or self._restart.is_set()

    # -- the loop ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, watch, reconnect, until stopped; see the module comment."""
        task_status.started()
        try:
            async with open_unwrapping_nursery() as nursery:
                if self.protocol_log is not None:
                    nursery.start_soon(self.protocol_log.run)
                await self._run()
                nursery.cancel_scope.cancel()
        except (AccountGone, AccountNotFound):
            log.info("account removed, runner ends", extra={"account": self.account.id})
        finally:
            self._watch = None
            self.stopped.set()

    async def _run(self) -> None:
        services = self._services
        backoff = Backoff(services.retry_min, services.retry_max)
        auth_backoff = Backoff(services.auth_retry_min, services.auth_retry_max)
        if self.account.imap is None:
            await self._set_state("unset")
            while not self._stopping:
                await self._restart.wait()
                self._restart = trio.Event()
            return
        while not self._stopping:
            self._restart = trio.Event()
            delay = backoff.next_delay()
            try:
                await self._connect_and_watch(backoff, auth_backoff)
                delay = 0.0
            except LoginFailure as failure:
                if failure.state == "authenticationError":
                    delay = auth_backoff.next_delay()
                await self._failed(failure.state, failure.error)
            except (ImapConnectionError, ProtocolError, CommandFailed, StoreUnavailable) as error:
                code = getattr(error, "code", None)

                await self._failed("disconnected", AccountError(str(error), code))
            if self._stopping:
                return
            if not self._restart.is_set():
                with trio.move_on_after(delay):
                    await self._restart.wait()

    async def _connect_and_watch(self, backoff: Backoff, auth_backoff: Backoff) -> None:
        account = self.account
        settings = account.imap
        assert settings is not None
        self.attempts += 1
        first_ever = self.state == "init"
        if self._streak is None:
            await self._set_state("connecting", self.last_error)
        plog = self.protocol_log
        async with AsyncExitStack() as stack:
            # Connecting and the first sync are the costly part: a bounded number of
            # accounts do them at once, so thousands of accounts starting together
            # neither storm the server nor starve the ones already connected.
            async with self._services.connect_slots:
                client = await stack.enter_async_context(
                    open_account_client(
                        settings,
                        self._credentials,
                        timeouts=self._services.timeouts,
                        ignored_capabilities=self._services.ignored_capabilities,
                        protocol_log=None
                        if plog is None
                        else plog.hook(f"{account.id}:{self.attempts}"),
                    )
                )
                if first_ever or (
                    self._streak is not None and self._streak[0] == "authenticationError"
                ):
                    await self._event("authenticationSuccess", {"user": self._user()})
                self._streak = None
                await self._set_state("syncing")
                watch = self._new_watch(client)
                await watch.start()
            self._watch = watch
            try:
                await self._set_state("connected")
                backoff.reset()
                auth_backoff.reset()
                await watch.serve(self._should_leave)
            finally:
                self._watch = None

    def _new_watch(self, client: ImapClient) -> AccountWatch:
        account = self.account
        settings = account.imap
        assert settings is not None
        store = self._services.sync_store
        return AccountWatch(
            account.id,
            client,
            store=store,
            sink=self._services.sink,
            announcer=Announcer(
                account.id,
                self._services.sink,
                lambda checkpoint: store.save(account.id, [checkpoint]),
                self._services.notify_options,
                account.notify_from,
            ),
            notify_from=account.notify_from,
            resync_delay=settings.resync_delay,
            gate=self.gate,
        )

    async def _credentials(self) -> Auth:
        settings = self.account.imap
        assert settings is not None
        try:
            return await resolve_credentials(
                settings, self.account.id, "imap", self._services.auth_server
            )
        except AuthServerError as error:
            raise LoginFailure(
                "authenticationError", AccountError(str(error), AUTH_SERVER_ERROR_CODE)
            ) from None

    def _user(self) -> str | None:
        settings = self.account.imap
        return settings.auth.user if settings is not None and settings.auth else None

    # -- state ------------------------------------------------------------------------

    async def _failed(self, state: AccountState, error: AccountError) -> None:
        """Record a failure; the first of a streak (new state or new error) is reported."""
        if self._streak == (state, error):
            return
        self._streak = (state, error)
        if self.protocol_log is not None:
            self.protocol_log.note("error", f"{state}: {error.response}")
        level = logging.WARNING if state != "disconnected" else logging.INFO
        log.log(
            level,
            "account connection failed",
            extra={
                "account": self.account.id,
                "state": state,
                "error": error.response,
                "code": error.server_response_code,
            },
        )
        await self._set_state(state, error)
        if state in ("connectError", "authenticationError"):
            await self._event(
                state,
                {"response": error.response, "serverResponseCode": error.server_response_code},
            )

    async def _set_state(self, state: AccountState, error: AccountError | None = None) -> None:
        if state == self.state and error == self.last_error:
            return
        self.state = state
        self.last_error = error
        self.changed_at = datetime.now(UTC)
        if self.protocol_log is not None:
            self.protocol_log.note("info", f"state {state}")
        await self._services.record_state(self.account.id, state, error)

    async def _event(self, kind: str, data: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        event = Event(
            id=stable_event_id(self.account.id, kind, now.isoformat()),
            account=self.account.id,
            kind=kind,
            date=now,
            data=data,
        )
        await self._services.sink.append([event])

    # -- request handlers ----------------------------------------------------------------

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AccountSession]:
        """The connection for one request; the caller bounds the whole turn (waiting
        included) with its own ``trio.fail_after``."""
        watch = self._watch
        if watch is None or self.state != "connected":
            raise AccountNotConnected(self.account.id, self.state)
        self.gate.waiting += 1
        self.gate.wake()
        try:
            async with self.gate.lock:
                if self._watch is not watch or not watch.client.usable:
                    raise AccountNotConnected(self.account.id, self.state)
                yield AccountSession(watch)
        finally:
            self.gate.waiting -= 1
