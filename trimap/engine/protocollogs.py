"""Protocol logging for every account: the current ``logs`` settings and what follows a change.

How it works: ``ProtocolLogging`` keeps the current ``LogSettings`` (loaded by
``run`` at start, retried while Redis is away, refreshed by a settings
listener) and makes each runner's ``AccountProtocolLog`` (``for_account``),
which reads them on every line, so
switching logging on or off takes effect at once.  On a change of ``logs`` the
engine drops the stored log of every account no longer logged; the accounts
named by ``resetLoggedAccounts`` reconnect, so their log starts with a fresh
session (the reference's behaviour).

Rules it keeps: the listener runs before the settings request is answered,
so the answer means the new rule is in force.
"""

from __future__ import annotations

import trio

from trimap.accounts.protocollog import AccountProtocolLog
from trimap.engine.engine import AccountEngine
from trimap.settings import LogSettings, Settings, SettingsChange
from trimap.store import ProtocolLogStore, StoreUnavailable
from trimap.supervise import Backoff

__all__ = ["ProtocolLogging"]


class ProtocolLogging:
    """The protocol-log settings in force and the per-account logs (see the module comment)."""

    def __init__(self, store: ProtocolLogStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self.current = LogSettings()
        self._engine: AccountEngine | None = None

    async def load(self) -> None:
        self.current = await self._settings.log_settings()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Load the settings in force, retrying while Redis is away (defaults meanwhile)."""
        task_status.started()
        backoff = Backoff(0.5, 30.0)
        while True:
            try:
                await self.load()
                return
            except StoreUnavailable:
                await trio.sleep(backoff.next_delay())

    def for_account(self, account_id: str) -> AccountProtocolLog:
        return AccountProtocolLog(account_id, self._store, lambda: self.current)

    def follow(self, engine: AccountEngine) -> None:
        """Apply settings changes to ``engine``'s accounts from now on."""
        self._engine = engine
        self._settings.add_listener(self._changed)

    async def _changed(self, change: SettingsChange) -> None:
        engine = self._engine
        assert engine is not None
        if "logs" in change.keys:
            before = self.current
            await self.load()
            await engine.logging_changed(before, self.current)
        for account_id in change.reset_logged_accounts:
            engine.reconnect(account_id)
