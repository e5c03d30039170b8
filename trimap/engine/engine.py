"""The account engine: one supervised nursery per account, following the registry.

How it works: ``AccountEngine.run`` opens the engine's nursery, starts a
slot for every registered account, then follows ``registry.changes``.  A slot
is one task with its own nursery: it runs the account's ``AccountRunner``
under ``supervise`` (a crash restarts that runner with backoff and touches no
other account) and waits for the account's next change:

* settings that matter to the connection changed (``imap``, ``notifyFrom``):
  the runner is stopped (LOGOUT) and a new one started;
* anything else changed: the runner just gets the new record;
* the account was deleted: the runner is stopped and the slot ends.

A runner that does not stop within ``stop_timeout`` seconds is cancelled.
``shutdown()`` stops every runner the same way, in parallel, for a graceful
exit.  Request handlers reach a connection through ``session(account_id)``.

Rules it keeps: nothing it starts outlives it; a change is reconciled
against the registry's current record (changes are coalesced, so the latest
wins); one account's trouble never reaches the engine's nursery.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import trio

from trimap.accounts import Account, AccountNotFound, AccountRegistry, AccountState
from trimap.engine.runner import AccountNotConnected, AccountRunner, AccountSession, RunnerServices
from trimap.settings import LogSettings
from trimap.store import StoreUnavailable
from trimap.supervise import Backoff, supervise

__all__ = ["AccountEngine"]

log = logging.getLogger("trimap.engine")

LIST_PAGE = 1000
RECONCILE_RETRY = 2.0


@dataclass(eq=False)
class _Slot:
    """One account's place in the engine: its current runner and what it should become."""

    runner: AccountRunner
    desired: Account | None
    changed: trio.Event = field(default_factory=trio.Event)
    done: trio.Event = field(default_factory=trio.Event)


def _needs_restart(old: Account, new: Account) -> bool:
    return old.imap != new.imap or old.notify_from != new.notify_from


class AccountEngine:
    """Owns the nursery in which every account runner lives."""

    def __init__(
        self,
        registry: AccountRegistry | None = None,
        services: RunnerServices | None = None,
        *,
        stop_timeout: float = 5.0,
    ) -> None:
        self._registry = registry
        self._services = services
        self._stop_timeout = stop_timeout
        self._nursery: trio.Nursery | None = None
        self._slots: dict[str, _Slot] = {}

    @property
    def running(self) -> bool:
        return self._nursery is not None

    @property
    def runner_count(self) -> int:
        return len(self._slots)

    def runner(self, account_id: str) -> AccountRunner | None:
        slot = self._slots.get(account_id)
        return None if slot is None else slot.runner

    async def logging_changed(self, before: LogSettings, after: LogSettings) -> None:
        """Protocol logging settings changed: drop the stored log of every account no
        longer logged (the reference's rule)."""
        for account_id, slot in list(self._slots.items()):
            plog = slot.runner.protocol_log
            if plog is not None and before.logs(account_id) and not after.logs(account_id):
                await plog.clear()

    def states(self) -> Counter[AccountState]:
        """How many runners are in each state."""
        return Counter(slot.runner.state for slot in self._slots.values())

    # -- life -------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start every account's runner, follow the registry, until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if self._registry is not None:
                    nursery.start_soon(self._start_then_follow, self._registry)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None

    async def _start_then_follow(self, registry: AccountRegistry) -> None:
        """Start every registered account (retrying while Redis is away), then follow changes."""
        backoff = Backoff(RECONCILE_RETRY, 60.0)
        while True:
            try:
                await self._start_all(registry)
                break
            except StoreUnavailable as error:
                delay = backoff.next_delay()
                log.error(
                    "cannot list the accounts, will retry",
                    extra={"error": str(error), "retryIn": delay},
                )
                await trio.sleep(delay)
        await self._follow(registry)

    async def _start_all(self, registry: AccountRegistry) -> None:
        page = 0
        while True:
            listed = await registry.list(page=page, page_size=LIST_PAGE)
            for summary in listed.accounts:
                await self._reconcile(registry, summary.id)
            page += 1
            if page >= listed.pages:
                return

    async def _follow(self, registry: AccountRegistry) -> None:
        async for change in registry.changes:
            await self._reconcile(registry, change.id)

    async def _reconcile(self, registry: AccountRegistry, account_id: str) -> None:
        while True:
            try:
                account: Account | None = await registry.get(account_id)
                break
            except AccountNotFound:
                account = None
                break
            except (StoreUnavailable, ValueError) as error:
                log.error(
                    "cannot read an account, will retry",
                    extra={"account": account_id, "error": str(error)},
                )
                await trio.sleep(RECONCILE_RETRY)
        slot = self._slots.get(account_id)
        if slot is None:
            if account is not None:
                self._start(account)
            return
        slot.desired = account
        if account is not None and not _needs_restart(slot.runner.account, account):
            slot.runner.account = account
            return
        slot.changed.set()

    def _start(self, account: Account) -> None:
        assert self._nursery is not None and self._services is not None
        slot = _Slot(AccountRunner(account, self._services), account)
        self._slots[account.id] = slot
        self._nursery.start_soon(self._keep, slot, name=f"account {account.id}")

    async def _keep(self, slot: _Slot) -> None:
        """Run the slot's runner; replace it on a restarting change; end on deletion."""
        assert self._services is not None
        account_id = slot.runner.account.id
        try:
            while True:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(
                        partial(
                            supervise,
                            f"account {account_id}",
                            slot.runner.run,
                            backoff=Backoff(1.0, 600.0),
                        )
                    )
                    await slot.changed.wait()
                    await self._halt(slot.runner)
                    nursery.cancel_scope.cancel()
                slot.changed = trio.Event()
                if slot.desired is None:
                    return
                slot.runner = AccountRunner(slot.desired, self._services)
        finally:
            if self._slots.get(account_id) is slot:
                del self._slots[account_id]
            slot.done.set()

    async def _halt(self, runner: AccountRunner) -> None:
        runner.stop()
        with trio.move_on_after(self._stop_timeout):
            await runner.stopped.wait()

    async def shutdown(self) -> None:
        """Stop every runner (LOGOUT), in parallel, each within ``stop_timeout``."""
        slots = list(self._slots.values())
        for slot in slots:
            slot.desired = None
            slot.changed.set()
        with trio.move_on_after(self._stop_timeout + 1.0):
            for slot in slots:
                await slot.done.wait()

    # -- for request handlers ---------------------------------------------------------------

    def reconnect(self, account_id: str) -> bool:
        """Make the account's runner connect again now; False if it has none."""
        slot = self._slots.get(account_id)
        if slot is None:
            return False
        slot.runner.reconnect()
        return True

    @asynccontextmanager
    async def session(self, account_id: str) -> AsyncIterator[AccountSession]:
        """A turn on the account's connection (see ``AccountRunner.session``)."""
        slot = self._slots.get(account_id)
        if slot is None:
            raise AccountNotConnected(account_id, "init")
        async with slot.runner.session() as session:
            yield session
